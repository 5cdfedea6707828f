using System.Globalization;
using Microsoft.Data.Sqlite;
using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>The embedded default <see cref="IProfileStore"/>: one SQLite file in WAL mode.</summary>
/// <remarks>
/// Schema (version <see cref="SchemaVersion"/>):
/// <code>
/// meta(key TEXT PRIMARY KEY, value TEXT)                   schema_version, now, built_at, options, users, source
/// items(item INTEGER PRIMARY KEY, item_id TEXT UNIQUE)      item ids, numbered per run
/// profiles(user_id TEXT PRIMARY KEY, clusters INTEGER, data BLOB) WITHOUT ROWID
/// </code>
/// <c>data</c> is <see cref="ProfileBlobCodec"/>'s varint encoding, with items as keys of <c>items</c> (our choice:
/// ids are stored once, and a profile row is ~10× smaller than JSON). A batch run replaces all three tables in one
/// IMMEDIATE transaction with prepared statements, so WAL readers see either the previous run or the new one.
/// Use one instance per thread (a SQLite connection is not thread-safe); many readers may open the same file.
/// </remarks>
public sealed class SqliteProfileStore : IProfileStore
{
    /// <summary>The schema version this code writes and reads.</summary>
    public const int SchemaVersion = 1;

    private static readonly object InitLock = new();
    private static bool s_initialized;

    private readonly SqliteConnection _connection;
    private readonly string _path;
    private SqliteCommand? _getProfile;
    private SqliteCommand? _getItem;
    private bool _sessionOpen;

    private SqliteProfileStore(SqliteConnection connection, string path)
    {
        _connection = connection;
        _path = path;
    }

