using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;
using PinnerSage.Batch;
using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>The embedded default <see cref="IProfileStore"/>: one SQLite file in WAL mode, safe to share between
/// threads and processes.</summary>
/// <remarks>
/// Schema (version <see cref="SchemaVersion"/>; <c>PRAGMA user_version</c> holds it too):
/// <code>
/// meta(key TEXT PRIMARY KEY, value TEXT)                   schema_version, now, built_at, options, users, source,
///                                                          consumed_event_sequence, run_id
/// items(item INTEGER PRIMARY KEY, item_id TEXT UNIQUE)      item ids, numbered per run
/// profiles(user_id TEXT PRIMARY KEY, clusters INTEGER, data BLOB) WITHOUT ROWID
/// events(sequence INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT, item_id TEXT, action TEXT,
///        timestamp INTEGER, received_at INTEGER)           the event log; received_at in Unix milliseconds
/// index events_user(user_id, sequence)                     GetPendingEvents, ListUsers
/// </code>
/// <c>data</c> is <see cref="ProfileBlobCodec"/>'s varint encoding, with items as keys of <c>items</c> (our choice:
/// ids are stored once, and a profile row is ~10× smaller than JSON). A version 1 file (no events table) is migrated in
/// place when opened: the events table and index are added and the version becomes 2.
/// <para>Batch runs (our choice): a run fills the tables <c>profiles_next</c>/<c>items_next</c> of a staging file beside
/// the store (<see cref="StagingSuffix"/>, attached) in short transactions of 5,000 buffered profiles, so the single SQLite
/// writer lock is free between chunks and online appends are not blocked for the whole run, and the store's file is not
/// written before the commit (a refused or failed run leaves it byte-identical); <see cref="IProfileReplaceSession.Commit"/>
/// then replaces the contents of <c>profiles</c> and <c>items</c> with the staged rows and rewrites <c>meta</c> (including <see cref="ProfileRunMetadata.ConsumedEventSequence"/>) in ONE transaction. Readers
/// see either the previous run or the new one. One run at a time per store file.</para>
/// <para>Durability: every connection runs WAL with <c>synchronous=FULL</c>, so <see cref="AppendEvents"/> and the
/// run's final commit are on disk before they return (staging chunks use NORMAL: a crash only loses an unfinished run).</para>
/// <para>Threads: an instance is thread-safe. Reads take a connection from a pool (one per concurrent reader, each
/// in its own read transaction, i.e. a consistent snapshot); appends go through one writer connection with group
/// commit (<see cref="GroupCommit"/>: concurrent appends share one transaction and one fsync), and SQLite's file lock
/// serialises writers of other processes, so sequences commit in order. Item ids of the current run are cached in
/// memory (keyed by the run's <c>run_id</c>), so a warm <see cref="Get"/> is one indexed lookup. Replace sessions
/// are single-threaded objects.</para>
/// </remarks>
public sealed class SqliteProfileStore : IProfileStore
{
    /// <summary>The schema version this code writes and reads (it also reads and migrates version 1).</summary>
    public const int SchemaVersion = 2;

    private const int StagingRowsPerTransaction = 5_000;

    /// <summary>A batch run's staging file beside the store (deleted when the run ends).</summary>
    public const string StagingSuffix = ".staging";
    private const int BusyTimeoutMilliseconds = 30_000;

    private static readonly object InitLock = new();
    private static bool s_initialized;

    private readonly string _path;
    private readonly string _connectionString;
    private readonly ConcurrentBag<Reader> _readers = [];
    private readonly object _appendLock = new();
    private readonly GroupCommit _appends;
    private volatile ItemCache? _itemCache;
    private SqliteConnection? _appender;
    private SqliteCommand? _insertEvent;
    private int _sessionOpen;
    private bool _disposed;

    private SqliteProfileStore(string path, string connectionString)
    {
        _path = path;
        _connectionString = connectionString;
        _appends = new GroupCommit(WriteEvents);
    }

    /// <summary>The file this store reads and writes.</summary>
    public string Path => _path;

