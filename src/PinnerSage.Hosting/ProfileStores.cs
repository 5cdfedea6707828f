namespace PinnerSage.Storage;

/// <summary>Opens an <see cref="IProfileStore"/> from a location string (CLI <c>--store</c>, serving workspaces).</summary>
public static class ProfileStores
{
    /// <summary>The prefix of a PostgreSQL location: <c>postgres:</c> followed by an Npgsql connection string.</summary>
    public const string PostgresPrefix = "postgres:";

    /// <summary>True when <paramref name="location"/> names a PostgreSQL store ("postgres:…" or a postgresql:// URI).</summary>
    public static bool IsPostgres(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.StartsWith(PostgresPrefix, StringComparison.OrdinalIgnoreCase)
               || location.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Opens the store at <paramref name="location"/>: <c>postgres:&lt;Npgsql connection string&gt;</c> or a
    /// <c>postgresql://user:password@host:port/database?options</c> URI → PostgreSQL; anything else → a SQLite file path.</summary>
    /// <exception cref="ArgumentException">An empty location or a malformed connection string.</exception>
    /// <exception cref="IOException">The store cannot be opened or has an unsupported schema.</exception>
    public static IProfileStore Open(string location)
    {
        ArgumentException.ThrowIfNullOrEmpty(location);
        if (!IsPostgres(location)) return SqliteProfileStore.Open(location);
        return PostgresProfileStore.Open(location.StartsWith(PostgresPrefix, StringComparison.OrdinalIgnoreCase)
            ? location[PostgresPrefix.Length..]
            : ConnectionStringFromUri(location));
    }

    /// <summary>Opens an existing store for reading (<c>profiles show</c>, <c>recommend</c>): a SQLite path must name
    /// a non-empty file, so a typo or an empty file is reported instead of being turned into an empty store.</summary>
    /// <exception cref="FileNotFoundException">No such SQLite file.</exception>
    /// <exception cref="IOException">An empty file, or the store cannot be opened.</exception>
    public static IProfileStore OpenExisting(string location)
    {
        ArgumentException.ThrowIfNullOrEmpty(location);
        if (!IsPostgres(location))
        {
            var file = new FileInfo(location);
            if (!file.Exists) throw new FileNotFoundException($"{location}: no such profile store.");
            if (file.Length == 0) throw new IOException($"{location}: the file is empty, not a profile store.");
        }
        return Open(location);
    }

    /// <summary>Converts a <c>postgresql://[user[:password]@]host[:port][/database][?key=value&amp;…]</c> URI into an
    /// Npgsql connection string (query keys: sslmode, application_name, search_path, or any Npgsql keyword).</summary>
    /// <exception cref="ArgumentException">Not a valid URI.</exception>
    public static string ConnectionStringFromUri(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out Uri? u) || u.Scheme != "postgresql" || string.IsNullOrEmpty(u.Host))
            throw new ArgumentException($"not a postgresql:// URI: '{uri}'", nameof(uri));
        var builder = new Npgsql.NpgsqlConnectionStringBuilder { Host = u.Host };
        if (u.Port > 0) builder.Port = u.Port;
        if (!string.IsNullOrEmpty(u.UserInfo))
        {
            string[] parts = u.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) builder.Password = Uri.UnescapeDataString(parts[1]);
        }
        string database = Uri.UnescapeDataString(u.AbsolutePath.TrimStart('/'));
        if (database.Length > 0) builder.Database = database;
        foreach (string pair in u.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            string key = Uri.UnescapeDataString(kv[0]);
            string value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            key = key switch
            {
                "sslmode" => "SSL Mode",
                "application_name" => "Application Name",
                "search_path" => "Search Path",
                "connect_timeout" => "Timeout",
                _ => key,
            };
            try
            {
                builder[key] = value;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
            {
                throw new ArgumentException($"postgresql:// URI: unsupported option '{kv[0]}': {e.Message}", nameof(uri), e);
            }
        }
        return builder.ConnectionString;
    }
}
