using System.Data.Common;
using System.Globalization;

namespace PinnerSage.Storage;

/// <summary>What the SQLite and PostgreSQL stores share: event validation, the meta key-value layout of a run, and the
/// one-session-per-instance guard.</summary>
internal static class StoreCommon
{
    /// <summary>Rejects an event with an empty user, item or action (before anything is written).</summary>
    public static void Validate(ActionEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (string.IsNullOrEmpty(e.UserId)) throw new ArgumentException("an event has an empty user id.");
        if (string.IsNullOrEmpty(e.ItemId)) throw new ArgumentException("an event has an empty item id.");
        if (string.IsNullOrEmpty(e.Action)) throw new ArgumentException("an event has an empty action.");
    }

    /// <summary>Opens a replace session unless one is open on the instance (<paramref name="open"/> is its flag);
    /// database errors become <see cref="IOException"/>s naming <paramref name="display"/>.</summary>
    public static IProfileReplaceSession BeginSession(ref int open, Func<IProfileReplaceSession> create, string display)
    {
        if (Interlocked.Exchange(ref open, 1) != 0)
            throw new InvalidOperationException("a replace session is already open on this store.");
        try
        {
            return create();
        }
        catch (DbException e)
        {
            open = 0;
            throw new IOException($"{display}: {e.Message}", e);
        }
        catch
        {
            open = 0;
            throw;
        }
    }

    /// <summary>Replaces the rows of the meta table <paramref name="table"/> by the run's pairs, inside
    /// <paramref name="transaction"/> (the one that swaps the profiles in).</summary>
    public static void WriteMeta(DbConnection connection, DbTransaction transaction, string table, int schemaVersion,
                                 ProfileRunMetadata metadata, long users)
    {
        using DbCommand cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = $"DELETE FROM {table}";
        cmd.ExecuteNonQuery();
        cmd.CommandText = $"INSERT INTO {table} (key, value) VALUES (@k, @v)";
        DbParameter key = cmd.CreateParameter(), value = cmd.CreateParameter();
        key.ParameterName = "@k";
        value.ParameterName = "@v";
        key.DbType = value.DbType = System.Data.DbType.String;
        cmd.Parameters.Add(key);
        cmd.Parameters.Add(value);
        foreach ((string k, string v) in MetadataPairs(schemaVersion, metadata, users))
        {
            key.Value = k;
            value.Value = v;
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Run metadata from the meta key-value pairs, null without a run.</summary>
    public static ProfileRunMetadata? ParseMetadata(IReadOnlyDictionary<string, string> meta)
    {
        if (!meta.TryGetValue("schema_version", out string? version)) return null;
        string Get(string key, string fallback) => meta.TryGetValue(key, out string? v) ? v : fallback;
        return new ProfileRunMetadata(
            int.Parse(version, CultureInfo.InvariantCulture),
            long.Parse(Get("now", "0"), CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(Get("built_at", "1970-01-01T00:00:00Z"), CultureInfo.InvariantCulture),
            Get("options", "{}"),
            long.Parse(Get("users", "0"), CultureInfo.InvariantCulture),
            Get("source", ""))
        {
            ConsumedEventSequence = long.Parse(Get("consumed_event_sequence", "0"), CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The meta key-value pairs a run commits, with a fresh run_id (the SQLite store keys its item cache by it).</summary>
    public static (string Key, string Value)[] MetadataPairs(int schemaVersion, ProfileRunMetadata metadata, long users) =>
    [
        ("schema_version", schemaVersion.ToString(CultureInfo.InvariantCulture)),
        ("now", metadata.Now.ToString(CultureInfo.InvariantCulture)),
        ("built_at", metadata.BuiltAtUtc.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
        ("options", metadata.OptionsJson),
        ("users", users.ToString(CultureInfo.InvariantCulture)),
        ("source", metadata.Source),
        ("consumed_event_sequence", metadata.ConsumedEventSequence.ToString(CultureInfo.InvariantCulture)),
        ("run_id", Guid.NewGuid().ToString("N")),
    ];
}