    /// <summary>Opens (creating when absent, migrating a version 1 file) the store at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">The file is not a profile store of a supported schema version, or cannot be opened.</exception>
    public static SqliteProfileStore Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        lock (InitLock)
        {
            if (!s_initialized)
            {
                SQLitePCL.Batteries_V2.Init();
                s_initialized = true;
            }
        }
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString();
        var store = new SqliteProfileStore(path, connectionString);
        SqliteConnection connection = store.Connect();
        try
        {
            Execute(connection, "PRAGMA journal_mode=WAL;");
            // A current store is left as it is: opening it to read (or for a run that is then refused) writes nothing.
            if (!IsCurrentSchema(connection))
            {
                using (SqliteTransaction tx = connection.BeginTransaction(deferred: false))
                {
                    Execute(connection, """
                        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                        CREATE TABLE IF NOT EXISTS items (item INTEGER PRIMARY KEY, item_id TEXT NOT NULL UNIQUE);
                        CREATE TABLE IF NOT EXISTS profiles (user_id TEXT PRIMARY KEY, clusters INTEGER NOT NULL,
                                                             data BLOB NOT NULL) WITHOUT ROWID;
                        CREATE TABLE IF NOT EXISTS events (sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                                                           user_id TEXT NOT NULL, item_id TEXT NOT NULL,
                                                           action TEXT NOT NULL, timestamp INTEGER NOT NULL,
                                                           received_at INTEGER NOT NULL);
                        CREATE INDEX IF NOT EXISTS events_user ON events (user_id, sequence);
                        """, tx);
                    string? version = ReadMeta(connection, "schema_version", tx);
                    if (version is "1")
                        Execute(connection, "UPDATE meta SET value = '2' WHERE key = 'schema_version'", tx);
                    else if (version is not null && version != "2")
                        throw new IOException($"{path}: profile store schema version {version} is not supported (expected 1 or {SchemaVersion}).");
                    Execute(connection, $"PRAGMA user_version = {SchemaVersion};", tx);
                    tx.Commit();
                }
            }
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new IOException($"{path}: cannot open the profile store: {e.Message}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        store._readers.Add(new Reader(connection));
        return store;
    }

    /// <inheritdoc/>
    public IProfileReplaceSession BeginReplaceAll()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return StoreCommon.BeginSession(ref _sessionOpen, () => new ReplaceSession(this), _path);
    }

    /// <inheritdoc/>
    public UserProfile? Get(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return Read(r =>
        {
            SqliteCommand getProfile = r.Command("SELECT data FROM profiles WHERE user_id = $a");
            getProfile.Parameters[0].Value = userId;
            if (getProfile.ExecuteScalar() is not byte[] data) return null;
            // The run's token, read in the same snapshot as the profile: item keys are numbered per run.
            SqliteCommand getToken = r.Command(
                "SELECT coalesce((SELECT value FROM meta WHERE key = 'run_id'), (SELECT value FROM meta WHERE key = 'built_at'), '')");
            string token = (string)getToken.ExecuteScalar()!;
            ItemCache? cache = _itemCache;
            if (cache is null || cache.Token != token) _itemCache = cache = new ItemCache(token);
            SqliteCommand getItem = r.Command("SELECT item_id FROM items WHERE item = $a");
            int p = 0;
            return ProfileBlobCodec.Decode(userId, data, ref p, key =>
            {
                if (cache.Items.TryGetValue(key, out string? s)) return s;
                getItem.Parameters[0].Value = (long)key;
                s = getItem.ExecuteScalar() as string
                    ?? throw new InvalidDataException($"{_path}: profile of '{userId}' refers to missing item {key}.");
                cache.Items.TryAdd(key, s);
                return s;
            });
        });
    }

    /// <inheritdoc/>
    public ProfileRunMetadata? GetMetadata() => Read(r => StoreCommon.ParseMetadata(ReadAllMeta(r)));

    /// <inheritdoc/>
    public long CountUsers() => Read(r => (long)r.Command("SELECT count(*) FROM profiles").ExecuteScalar()!);

