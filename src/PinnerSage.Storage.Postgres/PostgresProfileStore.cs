using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>An <see cref="IProfileStore"/> in PostgreSQL (Npgsql), for several server instances sharing one store.</summary>
/// <remarks>
/// Tables (created when missing, in the first schema of the connection's search path; <c>COLLATE "C"</c> makes the
/// user-id order code-point order, as in SQLite and the batch job):
/// <code>
/// pinnersage_meta(key text PRIMARY KEY, value text)          the same keys as the SQLite store's meta
/// pinnersage_profiles(user_id text COLLATE "C" PRIMARY KEY, clusters int, data bytea)
/// pinnersage_events(sequence bigserial PRIMARY KEY, user_id text COLLATE "C", item_id text, action text,
///                   timestamp bigint, received_at timestamptz)
/// index pinnersage_events_user(user_id, sequence)
/// </code>
/// <c>data</c> is <see cref="ProfileBlobCodec.EncodeSelfContained"/> (each row carries its own item ids: one lookup
/// per Get, and no shared items table to swap).
/// <para>Batch runs (our choice): a session opens one transaction, creates a staging table with a unique name and
/// COPYs the profiles into it in binary; <see cref="IProfileReplaceSession.Commit"/> adds its primary key, drops the
/// live table, renames the staging one and rewrites the meta rows (with the consumed sequence), then commits. MVCC
/// readers see the previous run until that commit; the swap itself holds an exclusive lock only for milliseconds. An
/// abandoned or failed run rolls back, leaving nothing behind.</para>
/// <para>Sequences: appends take <c>LOCK TABLE pinnersage_events IN SHARE ROW EXCLUSIVE MODE</c> (self-exclusive,
/// readers unaffected) for their transaction, so bigserial values commit in increasing order: a reader that sees
/// sequence s sees every committed sequence below it. Durable: the commit returns after PostgreSQL's WAL flush
/// (synchronous_commit on, the default).</para>
/// <para>Threads: thread-safe; every call takes a connection from Npgsql's pool (one <see cref="NpgsqlDataSource"/>
/// per instance, statements auto-prepared); concurrent appends on one instance share a transaction
/// (<see cref="GroupCommit"/>).</para>
/// </remarks>
public sealed class PostgresProfileStore : IProfileStore
{
    /// <summary>The schema version this code writes and reads.</summary>
    public const int SchemaVersion = 1;

    private const string EventColumns = "sequence, user_id, item_id, action, timestamp, received_at";

    private readonly NpgsqlDataSource _source;
    private readonly string _display;
    private readonly GroupCommit _appends;
    private int _sessionOpen;

    private PostgresProfileStore(NpgsqlDataSource source, string display)
    {
        _source = source;
        _display = display;
        _appends = new GroupCommit(WriteEvents);
    }

