using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests.Profiles;

namespace PinnerSage.Tests.Batch;

/// <summary>The one batch → store pipeline: every action source gives the same profiles as actions.tsv, and the run
/// metadata has one shape, its schema version filled by the store.</summary>
public sealed class ProfilePipelineTests
{
    private static UserAction ToAction(TestAction a) => new(a.User, a.Item, a.Time, a.Action);

    private static string Run(TestWorld world, IActionSource source, ProfileOptions? options = null)
    {
        var sink = new ProfileBatchJobTests.MemorySink();
        new ProfileBatchJob(world.Items, options ?? new ProfileOptions(), new BatchOptions { UsersPerBatch = 16 }).Run(source, [sink]);
        return sink.Text;
    }

    private static async IAsyncEnumerable<UserAction> Slowly(IEnumerable<TestAction> actions, [EnumeratorCancellation] CancellationToken ct = default)
    {
        int n = 0;
        foreach (TestAction a in actions)
        {
            if (++n % 97 == 0) await Task.Yield(); // some MoveNextAsync calls complete asynchronously
            ct.ThrowIfCancellationRequested();
            yield return ToAction(a);
        }
    }

    [Fact]
    public void MemoryAsyncAndCsvSourcesGiveTheTsvFilesProfilesByteForByte()
    {
        TestWorld world = TestWorld.Create(users: 300, seed: 31);
        var options = new ProfileOptions { ActionWeights = ProfileOptions.ParseActionWeights("save=2"), KeepSingletons = true };
        (string expected, BatchSummary s) = ProfileBatchJobTests.RunOnFile(world, TestWorld.Tsv(world.Shuffled(3)), options);
        Assert.True(s.UsersWritten > 250);

        Assert.Equal(expected, Run(world, ActionSource.FromEnumerable(world.Sorted().Select(ToAction).ToArray()), options));
        Assert.Equal(expected, Run(world, ActionSource.FromEnumerable(world.Shuffled(4).Select(ToAction).ToArray()), options));
        Assert.Equal(expected, Run(world, ActionSource.FromAsyncEnumerable(Slowly(world.Shuffled(5)), "queue"), options));
        Assert.Equal(expected, Run(world, ActionSource.FromAsyncEnumerable(Slowly(world.Sorted()), "queue", canRescan: true), options));

        // CSV with a header naming the columns in another order, and an extra column that is ignored.
        using var dir = new TempDir();
        var csv = new StringBuilder("timestamp,note,action,user_id,item_id\n");
        foreach (TestAction a in world.Shuffled(6))
            csv.Append(CultureInfo.InvariantCulture, $"{a.Time},x,{a.Action},{a.User},{a.Item}\n");
        File.WriteAllText(dir.File("actions.csv"), csv.ToString());
        Assert.Equal(expected, Run(world, ActionSource.File(dir.File("actions.csv")), options));
        Assert.Equal(world.Actions.Count,
            ActionSource.File(dir.File("actions.csv")).ReadAllAsync().ToBlockingEnumerable().Count());
    }

    [Fact]
    public void AMemoryRecordWithABadIdOrTimestampIsADataErrorNamingTheRecord()
    {
        TestWorld world = TestWorld.Create(users: 20, seed: 32);
        UserAction[] actions = [.. world.Sorted().Select(ToAction)];
        actions[7] = actions[7] with { ItemId = "a\tb" };
        var e = Assert.Throws<DataFormatException>(() => Run(world, ActionSource.FromEnumerable(actions, "mine")));
        Assert.Contains("mine", e.Message);
        Assert.Contains("8", e.Message);
        Assert.Contains("item_id", e.Message);

        actions = [.. world.Sorted().Select(ToAction)];
        actions[3] = actions[3] with { Timestamp = -1 };
        e = Assert.Throws<DataFormatException>(() => Run(world, ActionSource.FromEnumerable(actions, "mine")));
        Assert.Contains("timestamp", e.Message);
    }