    /// <summary>All stored user ids (with a profile) in UTF-8 byte (= code point) order, read in pages.</summary>
    public IEnumerable<string> UserIds()
    {
        string? after = null;
        while (true)
        {
            List<string> page = Read(r =>
            {
                SqliteCommand cmd = r.Command(after is null
                    ? "SELECT user_id FROM profiles ORDER BY user_id LIMIT 10000"
                    : "SELECT user_id FROM profiles WHERE user_id > $a ORDER BY user_id LIMIT 10000");
                if (after is not null) cmd.Parameters[0].Value = after;
                var ids = new List<string>();
                using SqliteDataReader reader = cmd.ExecuteReader();
                while (reader.Read()) ids.Add(reader.GetString(0));
                return ids;
            });
            foreach (string id in page) yield return id;
            if (page.Count == 0) yield break;
            after = page[^1];
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> ListUsers(string? prefix, string? after, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0) return [];
        prefix ??= "";
        // Lower bound: user_id > after, and ≥ prefix; both tables are read in order and merged (our choice: two index
        // range scans with LIMIT instead of a UNION that SQLite would materialise).
        bool strict = after is not null && UserIdOrder.Compare(after, prefix) >= 0;
        string bound = strict ? after! : prefix;
        string op = strict ? ">" : ">=";
        return Read(r =>
        {
            SqliteCommand profiles = r.Command($"SELECT user_id FROM profiles WHERE user_id {op} $a ORDER BY user_id LIMIT $b");
            SqliteCommand events = r.Command($"SELECT DISTINCT user_id FROM events WHERE user_id {op} $a ORDER BY user_id LIMIT $b");
            foreach (SqliteCommand c in (SqliteCommand[])[profiles, events])
            {
                c.Parameters[0].Value = bound;
                c.Parameters[1].Value = limit;
            }
            using SqliteDataReader a = profiles.ExecuteReader();
            using SqliteDataReader b = events.ExecuteReader();
            return MergeUserIds(a, b, prefix, limit);
        });
    }

    /// <summary>Merges two ordered id streams, dropping duplicates, stopping at the first id outside the prefix.</summary>
    internal static List<string> MergeUserIds(System.Data.Common.DbDataReader a, System.Data.Common.DbDataReader b,
                                              string prefix, int limit)
    {
        var result = new List<string>(Math.Min(limit, 1024));
        string? x = a.Read() ? a.GetString(0) : null;
        string? y = b.Read() ? b.GetString(0) : null;
        while (result.Count < limit && (x is not null || y is not null))
        {
            string next;
            if (y is null || (x is not null && UserIdOrder.Compare(x, y) <= 0))
            {
                next = x!;
                if (y == x) y = b.Read() ? b.GetString(0) : null;
                x = a.Read() ? a.GetString(0) : null;
            }
            else
            {
                next = y;
                y = b.Read() ? b.GetString(0) : null;
            }
            if (!next.StartsWith(prefix, StringComparison.Ordinal)) break;
            result.Add(next);
        }
        return result;
    }

    /// <inheritdoc/>
    public IReadOnlyList<long> AppendEvents(IReadOnlyList<ActionEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (ActionEvent e in events) StoreCommon.Validate(e);
        if (events.Count == 0) return [];
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _appends.Append(events);
    }

    /// <summary>Writes one group of appends in one IMMEDIATE transaction on the writer connection (called by
    /// <see cref="GroupCommit"/>, one group at a time).</summary>
    private long[] WriteEvents(IReadOnlyList<ActionEvent> events)
    {
        long receivedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var sequences = new long[events.Count];
        lock (_appendLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                if (_appender is null)
                {
                    _appender = Connect();
                    _insertEvent = _appender.CreateCommand();
                    _insertEvent.CommandText = """
                        INSERT INTO events (user_id, item_id, action, timestamp, received_at) VALUES ($u, $i, $a, $t, $r);
                        SELECT last_insert_rowid();
                        """;
                    foreach (string p in (string[])["$u", "$i", "$a", "$t", "$r"])
                        _insertEvent.Parameters.Add(new SqliteParameter { ParameterName = p });
                }
                using SqliteTransaction tx = _appender.BeginTransaction(deferred: false);
                _insertEvent!.Transaction = tx;
                for (int i = 0; i < events.Count; i++)
                {
                    ActionEvent e = events[i];
                    _insertEvent.Parameters[0].Value = e.UserId;
                    _insertEvent.Parameters[1].Value = e.ItemId;
                    _insertEvent.Parameters[2].Value = e.Action;
                    _insertEvent.Parameters[3].Value = e.Timestamp;
                    _insertEvent.Parameters[4].Value = receivedAt;
                    sequences[i] = (long)_insertEvent.ExecuteScalar()!;
                }
                tx.Commit();
            }
            catch (SqliteException e)
            {
                throw new IOException($"{_path}: cannot append events: {e.Message}", e);
            }
        }
        return sequences;
    }

