using Microsoft.Data.Sqlite;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Storage;

/// <summary>The store contract against <see cref="SqliteProfileStore"/>, plus what is SQLite-specific (schema
/// versions, the v1 → v2 migration, the WAL and durability settings).</summary>
public sealed class SqliteProfileStoreTests(ITestOutputHelper output) : ProfileStoreContractTests(output)
{
    private readonly TempDir _dir = new();
    private int _files;

    protected override string NewLocation() => _dir.File($"store{_files++}.db");

    protected override int SchemaVersion => SqliteProfileStore.SchemaVersion;

    protected override bool Available() => true;

    public override void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        base.Dispose();
    }

    private static void Sql(string path, string sql)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static string? Scalar(string path, string sql)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar()?.ToString();
    }

    [Fact]
    public void OpeningAStoreOfAnotherSchemaVersionFails()
    {
        string path = NewLocation();
        using (SqliteProfileStore store = SqliteProfileStore.Open(path)) Write(store, RandomProfiles(2, 1), Meta(1));
        Sql(path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
        Assert.Throws<IOException>(() => SqliteProfileStore.Open(path));
    }

    [Fact]
    public void AVersion1FileIsMigratedInPlaceAndKeepsItsProfiles()
    {
        // A version 1 store exactly as the previous code wrote it: its schema, one item, one profile, its metadata.
        string path = NewLocation();
        var profile = new UserProfile("u1", [new ProfileCluster("i0", 1.5, 2, ["i0"])]);
        var blob = new List<byte>();
        ProfileBlobCodec.Encode(blob, profile, _ => 0);
        Sql(path, $$"""
            PRAGMA journal_mode=WAL;
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE items (item INTEGER PRIMARY KEY, item_id TEXT NOT NULL UNIQUE);
            CREATE TABLE profiles (user_id TEXT PRIMARY KEY, clusters INTEGER NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
            INSERT INTO items VALUES (0, 'i0');
            INSERT INTO profiles VALUES ('u1', 1, X'{{Convert.ToHexString(blob.ToArray())}}');
            INSERT INTO meta VALUES ('schema_version', '1'), ('now', '1700000000'), ('built_at', '2026-11-21T10:00:00.0000000+00:00'),
                                    ('options', '{}'), ('users', '1'), ('source', 'a.tsv');
            """);

        using (IProfileStore store = ProfileStores.Open(path))
        {
            ProfileRunMetadata meta = store.GetMetadata()!;
            Assert.Equal(2, meta.SchemaVersion);
            Assert.Equal(1_700_000_000, meta.Now);
            Assert.Equal(0, meta.ConsumedEventSequence);
            Assert.Equal(ProfileJson.ToLine(profile), ProfileJson.ToLine(store.Get("u1")!));
            IReadOnlyList<long> s = store.AppendEvents([new ActionEvent("u2", "i0", "click", 5)]);
            Assert.Equal(["u1", "u2"], store.ListUsers(null, null, 10));
            Assert.Equal(s, store.GetPendingEvents("u2", 20).Select(e => e.Sequence));
        }
        Assert.Equal("2", Scalar(path, "SELECT value FROM meta WHERE key = 'schema_version'"));
        Assert.Equal("2", Scalar(path, "PRAGMA user_version"));
        Assert.Equal("1", Scalar(path, "SELECT count(*) FROM sqlite_master WHERE name = 'events_user'"));
        using (SqliteProfileStore again = SqliteProfileStore.Open(path)) Assert.Equal(1, again.LastEventSequence());
    }

    [Fact]
    public void TheBundledSqliteIsCurrent()
    {
        // 3.45 (January 2024) and later carry the fixes scanners flag in the 3.35.5 that SQLitePCLRaw 2.0.6 bundled
        // (CVE-2022-35737 among them). Asked of the library the store loaded, after the store initialised it.
        using (SqliteProfileStore.Open(NewLocation())) { }
        var version = Version.Parse(SQLitePCL.raw.sqlite3_libversion().utf8_to_string());
        Output.WriteLine($"SQLite {version}");
        Assert.True(version >= new Version(3, 45), $"SQLite {version} is older than 3.45");
    }

    [Fact]
    public void AVersion2FileWrittenByTheOldStackIsReadWithItsProfilesEventsAndRun()
    {
        // A version 2 store as the previous release wrote it (Microsoft.Data.Sqlite 6 + SQLite 3.35): a rollback-journal
        // file, two runs' worth of metadata, one profile, three logged events of which the first was consumed by the run.
        string path = NewLocation();
        var profile = new UserProfile("u1", [new ProfileCluster("i1", 2.25, 3, ["i1", "i0"]), new ProfileCluster("i0", 0.5, 1, ["i0"])]);
        var blob = new List<byte>();
        ProfileBlobCodec.Encode(blob, profile, id => id == "i0" ? 0u : 1u);
        Sql(path, $$"""
            PRAGMA journal_mode=DELETE;
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE items (item INTEGER PRIMARY KEY, item_id TEXT NOT NULL UNIQUE);
            CREATE TABLE profiles (user_id TEXT PRIMARY KEY, clusters INTEGER NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE events (sequence INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, item_id TEXT NOT NULL,
                                 action TEXT NOT NULL, timestamp INTEGER NOT NULL, received_at INTEGER NOT NULL);
            CREATE INDEX events_user ON events (user_id, sequence);
            INSERT INTO items VALUES (0, 'i0'), (1, 'i1');
            INSERT INTO profiles VALUES ('u1', 2, X'{{Convert.ToHexString(blob.ToArray())}}');
            INSERT INTO events (user_id, item_id, action, timestamp, received_at) VALUES
                ('u1', 'i0', 'click', 1699999000, 1700000000000), ('u1', 'i1', 'save', 1700000100, 1700000200000),
                ('u3', 'i1', 'click', 1700000200, 1700000300000);
            INSERT INTO meta VALUES ('schema_version', '2'), ('now', '1700000000'), ('built_at', '2026-11-21T10:00:00.0000000+00:00'),
                                    ('options', '{"alpha":2}'), ('users', '1'), ('source', 'a.tsv'),
                                    ('consumed_event_sequence', '1'), ('run_id', '0123456789abcdef0123456789abcdef');
            PRAGMA user_version = 2;
            """);

        using (IProfileStore store = ProfileStores.Open(path))
        {
            ProfileRunMetadata meta = store.GetMetadata()!;
            Assert.Equal((2, 1_700_000_000L, 1L, "{\"alpha\":2}", 1L, "a.tsv"),
                         (meta.SchemaVersion, meta.Now, meta.ConsumedEventSequence, meta.OptionsJson, meta.Users, meta.Source));
            Assert.Equal(ProfileJson.ToLine(profile), ProfileJson.ToLine(store.Get("u1")!));
            LoggedEvent pending = Assert.Single(store.GetPendingEvents("u1", 20));
            Assert.Equal((2L, new ActionEvent("u1", "i1", "save", 1_700_000_100), DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_200_000)),
                         (pending.Sequence, pending.Event, pending.ReceivedAtUtc));
            Assert.Equal(["u1", "u3"], store.ListUsers(null, null, 10));
            Assert.Equal(3, store.LastEventSequence());
        }
        // The version stays; only the journal mode changes (every connection runs WAL).
        Assert.Equal("2", Scalar(path, "PRAGMA user_version"));
        Assert.Equal("wal", Scalar(path, "PRAGMA journal_mode"));
    }

    [Fact]
    public void TheFileRunsInWalModeAndAFinishedRunLeavesNoStagingTables()
    {
        string path = NewLocation();
        using (SqliteProfileStore store = SqliteProfileStore.Open(path))
        {
            Write(store, RandomProfiles(30, 1), Meta(1));
            using (IProfileReplaceSession session = store.BeginReplaceAll()) session.Write(new UserProfile("x", []));
            Assert.Equal(["user-00000-é", "user-00001-é"], store.UserIds().Take(2));
            Assert.Equal(30, store.UserIds().Count());
        }
        Assert.Equal("wal", Scalar(path, "PRAGMA journal_mode"));
        Assert.Equal("0", Scalar(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_next'"));
    }

    [Fact]
    public void OneInstanceServesManyThreadsAtOnce()
    {
        string path = NewLocation();
        List<UserProfile> profiles = RandomProfiles(200, 9);
        using SqliteProfileStore store = SqliteProfileStore.Open(path);
        Write(store, profiles, Meta(1));
        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            UserProfile p = profiles[i % profiles.Count];
            Assert.Equal(ProfileJson.ToLine(p), ProfileJson.ToLine(store.Get(p.UserId)!));
            if (i % 10 == 0) store.AppendEvents([new ActionEvent(p.UserId, "i", "click", i)]);
            Assert.Equal(200, store.CountUsers());
        });
        Assert.Equal(200, store.ReadEvents(0, long.MaxValue).Count());
    }
}