    [Fact]
    public async Task ThePipelineResolvesAlphaOnceAndRecordsOneMetadataShapeWhoseSchemaVersionTheStoreFills()
    {
        TestWorld world = TestWorld.Create(users: 120, seed: 33);
        using var dir = new TempDir();
        var options = new ProfilePipelineOptions
        {
            Profile = new ProfileOptions { IncludeActions = ProfileOptions.ParseActionList("click,save") },
            AutoAlphaScale = 0.5,
        };
        var pipeline = new ProfilePipeline(world.Items, options);
        Assert.Equal(0.5 * AutoAlpha.Resolve(world.Items, normalizeVectors: true), pipeline.ProfileOptions.Alpha);

        BatchSummary s;
        using (SqliteProfileStore store = SqliteProfileStore.Open(dir.File("p.db")))
        using (var export = new JsonLinesProfileWriter(dir.File("p.jsonl")))
        {
            s = await pipeline.RunIntoStoreAsync(ActionSource.FromEnumerable(world.Actions.Select(ToAction).ToArray(), "in-memory"),
                                                               store, export);
            ProfileRunMetadata meta = store.GetMetadata()!;
            Assert.Equal(SqliteProfileStore.SchemaVersion, meta.SchemaVersion);
            Assert.Equal("in-memory", meta.Source);
            Assert.Equal(s.UsersWritten, store.CountUsers());
            Assert.Equal(ProfilePipeline.OptionsJson(pipeline.ProfileOptions, s.Now, autoAlpha: true), meta.OptionsJson);
            using JsonDocument json = JsonDocument.Parse(meta.OptionsJson);
            Assert.True(json.RootElement.GetProperty("alpha_auto").GetBoolean());
            Assert.Equal(["click", "save"], json.RootElement.GetProperty("actions_include").EnumerateArray().Select(e => e.GetString()));
        }
        // The export was committed with the store and holds the same users.
        Assert.True(s.UsersWritten > 100);
        Assert.Equal(s.UsersWritten, File.ReadLines(dir.File("p.jsonl")).Count());

        Assert.Throws<ArgumentOutOfRangeException>(() => new ProfilePipeline(world.Items, options with { AutoAlphaScale = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProfilePipeline(world.Items, options with { Profile = new ProfileOptions { WindowDays = -1 } }));
    }

    [Fact]
    public void AutomaticLambdaIsChosenOnTheRunsOwnActionsAndTheProfilesAreThoseOfThatFixedLambda()
    {
        TestWorld world = TestWorld.Create(users: 600, seed: 34);
        UserAction[] actions = [.. world.Shuffled(7).Select(ToAction)];
        var profile = new ProfileOptions { DecayLambda = 0.123, KeepSingletons = true };
        var pipeline = new ProfilePipeline(world.Items, new ProfilePipelineOptions { Profile = profile, AutoLambda = true });
        using var dir = new TempDir();
        BatchSummary s;
        using (SqliteProfileStore store = SqliteProfileStore.Open(dir.File("p.db")))
        using (var export = new JsonLinesProfileWriter(dir.File("p.jsonl")))
        {
            s = pipeline.RunIntoStore(ActionSource.FromEnumerable(actions), store, export);
            using JsonDocument json = JsonDocument.Parse(store.GetMetadata()!.OptionsJson);
            Assert.True(json.RootElement.GetProperty("lambda_auto").GetBoolean());
            Assert.Equal(pipeline.ProfileOptions.DecayLambda, json.RootElement.GetProperty("lambda").GetDouble());
        }
        AutoLambdaResult chosen = pipeline.AutoLambdaResult!;
        Assert.True(chosen.Chosen, $"{chosen.Pairs} pairs");
        Assert.Equal(chosen.Lambda, pipeline.ProfileOptions.DecayLambda);

        // The same choice from the whole data in CSR form (users by id, each by time), by AutoLambda directly.
        var users = actions.Where(a => world.Items.TryGetRow(a.ItemId, out _)).GroupBy(a => a.UserId, StringComparer.Ordinal)
                           .OrderBy(g => g.Key, StringComparer.Ordinal).ToArray();
        var offsets = new List<int> { 0 };
        var times = new List<long>();
        var rows = new List<int>();
        foreach (var g in users)
        {
            foreach (UserAction a in g.OrderBy(a => a.Timestamp).ThenBy(a => { world.Items.TryGetRow(a.ItemId, out int r); return r; }))
            {
                world.Items.TryGetRow(a.ItemId, out int row);
                times.Add(a.Timestamp);
                rows.Add(row);
            }
            offsets.Add(times.Count);
        }
        int d = world.Items.Dimension;
        float[] unit = world.Items.Matrix.ToArray();
        for (int i = 0; i < world.Items.Count; i++)
        {
            Span<float> v = unit.AsSpan(i * d, d);
            System.Numerics.Tensors.TensorPrimitives.Divide(v, System.Numerics.Tensors.TensorPrimitives.Norm(v), v);
        }
        AutoLambdaResult direct = AutoLambda.Resolve([.. offsets], [.. times], [.. rows], unit, d, s.Now + 1, profile.WindowDays, 0.123);
        Assert.Equal(direct.Lambda, chosen.Lambda);
        Assert.Equal(direct.Pairs, chosen.Pairs);

        // The profiles are exactly a fixed-λ run's with that λ.
        Assert.Equal(Run(world, ActionSource.FromEnumerable(actions), profile with { DecayLambda = chosen.Lambda }),
                     string.Concat(File.ReadLines(dir.File("p.jsonl")).Select(l => l + "\n")));

        // A source that can be read only once is not read twice: the fallback λ.
        AutoLambdaResult once = ProfilePipeline.ResolveLambda(
            ActionSource.FromAsyncEnumerable(Slowly(world.Sorted()), "queue", canRescan: false), world.Items, profile);
        Assert.False(once.Chosen);
        Assert.Equal(0.123, once.Lambda);
    }
}
