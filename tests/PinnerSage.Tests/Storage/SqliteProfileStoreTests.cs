using Microsoft.Data.Sqlite;
using PinnerSage.Profiles;
using PinnerSage.Storage;

namespace PinnerSage.Tests.Storage;

public sealed class SqliteProfileStoreTests
{
    private static List<UserProfile> RandomProfiles(int users, int seed, string prefix = "")
    {
        var rng = new Random(seed);
        var result = new List<UserProfile>();
        for (int u = 0; u < users; u++)
        {
            var clusters = new List<ProfileCluster>();
            int k = rng.Next(0, 8);
            for (int c = 0; c < k; c++)
            {
                string[] members = Enumerable.Range(0, 1 + rng.Next(30)).Select(_ => $"{prefix}item-{rng.Next(3000)}").Distinct().ToArray();
                clusters.Add(new ProfileCluster(members[rng.Next(members.Length)], rng.NextDouble() * 50, members.Length + rng.Next(5), members));
            }
            result.Add(new UserProfile($"user-{u:D5}-é", clusters));
        }
        return result;
    }

    private static ProfileRunMetadata Meta(long now = 1_700_000_000, string source = "a.tsv") =>
        new(SqliteProfileStore.SchemaVersion, now, new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero), """{"alpha":0.75}""", 0, source);

    [Fact]
    public void ProfilesAndMetadataRoundTripExactly()
    {
        using var dir = new TempDir();
        string path = dir.File("profiles.db");
        List<UserProfile> profiles = RandomProfiles(400, 1);
        using (SqliteProfileStore store = SqliteProfileStore.Open(path))
        {
            Assert.Null(store.GetMetadata());
            using IProfileReplaceSession session = store.BeginReplaceAll();
            foreach (UserProfile p in profiles) session.Write(p);
            session.Commit(Meta());
        }
        using (SqliteProfileStore store = SqliteProfileStore.Open(path))
        {
            Assert.Equal(profiles.Count, store.CountUsers());
            foreach (UserProfile p in profiles)
                Assert.Equal(ProfileJson.ToLine(p), ProfileJson.ToLine(store.Get(p.UserId)!));
            Assert.Null(store.Get("nobody"));
            ProfileRunMetadata meta = store.GetMetadata()!;
            Assert.Equal(Meta() with { Users = profiles.Count }, meta);
            Assert.Equal(profiles.Select(p => p.UserId).Order(StringComparer.Ordinal), store.UserIds());
        }
    }

    [Fact]
    public void ARunReplacesThePreviousOneEntirely()
    {
        using var dir = new TempDir();
        using SqliteProfileStore store = SqliteProfileStore.Open(dir.File("p.db"));
        Write(store, RandomProfiles(100, 1, "a-"), Meta(1));
        List<UserProfile> second = RandomProfiles(30, 2, "b-");
        Write(store, second, Meta(2));
        Assert.Equal(30, store.CountUsers());
        Assert.Equal(2, store.GetMetadata()!.Now);
        Assert.Null(store.Get("user-00050-é"));
        Assert.Equal(ProfileJson.ToLine(second[7]), ProfileJson.ToLine(store.Get(second[7].UserId)!));
    }

    [Fact]
    public void AnAbandonedRunLeavesThePreviousProfilesIntactAndInvisibleToReaders()
    {
        using var dir = new TempDir();
        string path = dir.File("p.db");
        List<UserProfile> first = RandomProfiles(200, 3, "a-");
        using SqliteProfileStore store = SqliteProfileStore.Open(path);
        Write(store, first, Meta(1));

        using (IProfileReplaceSession session = store.BeginReplaceAll())
        {
            foreach (UserProfile p in RandomProfiles(150, 4, "b-")) session.Write(p);
            // A second connection (another process would behave the same) still sees the first run, whole.
            using SqliteProfileStore reader = SqliteProfileStore.Open(path);
            Assert.Equal(200, reader.CountUsers());
            Assert.Equal(ProfileJson.ToLine(first[42]), ProfileJson.ToLine(reader.Get(first[42].UserId)!));
            Assert.Equal(1, reader.GetMetadata()!.Now);
            // No commit: the run fails here.
        }

        Assert.Equal(200, store.CountUsers());
        foreach (UserProfile p in first) Assert.Equal(ProfileJson.ToLine(p), ProfileJson.ToLine(store.Get(p.UserId)!));
        Assert.Equal(1, store.GetMetadata()!.Now);

        // And the store is usable for the next run.
        Write(store, first.Take(10).ToList(), Meta(3));
        Assert.Equal(10, store.CountUsers());
    }

    [Fact]
    public void DuplicateUserFailsTheRunAndRollsBack()
    {
        using var dir = new TempDir();
        using SqliteProfileStore store = SqliteProfileStore.Open(dir.File("p.db"));
        Write(store, RandomProfiles(5, 1), Meta(1));
        using (IProfileReplaceSession session = store.BeginReplaceAll())
        {
            var p = new UserProfile("dup", []);
            session.Write(p);
            Assert.Throws<IOException>(() => session.Write(p));
        }
        Assert.Equal(5, store.CountUsers());
    }

    [Fact]
    public void OpeningAStoreOfAnotherSchemaVersionFails()
    {
        using var dir = new TempDir();
        string path = dir.File("p.db");
        using (SqliteProfileStore store = SqliteProfileStore.Open(path)) Write(store, RandomProfiles(2, 1), Meta());
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE meta SET value = '99' WHERE key = 'schema_version'";
            cmd.ExecuteNonQuery();
        }
        Assert.Throws<IOException>(() => SqliteProfileStore.Open(path));
    }

    private static void Write(SqliteProfileStore store, List<UserProfile> profiles, ProfileRunMetadata meta)
    {
        using IProfileReplaceSession session = store.BeginReplaceAll();
        foreach (UserProfile p in profiles.OrderBy(p => p.UserId, StringComparer.Ordinal)) session.Write(p);
        session.Commit(meta);
    }
}