    /// <summary>Opens (creating when absent) the store at <paramref name="path"/>.</summary>
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
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;");
            Execute(connection, """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS items (item INTEGER PRIMARY KEY, item_id TEXT NOT NULL UNIQUE);
                CREATE TABLE IF NOT EXISTS profiles (user_id TEXT PRIMARY KEY, clusters INTEGER NOT NULL,
                                                     data BLOB NOT NULL) WITHOUT ROWID;
                """);
            string? version = ReadMeta(connection, "schema_version");
            if (version is not null && version != SchemaVersion.ToString(CultureInfo.InvariantCulture))
                throw new IOException($"{path}: profile store schema version {version} is not supported (expected {SchemaVersion}).");
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
        return new SqliteProfileStore(connection, path);
    }

    /// <inheritdoc/>
    public IProfileReplaceSession BeginReplaceAll()
    {
        if (_sessionOpen) throw new InvalidOperationException("a replace session is already open on this store.");
        _sessionOpen = true;
        try
        {
            return new ReplaceSession(this);
        }
        catch (SqliteException e)
        {
            _sessionOpen = false;
            throw new IOException($"{_path}: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public UserProfile? Get(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        _getProfile ??= Prepare("SELECT data FROM profiles WHERE user_id = $u", "$u");
        _getItem ??= Prepare("SELECT item_id FROM items WHERE item = $i", "$i");
        _getProfile.Parameters[0].Value = userId;
        byte[]? data = _getProfile.ExecuteScalar() as byte[];
        if (data is null) return null;
        var cache = new Dictionary<uint, string>();
        string Item(uint key)
        {
            if (cache.TryGetValue(key, out string? s)) return s;
            _getItem!.Parameters[0].Value = (long)key;
            s = _getItem.ExecuteScalar() as string
                ?? throw new InvalidDataException($"{_path}: profile of '{userId}' refers to missing item {key}.");
            cache[key] = s;
            return s;
        }

        int p = 0;
        int clusters = (int)ProfileBlobCodec.ReadVarint(data, ref p);
        var result = new ProfileCluster[clusters];
        for (int k = 0; k < clusters; k++)
        {
            string medoid = Item(ProfileBlobCodec.ReadVarint(data, ref p));
            double importance = ProfileBlobCodec.ReadDouble(data, ref p);
            int size = (int)ProfileBlobCodec.ReadVarint(data, ref p);
            var members = new string[ProfileBlobCodec.ReadVarint(data, ref p)];
            for (int j = 0; j < members.Length; j++) members[j] = Item(ProfileBlobCodec.ReadVarint(data, ref p));
            result[k] = new ProfileCluster(medoid, importance, size, members);
        }
        return new UserProfile(userId, result);
    }

    /// <inheritdoc/>
    public ProfileRunMetadata? GetMetadata()
    {
        string? version = ReadMeta(_connection, "schema_version");
        if (version is null) return null;
        return new ProfileRunMetadata(
            int.Parse(version, CultureInfo.InvariantCulture),
            long.Parse(ReadMeta(_connection, "now") ?? "0", CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(ReadMeta(_connection, "built_at") ?? "1970-01-01T00:00:00Z", CultureInfo.InvariantCulture),
            ReadMeta(_connection, "options") ?? "{}",
            long.Parse(ReadMeta(_connection, "users") ?? "0", CultureInfo.InvariantCulture),
            ReadMeta(_connection, "source") ?? "");
    }

    /// <inheritdoc/>
    public long CountUsers()
    {
        using SqliteCommand cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM profiles";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>All stored user ids in UTF-8 byte (= code point) order.</summary>
    public IEnumerable<string> UserIds()
    {
        using SqliteCommand cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT user_id FROM profiles ORDER BY user_id";
        using SqliteDataReader reader = cmd.ExecuteReader();
        while (reader.Read()) yield return reader.GetString(0);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _getProfile?.Dispose();
        _getItem?.Dispose();
        _connection.Dispose();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        SqliteCommand cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (string p in parameters) cmd.Parameters.Add(new SqliteParameter { ParameterName = p });
        cmd.Prepare();
        return cmd;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using SqliteCommand cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static string? ReadMeta(SqliteConnection connection, string key)
    {
        using SqliteCommand cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT value FROM meta WHERE key = $k";
        cmd.Parameters.AddWithValue("$k", key);
        return cmd.ExecuteScalar() as string;
    }

    private sealed class ReplaceSession : IProfileReplaceSession
    {
        private readonly SqliteProfileStore _store;
        private readonly SqliteTransaction _transaction;
        private readonly SqliteCommand _insertProfile;
        private readonly SqliteCommand _insertItem;
        private readonly Dictionary<string, uint> _itemKeys = new(StringComparer.Ordinal);
        private readonly List<byte> _blob = new(1024);
        private long _users;
        private bool _done;

        public ReplaceSession(SqliteProfileStore store)
        {
            _store = store;
            SqliteConnection c = store._connection;
            // A run rewrites the whole store: a larger page cache (64 MiB) keeps the B-tree pages being filled in
            // memory instead of spilling them to the WAL mid-transaction.
            Execute(c, "PRAGMA cache_size=-65536;");
            _transaction = c.BeginTransaction(deferred: false);
            try
            {
                Execute(c, "DELETE FROM profiles; DELETE FROM items; DELETE FROM meta;", _transaction);
                _insertProfile = PrepareInTransaction("INSERT INTO profiles (user_id, clusters, data) VALUES ($u, $c, $d)",
                                                      "$u", "$c", "$d");
                _insertItem = PrepareInTransaction("INSERT INTO items (item, item_id) VALUES ($k, $i)", "$k", "$i");
            }
            catch
            {
                _transaction.Dispose();
                throw;
            }
        }

        public void Write(UserProfile profile)
        {
            ArgumentNullException.ThrowIfNull(profile);
            ObjectDisposedException.ThrowIf(_done, this);
            _blob.Clear();
            ProfileBlobCodec.WriteVarint(_blob, (uint)profile.Clusters.Count);
            foreach (ProfileCluster c in profile.Clusters)
            {
                ProfileBlobCodec.WriteVarint(_blob, ItemKey(c.Medoid));
                ProfileBlobCodec.WriteDouble(_blob, c.Importance);
                ProfileBlobCodec.WriteVarint(_blob, (uint)c.Size);
                ProfileBlobCodec.WriteVarint(_blob, (uint)c.Members.Count);
                foreach (string m in c.Members) ProfileBlobCodec.WriteVarint(_blob, ItemKey(m));
            }
            _insertProfile.Parameters[0].Value = profile.UserId;
            _insertProfile.Parameters[1].Value = profile.Clusters.Count;
            _insertProfile.Parameters[2].Value = _blob.ToArray();
            Run(_insertProfile);
            _users++;
        }

        public void Commit(ProfileRunMetadata metadata)
        {
            ArgumentNullException.ThrowIfNull(metadata);
            ObjectDisposedException.ThrowIf(_done, this);
            try
            {
                using SqliteCommand cmd = _store._connection.CreateCommand();
                cmd.Transaction = _transaction;
                cmd.CommandText = "INSERT INTO meta (key, value) VALUES ($k, $v)";
                SqliteParameter k = cmd.Parameters.Add("$k", SqliteType.Text);
                SqliteParameter v = cmd.Parameters.Add("$v", SqliteType.Text);
                foreach ((string key, string value) in new[]
                         {
                             ("schema_version", SchemaVersion.ToString(CultureInfo.InvariantCulture)),
                             ("now", metadata.Now.ToString(CultureInfo.InvariantCulture)),
                             ("built_at", metadata.BuiltAtUtc.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
                             ("options", metadata.OptionsJson),
                             ("users", _users.ToString(CultureInfo.InvariantCulture)),
                             ("source", metadata.Source),
                         })
                {
                    k.Value = key;
                    v.Value = value;
                    cmd.ExecuteNonQuery();
                }
                _transaction.Commit();
            }
            catch (SqliteException e)
            {
                throw new IOException($"{_store._path}: {e.Message}", e);
            }
            finally
            {
                Close();
            }
            // Fold the run's WAL back into the database file so the WAL does not stay as large as the run.
            Execute(_store._connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        }

        public void Dispose() => Close();

        private void Close()
        {
            if (_done) return;
            _done = true;
            _insertProfile.Dispose();
            _insertItem.Dispose();
            _transaction.Dispose(); // rolls back unless committed
            _store._sessionOpen = false;
        }

        private uint ItemKey(string itemId)
        {
            if (_itemKeys.TryGetValue(itemId, out uint key)) return key;
            key = (uint)_itemKeys.Count;
            _itemKeys.Add(itemId, key);
            _insertItem.Parameters[0].Value = (long)key;
            _insertItem.Parameters[1].Value = itemId;
            Run(_insertItem);
            return key;
        }

        private void Run(SqliteCommand cmd)
        {
            try
            {
                cmd.ExecuteNonQuery();
            }
            catch (SqliteException e)
            {
                throw new IOException($"{_store._path}: {e.Message}", e);
            }
        }

        private SqliteCommand PrepareInTransaction(string sql, params string[] parameters)
        {
            SqliteCommand cmd = _store._connection.CreateCommand();
            cmd.Transaction = _transaction;
            cmd.CommandText = sql;
            foreach (string p in parameters) cmd.Parameters.Add(new SqliteParameter { ParameterName = p });
            cmd.Prepare();
            return cmd;
        }
    }
}