    /// <inheritdoc/>
    public IReadOnlyList<LoggedEvent> GetPendingEvents(string userId, int max)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (max == 0) return [];
        return Read(r =>
        {
            long consumed = ConsumedSequence(r);
            SqliteCommand cmd = r.Command("""
                SELECT sequence, user_id, item_id, action, timestamp, received_at FROM events
                WHERE user_id = $a AND sequence > $b ORDER BY timestamp DESC, sequence DESC LIMIT $c
                """);
            cmd.Parameters[0].Value = userId;
            cmd.Parameters[1].Value = consumed;
            cmd.Parameters[2].Value = max;
            var result = new List<LoggedEvent>();
            using (SqliteDataReader reader = cmd.ExecuteReader())
                while (reader.Read()) result.Add(ReadEvent(reader));
            result.Reverse();
            return result;
        });
    }

    /// <inheritdoc/>
    public IEnumerable<LoggedEvent> ReadEvents(long afterSequence, long upToSequence)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return ReadEventsCore(afterSequence, upToSequence);
    }

    private IEnumerable<LoggedEvent> ReadEventsCore(long afterSequence, long upToSequence)
    {
        Reader r = Rent();
        try
        {
            using SqliteTransaction tx = r.Connection.BeginTransaction(deferred: true);
            r.Transaction = tx;
            SqliteCommand cmd = r.Command("""
                SELECT sequence, user_id, item_id, action, timestamp, received_at FROM events
                WHERE sequence > $a AND sequence <= $b ORDER BY sequence
                """);
            cmd.Parameters[0].Value = afterSequence;
            cmd.Parameters[1].Value = upToSequence;
            using SqliteDataReader reader = cmd.ExecuteReader();
            while (reader.Read()) yield return ReadEvent(reader);
        }
        finally
        {
            r.Transaction = null;
            _readers.Add(r);
        }
    }

    /// <inheritdoc/>
    public long LastEventSequence() =>
        Read(r => (long)r.Command("SELECT coalesce(max(sequence), 0) FROM events").ExecuteScalar()!);

    /// <inheritdoc/>
    public long CompactEvents(long consumedThrough, long before)
    {
        lock (_appendLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using SqliteConnection connection = Connect();
            using SqliteTransaction tx = connection.BeginTransaction(deferred: false);
            using SqliteCommand cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                DELETE FROM events WHERE sequence <= $c AND timestamp < $b
                AND sequence < (SELECT coalesce(max(sequence), 0) FROM events)
                """;
            cmd.Parameters.AddWithValue("$c", consumedThrough);
            cmd.Parameters.AddWithValue("$b", before);
            long deleted = cmd.ExecuteNonQuery();
            tx.Commit();
            return deleted;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_appendLock)
        {
            if (_disposed) return;
            _disposed = true;
            _insertEvent?.Dispose();
            _appender?.Dispose();
        }
        while (_readers.TryTake(out Reader? r)) r.Dispose();
    }

    private static LoggedEvent ReadEvent(SqliteDataReader reader) =>
        new(reader.GetInt64(0),
            new ActionEvent(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)));

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            Execute(connection, $"PRAGMA busy_timeout={BusyTimeoutMilliseconds}; PRAGMA synchronous=FULL;");
            return connection;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new IOException($"{_path}: cannot open the profile store: {e.Message}", e);
        }
    }

    private Reader Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _readers.TryTake(out Reader? r) ? r : new Reader(Connect());
    }

    /// <summary>Runs <paramref name="body"/> on a pooled connection inside one read transaction (one snapshot).</summary>
    private T Read<T>(Func<Reader, T> body)
    {
        Reader r = Rent();
        try
        {
            using SqliteTransaction tx = r.Connection.BeginTransaction(deferred: true);
            r.Transaction = tx;
            return body(r);
        }
        catch (SqliteException e)
        {
            throw new IOException($"{_path}: {e.Message}", e);
        }
        finally
        {
            r.Transaction = null;
            _readers.Add(r);
        }
    }

    private static long ConsumedSequence(Reader r)
    {
        SqliteCommand cmd = r.Command("SELECT value FROM meta WHERE key = $a");
        cmd.Parameters[0].Value = "consumed_event_sequence";
        return cmd.ExecuteScalar() is string s ? long.Parse(s, CultureInfo.InvariantCulture) : 0;
    }

    private static Dictionary<string, string> ReadAllMeta(Reader r)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        using SqliteDataReader reader = r.Command("SELECT key, value FROM meta").ExecuteReader();
        while (reader.Read()) meta[reader.GetString(0)] = reader.GetString(1);
        return meta;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using SqliteCommand cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>True when the file is at <see cref="SchemaVersion"/> with every table (an older or new file needs the
    /// creating/migrating transaction).</summary>
    private static bool IsCurrentSchema(SqliteConnection connection)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT user_version FROM pragma_user_version) = $v AND " +
                              "(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'items', 'profiles', 'events')) = 4";
        command.Parameters.AddWithValue("$v", SchemaVersion);
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 1) return false;
        return ReadMeta(connection, "schema_version", null) is null or "2";
    }

    private static string? ReadMeta(SqliteConnection connection, string key, SqliteTransaction? transaction)
    {
        using SqliteCommand cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = "SELECT value FROM meta WHERE key = $k";
        cmd.Parameters.AddWithValue("$k", key);
        return cmd.ExecuteScalar() as string;
    }

    /// <summary>Item ids of one run by key (immutable within a run, so shared by all threads).</summary>
    private sealed class ItemCache(string token)
    {
        public string Token { get; } = token;

        public ConcurrentDictionary<uint, string> Items { get; } = new();
    }

    /// <summary>A pooled read connection with its prepared statements (by SQL text; parameters $a, $b, $c).</summary>
    private sealed class Reader(SqliteConnection connection) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public SqliteConnection Connection { get; } = connection;

        public SqliteTransaction? Transaction { get; set; }

        public SqliteCommand Command(string sql)
        {
            if (!_commands.TryGetValue(sql, out SqliteCommand? cmd))
            {
                cmd = Connection.CreateCommand();
                cmd.CommandText = sql;
                foreach (string p in (string[])["$a", "$b", "$c"])
                    if (sql.Contains(p, StringComparison.Ordinal)) cmd.Parameters.Add(new SqliteParameter { ParameterName = p });
                _commands.Add(sql, cmd);
            }
            cmd.Transaction = Transaction;
            return cmd;
        }

        public void Dispose()
        {
            foreach (SqliteCommand c in _commands.Values) c.Dispose();
            Connection.Dispose();
        }
    }

    private sealed class ReplaceSession : ReplaceSessionTemplate
    {
        private readonly SqliteProfileStore _store;
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _insertProfile;
        private readonly SqliteCommand _insertItem;
        private readonly Dictionary<string, uint> _itemKeys = new(StringComparer.Ordinal);
        private readonly List<byte> _blob = new(1024);
        private readonly List<(string UserId, int Clusters, byte[] Data)> _pendingProfiles = [];
        private readonly List<(long Key, string ItemId)> _pendingItems = [];
        private bool _committed;
        private readonly string _stagingPath = "";

        public ReplaceSession(SqliteProfileStore store) : base(store._path)
        {
            _store = store;
            _connection = store.Connect();
            try
            {
                // Staging chunks need not be durable one by one (a crash loses the unfinished run anyway); a larger page
                // cache (64 MiB) keeps the B-tree pages being filled in memory instead of spilling them to the WAL.
                Execute(_connection, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;");
                // The run is staged in a file of its own, attached: the store's file is not written until the commit,
                // so a refused or failed run leaves it byte-identical (and a crash leaves only a stale staging file).
                _stagingPath = store._path + StagingSuffix;
                DeleteStaging();
                using (SqliteCommand attach = _connection.CreateCommand())
                {
                    attach.CommandText = "ATTACH DATABASE $p AS staging";
                    attach.Parameters.AddWithValue("$p", _stagingPath);
                    attach.ExecuteNonQuery();
                }
                Execute(_connection, """
                    PRAGMA staging.journal_mode=OFF;
                    PRAGMA staging.synchronous=OFF;
                    CREATE TABLE staging.profiles_next (user_id TEXT PRIMARY KEY, clusters INTEGER NOT NULL,
                                                        data BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE staging.items_next (item INTEGER PRIMARY KEY, item_id TEXT NOT NULL UNIQUE);
                    """);
                _insertProfile = Prepare("INSERT INTO staging.profiles_next (user_id, clusters, data) VALUES ($u, $c, $d)",
                                         "$u", "$c", "$d");
                _insertItem = Prepare("INSERT INTO staging.items_next (item, item_id) VALUES ($k, $i)", "$k", "$i");
            }
            catch
            {
                _connection.Dispose();
                DeleteStaging();
                throw;
            }
        }

        protected override void WriteCore(UserProfile profile)
        {
            _blob.Clear();
            ProfileBlobCodec.Encode(_blob, profile, ItemKey);
            _pendingProfiles.Add((profile.UserId, profile.Clusters.Count, _blob.ToArray()));
            if (_pendingProfiles.Count >= StagingRowsPerTransaction) Flush();
        }

        protected override void CommitCore(ProfileRunMetadata metadata)
        {
            Flush();
            Execute(_connection, "PRAGMA synchronous=FULL;");
            using SqliteTransaction tx = _connection.BeginTransaction(deferred: false);
            Execute(_connection, """
                DELETE FROM main.profiles;
                DELETE FROM main.items;
                INSERT INTO main.items (item, item_id) SELECT item, item_id FROM staging.items_next;
                INSERT INTO main.profiles (user_id, clusters, data) SELECT user_id, clusters, data FROM staging.profiles_next;
                """, tx);
            StoreCommon.WriteMeta(_connection, tx, "meta", SchemaVersion, metadata, Users);
            tx.Commit();
            _committed = true;
        }

        protected override void Release()
        {
            _insertProfile.Dispose();
            _insertItem.Dispose();
            try
            {
                Execute(_connection, "DETACH DATABASE staging;");
                // After a commit, fold the run's WAL back into the database file so the WAL does not stay as large as
                // the run; after a failure, write nothing.
                if (_committed) Execute(_connection, "PRAGMA wal_checkpoint(PASSIVE);");
            }
            catch (SqliteException)
            {
                // Best effort: the next run deletes a stale staging file before it starts.
            }
            finally
            {
                _connection.Dispose();
                DeleteStaging();
                _store._sessionOpen = 0;
            }
        }

        private void DeleteStaging()
        {
            if (_stagingPath.Length == 0) return;
            foreach (string suffix in new[] { "", "-journal", "-wal", "-shm" }) File.Delete(_stagingPath + suffix);
        }

        private uint ItemKey(string itemId)
        {
            if (_itemKeys.TryGetValue(itemId, out uint key)) return key;
            key = (uint)_itemKeys.Count;
            _itemKeys.Add(itemId, key);
            _pendingItems.Add((key, itemId));
            return key;
        }

        /// <summary>Writes the buffered rows in one short transaction: the SQLite write lock is held only while a chunk
        /// is written, never while the batch job computes (online appends wait at most one chunk).</summary>
        private void Flush()
        {
            try
            {
                using SqliteTransaction tx = _connection.BeginTransaction(deferred: false);
                _insertItem.Transaction = tx;
                _insertProfile.Transaction = tx;
                foreach ((long key, string itemId) in _pendingItems)
                {
                    _insertItem.Parameters[0].Value = key;
                    _insertItem.Parameters[1].Value = itemId;
                    _insertItem.ExecuteNonQuery();
                }
                foreach ((string userId, int clusters, byte[] data) in _pendingProfiles)
                {
                    _insertProfile.Parameters[0].Value = userId;
                    _insertProfile.Parameters[1].Value = clusters;
                    _insertProfile.Parameters[2].Value = data;
                    _insertProfile.ExecuteNonQuery();
                }
                tx.Commit();
            }
            catch (SqliteException e)
            {
                throw new IOException($"{_store._path}: {e.Message}", e);
            }
            finally
            {
                _insertItem.Transaction = null;
                _insertProfile.Transaction = null;
            }
            _pendingItems.Clear();
            _pendingProfiles.Clear();
        }

        private SqliteCommand Prepare(string sql, params string[] parameters)
        {
            SqliteCommand cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            foreach (string p in parameters) cmd.Parameters.Add(new SqliteParameter { ParameterName = p });
            return cmd;
        }
    }
}
