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
        if (IsPostgres(location))
            throw new NotSupportedException("PostgreSQL stores are not available in this build yet.");
        return SqliteProfileStore.Open(location);
    }
}
