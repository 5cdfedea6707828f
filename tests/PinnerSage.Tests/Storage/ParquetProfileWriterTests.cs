using System.Text;
using Parquet;
using PinnerSage.Batch;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests.Batch;
using PinnerSage.Tests.Profiles;

namespace PinnerSage.Tests.Storage;

/// <summary>Profiles out to Parquet: what is read back is what was written, line for line in the JSON-lines form.</summary>
public sealed class ParquetProfileWriterTests
{
    private static async Task<string> ReadBackAsText(string path)
    {
        var text = new StringBuilder();
        await foreach (UserProfile p in ParquetProfileWriter.ReadAllAsync(path)) text.Append(ProfileJson.ToLine(p)).Append('\n');
        return text.ToString();
    }

    [Fact]
    public async Task Batch_profiles_round_trip_through_parquet_exactly()
    {
        TestWorld world = TestWorld.Create(users: 200, seed: 61);
        var memory = new ProfileBatchJobTests.MemorySink();
        using var dir = new TempDir();
        File.WriteAllText(dir.File("actions.tsv"), TestWorld.Tsv(world.Sorted()));
        using (var parquet = new ParquetProfileWriter(dir.File("profiles.parquet")))
        {
            new ProfileBatchJob(world.Items, new ProfileOptions { KeepSingletons = true }, new BatchOptions())
                .Run(ActionSource.File(dir.File("actions.tsv")), [memory, parquet]);
            Assert.False(File.Exists(dir.File("profiles.parquet"))); // nothing in place before the commit
            parquet.Commit();
            Assert.Equal(memory.Profiles.Count, parquet.Count);
        }
        Assert.True(memory.Profiles.Count > 150);
        Assert.Equal(memory.Text, await ReadBackAsText(dir.File("profiles.parquet")));

        // The columns are the JSON-lines field names, one row per (user, cluster).
        await using FileStream stream = File.OpenRead(dir.File("profiles.parquet"));
        await using ParquetReader reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal(["user_id", "cluster", "medoid", "importance", "size", "members"], reader.Schema.Fields.Select(f => f.Name));
    }

    [Fact]
    public async Task The_pipeline_commits_a_parquet_export_with_the_store_holding_the_stores_profiles()
    {
        TestWorld world = TestWorld.Create(users: 120, seed: 62);
        using var dir = new TempDir();
        var pipeline = new ProfilePipeline(world.Items, new ProfilePipelineOptions());
        File.WriteAllText(dir.File("actions.tsv"), TestWorld.Tsv(world.Sorted()));
        using SqliteProfileStore store = SqliteProfileStore.Open(dir.File("p.db"));
        using (var export = new ParquetProfileWriter(dir.File("p.parquet")))
            await pipeline.RunIntoStoreAsync(ActionSource.File(dir.File("actions.tsv")), store, export);
        var text = new StringBuilder();
        long users = 0;
        await foreach (UserProfile p in ParquetProfileWriter.ReadAllAsync(dir.File("p.parquet")))
        {
            users++;
            Assert.Equal(ProfileJson.ToLine(store.Get(p.UserId)!), ProfileJson.ToLine(p));
        }
        Assert.True(users > 100);
        Assert.Equal(store.CountUsers(), users);
    }

    [Fact]
    public async Task Many_row_groups_and_awkward_ids_round_trip_and_an_uncommitted_export_leaves_nothing()
    {
        var profiles = new List<UserProfile>();
        var random = new Random(5);
        for (int u = 0; u < ParquetProfileWriter.RowsPerGroup / 2 + 100; u++)
        {
            int k = 1 + random.Next(3);
            profiles.Add(new UserProfile($"ü{u}·\"x\"", [.. Enumerable.Range(0, k).Select(c =>
                new ProfileCluster($"i{random.Next(1000)}", random.NextDouble(), 1 + c, [.. Enumerable.Range(0, 1 + c).Select(m => $"i{m},{c}")]))]));
        }
        using var dir = new TempDir();
        File.WriteAllText(dir.File("old.parquet"), "previous");
        using (var abandoned = new ParquetProfileWriter(dir.File("old.parquet")))
            foreach (UserProfile p in profiles.Take(10)) abandoned.Write(p);
        Assert.Equal("previous", File.ReadAllText(dir.File("old.parquet")));
        Assert.Single(Directory.GetFiles(dir.Path));

        using (var writer = new ParquetProfileWriter(dir.File("many.parquet")))
        {
            foreach (UserProfile p in profiles) writer.Write(p);
            writer.Commit();
        }
        await using (FileStream stream = File.OpenRead(dir.File("many.parquet")))
        await using (ParquetReader reader = await ParquetReader.CreateAsync(stream))
            Assert.True(reader.RowGroupCount >= 2, $"{reader.RowGroupCount} row groups");
        Assert.Equal(string.Concat(profiles.Select(p => ProfileJson.ToLine(p) + "\n")), await ReadBackAsText(dir.File("many.parquet")));

        using (var empty = new ParquetProfileWriter(dir.File("empty.parquet"))) empty.Commit();
        Assert.Empty(await ParquetProfileWriter.ReadAllAsync(dir.File("empty.parquet")).ToListAsync());
    }
}