    /// <summary>Opens (creating the tables when missing) the store for an Npgsql connection string. A
    /// <c>Search Path</c> names the schema (created when missing); otherwise the database's default schema.</summary>
    /// <exception cref="ArgumentException">A malformed connection string.</exception>
    /// <exception cref="IOException">The server cannot be reached or the tables have an unsupported schema version.</exception>
    public static PostgresProfileStore Open(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"malformed PostgreSQL connection string: {e.Message}", nameof(connectionString), e);
        }
        string display = $"postgres:{builder.Host}:{builder.Port}/{builder.Database}" +
                         (string.IsNullOrEmpty(builder.SearchPath) ? "" : $"?search_path={builder.SearchPath}");
        // Auto-preparation (unless the caller set it): the store runs the same few statements all the time.
        if (builder.MaxAutoPrepare == 0) builder.MaxAutoPrepare = 16;
        NpgsqlDataSource source = NpgsqlDataSource.Create(builder);
        var store = new PostgresProfileStore(source, display);
        try
        {
            store.CreateTables(builder.SearchPath);
        }
        catch
        {
            source.Dispose();
            throw;
        }
        return store;
    }

    private void CreateTables(string? searchPath)
    {
        Run(connection =>
        {
            using NpgsqlTransaction tx = connection.BeginTransaction();
            // Several instances may start at once: CREATE … IF NOT EXISTS races on the catalogue, so creation is
            // serialised by an advisory lock held to the end of this transaction.
            Execute(connection, tx, "SELECT pg_advisory_xact_lock(7384412093120547)");
            string? schema = searchPath?.Split(',')[0].Trim().Trim('"');
            if (!string.IsNullOrEmpty(schema) && schema != "$user")
                Execute(connection, tx, $"CREATE SCHEMA IF NOT EXISTS {QuoteIdentifier(schema)}");
            Execute(connection, tx,
                "CREATE TABLE IF NOT EXISTS pinnersage_meta (key text PRIMARY KEY, value text NOT NULL)",
                """
                CREATE TABLE IF NOT EXISTS pinnersage_profiles (user_id text COLLATE "C" PRIMARY KEY,
                                                                clusters integer NOT NULL, data bytea NOT NULL)
                """,
                """
                CREATE TABLE IF NOT EXISTS pinnersage_events (sequence bigserial PRIMARY KEY,
                                                              user_id text COLLATE "C" NOT NULL, item_id text NOT NULL,
                                                              action text NOT NULL, timestamp bigint NOT NULL,
                                                              received_at timestamptz NOT NULL DEFAULT now())
                """,
                "CREATE INDEX IF NOT EXISTS pinnersage_events_user ON pinnersage_events (user_id, sequence)");
            using (var cmd = new NpgsqlCommand("SELECT value FROM pinnersage_meta WHERE key = 'schema_version'", connection, tx))
            {
                if (cmd.ExecuteScalar() is string version && version != SchemaVersion.ToString(CultureInfo.InvariantCulture))
                    throw new IOException($"{_display}: profile store schema version {version} is not supported (expected {SchemaVersion}).");
            }
            tx.Commit();
            return 0;
        });
    }

    /// <inheritdoc/>
    public IProfileReplaceSession BeginReplaceAll() =>
        StoreCommon.BeginSession(ref _sessionOpen, () => new ReplaceSession(this), _display);

    /// <inheritdoc/>
    public UserProfile? Get(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        byte[]? data = Run(c =>
        {
            using var cmd = new NpgsqlCommand("SELECT data FROM pinnersage_profiles WHERE user_id = $1", c);
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
            return cmd.ExecuteScalar() as byte[];
        });
        return data is null ? null : ProfileBlobCodec.DecodeSelfContained(userId, data);
    }

    /// <inheritdoc/>
    public async ValueTask<UserProfile?> GetAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        byte[]? data = await RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("SELECT data FROM pinnersage_profiles WHERE user_id = $1", c);
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
            return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) as byte[];
        }, cancellationToken).ConfigureAwait(false);
        return data is null ? null : ProfileBlobCodec.DecodeSelfContained(userId, data);
    }

    /// <inheritdoc/>
    public ProfileRunMetadata? GetMetadata() => Run(c =>
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        using var cmd = new NpgsqlCommand("SELECT key, value FROM pinnersage_meta", c);
        using NpgsqlDataReader reader = cmd.ExecuteReader();
        while (reader.Read()) meta[reader.GetString(0)] = reader.GetString(1);
        return StoreCommon.ParseMetadata(meta);
    });

    /// <inheritdoc/>
    public ValueTask<ProfileRunMetadata?> GetMetadataAsync(CancellationToken cancellationToken = default) => RunAsync(async (c, ct) =>
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var cmd = new NpgsqlCommand("SELECT key, value FROM pinnersage_meta", c);
        await using NpgsqlDataReader reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false)) meta[reader.GetString(0)] = reader.GetString(1);
        return StoreCommon.ParseMetadata(meta);
    }, cancellationToken);

    /// <inheritdoc/>
    public long CountUsers() => Run(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT count(*) FROM pinnersage_profiles", c);
        return (long)cmd.ExecuteScalar()!;
    });

    /// <inheritdoc/>
    public IReadOnlyList<string> ListUsers(string? prefix, string? after, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0) return [];
        prefix ??= "";
        string? upper = UserIdRange.PrefixUpperBound(prefix);
        bool strict = after is not null && Batch.UserIdOrder.Compare(after, prefix) >= 0;
        string where = $"user_id {(strict ? ">" : ">=")} $1" + (upper is null ? "" : " AND user_id < $3");
        // Both sides are index range scans with LIMIT; the union of at most 2·limit ids is then sorted.
        string sql = $"""
            SELECT user_id FROM (
                (SELECT user_id FROM pinnersage_profiles WHERE {where} ORDER BY user_id LIMIT $2)
                UNION
                (SELECT DISTINCT user_id FROM pinnersage_events WHERE {where} ORDER BY user_id LIMIT $2)
            ) u ORDER BY user_id LIMIT $2
            """;
        return Run(c =>
        {
            using var cmd = new NpgsqlCommand(sql, c);
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = strict ? after! : prefix });
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            if (upper is not null) cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = upper });
            var result = new List<string>();
            using NpgsqlDataReader reader = cmd.ExecuteReader();
            while (reader.Read()) result.Add(reader.GetString(0));
            return result;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<long> AppendEvents(IReadOnlyList<ActionEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (ActionEvent e in events) StoreCommon.Validate(e);
        if (events.Count == 0) return [];
        return _appends.Append(events);
    }

    /// <summary>Writes one group of appends (<see cref="GroupCommit"/>) in one transaction.</summary>
    private IReadOnlyList<long> WriteEvents(IReadOnlyList<ActionEvent> events)
    {
        int n = events.Count;
        string[] users = new string[n], items = new string[n], actions = new string[n];
        long[] times = new long[n];
        for (int i = 0; i < n; i++)
        {
            users[i] = events[i].UserId;
            items[i] = events[i].ItemId;
            actions[i] = events[i].Action;
            times[i] = events[i].Timestamp;
        }
        return Run(c =>
        {
            using NpgsqlTransaction tx = c.BeginTransaction();
            Execute(c, tx, "LOCK TABLE pinnersage_events IN SHARE ROW EXCLUSIVE MODE");
            using var cmd = new NpgsqlCommand("""
                INSERT INTO pinnersage_events (user_id, item_id, action, timestamp)
                SELECT u, i, a, t FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS x(u, i, a, t, o)
                ORDER BY o
                RETURNING sequence
                """, c, tx);
            cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = users });
            cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = items });
            cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = actions });
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = times });
            var sequences = new List<long>(n);
            using (NpgsqlDataReader reader = cmd.ExecuteReader())
                while (reader.Read()) sequences.Add(reader.GetInt64(0));
            tx.Commit();
            // The rows were numbered in input order while this transaction held the lock: the i-th smallest
            // sequence is the i-th event's.
            sequences.Sort();
            return sequences;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<LoggedEvent> GetPendingEvents(string userId, int max)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (max == 0) return [];
        return Run(c =>
        {
            using NpgsqlCommand cmd = PendingEventsCommand(c, userId, max);
            var result = new List<LoggedEvent>();
            using (NpgsqlDataReader reader = cmd.ExecuteReader())
                while (reader.Read()) result.Add(ReadEvent(reader));
            result.Reverse();
            return result;
        });
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<LoggedEvent>> GetPendingEventsAsync(string userId, int max, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (max == 0) return [];
        return await RunAsync<IReadOnlyList<LoggedEvent>>(async (c, ct) =>
        {
            await using NpgsqlCommand cmd = PendingEventsCommand(c, userId, max);
            var result = new List<LoggedEvent>();
            await using (NpgsqlDataReader reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
                while (await reader.ReadAsync(ct).ConfigureAwait(false)) result.Add(ReadEvent(reader));
            result.Reverse();
            return result;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The user's pending events, most recent first: one statement, so one snapshot for the consumed marker
    /// and the events.</summary>
    private static NpgsqlCommand PendingEventsCommand(NpgsqlConnection c, string userId, int max)
    {
        var cmd = new NpgsqlCommand($"""
            SELECT {EventColumns} FROM pinnersage_events
            WHERE user_id = $1 AND sequence > coalesce((SELECT value::bigint FROM pinnersage_meta
                                                        WHERE key = 'consumed_event_sequence'), 0)
            ORDER BY timestamp DESC, sequence DESC LIMIT $2
            """, c);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        return cmd;
    }

    /// <inheritdoc/>
    public IEnumerable<LoggedEvent> ReadEvents(long afterSequence, long upToSequence)
    {
        using NpgsqlConnection connection = Connect();
        using var cmd = new NpgsqlCommand($"""
            SELECT {EventColumns} FROM pinnersage_events WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence
            """, connection);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSequence });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = upToSequence });
        using NpgsqlDataReader reader = cmd.ExecuteReader();
        while (reader.Read()) yield return ReadEvent(reader);
    }

    /// <inheritdoc/>
    public long LastEventSequence() => Run(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT coalesce(max(sequence), 0) FROM pinnersage_events", c);
        return (long)cmd.ExecuteScalar()!;
    });

    /// <inheritdoc/>
    public long CompactEvents(long consumedThrough, long before) => Run(c =>
    {
        using var cmd = new NpgsqlCommand("""
            DELETE FROM pinnersage_events WHERE sequence <= $1 AND timestamp < $2
            AND sequence < (SELECT coalesce(max(sequence), 0) FROM pinnersage_events)
            """, c);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = consumedThrough });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = before });
        return (long)cmd.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public void Dispose() => _source.Dispose();

    /// <summary>Quotes a PostgreSQL identifier.</summary>
    internal static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static LoggedEvent ReadEvent(NpgsqlDataReader reader) =>
        new(reader.GetInt64(0),
            new ActionEvent(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)),
            new DateTimeOffset(reader.GetFieldValue<DateTime>(5), TimeSpan.Zero));

    private NpgsqlConnection Connect()
    {
        try
        {
            return _source.OpenConnection();
        }
        catch (NpgsqlException e)
        {
            throw new IOException($"{_display}: cannot connect: {e.Message}", e);
        }
    }

    private T Run<T>(Func<NpgsqlConnection, T> body)
    {
        using NpgsqlConnection connection = Connect();
        try
        {
            return body(connection);
        }
        catch (NpgsqlException e)
        {
            throw new IOException($"{_display}: {e.Message}", e);
        }
    }

    private async ValueTask<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> body, CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await body(connection, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw new IOException($"{_display}: {e.Message}", e);
        }
    }

    /// <summary>Runs each statement as its own command. Never several statements in one synchronous command: since 8.0
    /// Npgsql writes every statement after the first from a thread-pool task while the caller blocks on the reply (its
    /// 8.0 release notes, "Synchronous command batching can cause threadpool starvation"; npgsql/npgsql#5861). With the
    /// thread pool busy (a loaded server process, a parallel test run) such a command stalls until its 30-s timeout
    /// while the server sits idle in transaction: our tests saw it about once in eight suite runs, in the batch commit
    /// and in table creation. A single statement is written on the caller's thread.</summary>
    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction? tx, params string[] statements)
    {
        foreach (string sql in statements)
        {
            using var cmd = new NpgsqlCommand(sql, connection, tx);
            cmd.ExecuteNonQuery();
        }
    }

    private sealed class ReplaceSession : ReplaceSessionTemplate
    {
        private readonly PostgresProfileStore _store;
        private readonly NpgsqlConnection _connection;
        private readonly NpgsqlTransaction _transaction;
        private readonly string _staging;
        private readonly List<byte> _buffer = new(1024);
        private readonly Dictionary<string, uint> _scratch = new(StringComparer.Ordinal);
        private NpgsqlBinaryImporter? _copy;

        public ReplaceSession(PostgresProfileStore store) : base(store._display)
        {
            _store = store;
            _connection = store.Connect();
            try
            {
                _transaction = _connection.BeginTransaction();
                _staging = "pinnersage_profiles_next_" + Guid.NewGuid().ToString("N");
                // No primary key while loading: it is built once, sorted, at commit (and catches duplicate users).
                Execute(_connection, _transaction, $"""
                    CREATE TABLE {_staging} (user_id text COLLATE "C" NOT NULL, clusters integer NOT NULL,
                                             data bytea NOT NULL)
                    """);
                _copy = _connection.BeginBinaryImport($"COPY {_staging} (user_id, clusters, data) FROM STDIN (FORMAT BINARY)");
            }
            catch
            {
                _connection.Dispose();
                throw;
            }
        }

        protected override void WriteCore(UserProfile profile)
        {
            byte[] data = ProfileBlobCodec.EncodeSelfContained(profile, _buffer, _scratch);
            _copy!.StartRow();
            _copy.Write(profile.UserId, NpgsqlDbType.Text);
            _copy.Write(profile.Clusters.Count, NpgsqlDbType.Integer);
            _copy.Write(data, NpgsqlDbType.Bytea);
        }

        protected override void CommitCore(ProfileRunMetadata metadata)
        {
            _copy!.Complete();
            _copy.Dispose();
            _copy = null;
            Execute(_connection, _transaction,
                $"ALTER TABLE {_staging} ADD PRIMARY KEY (user_id)",
                "DROP TABLE pinnersage_profiles",
                $"ALTER TABLE {_staging} RENAME TO pinnersage_profiles",
                $"ALTER INDEX {_staging}_pkey RENAME TO pinnersage_profiles_pkey");
            StoreCommon.WriteMeta(_connection, _transaction, "pinnersage_meta", SchemaVersion, metadata, Users);
            _transaction.Commit();
        }

        protected override void Release()
        {
            try
            {
                _copy?.Dispose(); // cancels an unfinished COPY
            }
            catch (NpgsqlException)
            {
                // The transaction is rolled back below either way.
            }
            finally
            {
                _transaction.Dispose(); // rolls back unless committed: the staging table disappears with it
                _connection.Dispose();
                _store._sessionOpen = 0;
            }
        }
    }
}
