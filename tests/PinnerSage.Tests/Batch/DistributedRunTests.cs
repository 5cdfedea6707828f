using System.Text;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests.Cli;
using PinnerSage.Tests.Profiles;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Batch;

/// <summary>A distributed run (issue 16): plan, the streaming mapper on shards of users, load — against
/// <c>profiles build</c> on the same input and store (the reference), in the library and through the Dask driver.</summary>
public sealed class DistributedRunTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static readonly ProfilePipelineOptions Options = new()
    {
        Profile = new ProfileOptions { ActionWeights = ProfileOptions.ParseActionWeights("save=2") },
        AutoAlphaScale = 0.15,
        AutoLambda = true,
        Batch = new BatchOptions { Threads = 2, UsersPerBatch = 8 },
    };

    /// <summary>A world, its actions file, and online events: some for file users, two online-only users (one sorting
    /// first, one with a non-BMP id sorting last), one on an unknown item.</summary>
    private (TestWorld World, string Actions, List<ActionEvent> Events) World(int seed)
    {
        TestWorld world = TestWorld.Create(users: 120, seed: seed);
        var rng = new Random(seed);
        var file = new List<TestAction>();
        var events = new List<ActionEvent>();
        foreach (TestAction a in world.Actions)
        {
            if (rng.NextDouble() < 0.08) events.Add(new ActionEvent(a.User, a.Item, a.Action, a.Time));
            else file.Add(a);
        }
        long t = world.Actions.Max(a => a.Time);
        string item = world.Actions[0].Item;
        events.Add(new ActionEvent("!first", item, "click", t - 100));
        events.Add(new ActionEvent("\U0001F600last", item, "save", t - 50));
        events.Add(new ActionEvent("!first", "no-such-item", "click", t - 10));
        string actions = _dir.File($"actions-{seed}.tsv");
        File.WriteAllText(actions, TestWorld.Tsv(file.OrderBy(_ => rng.Next())));
        return (world, actions, events);
    }

    /// <summary>The reference: profiles build into a store holding <paramref name="events"/>, with a JSON-lines export.</summary>
    private (string Jsonl, SqliteProfileStore Store) Build(TestWorld world, string actions, List<ActionEvent> events, string name)
    {
        SqliteProfileStore store = SqliteProfileStore.Open(_dir.File(name + ".db"));
        store.AppendEvents(events);
        string jsonl = _dir.File(name + ".jsonl");
        using (var export = new JsonLinesProfileWriter(jsonl))
            new ProfilePipeline(world.Items, Options).RunIntoStore(ActionSource.File(actions), store, export);
        return (jsonl, store);
    }

    /// <summary>What an engine does between plan and load: shuffle the lines by a hash of the user, sort each shard by
    /// user id, run the grouped mapper with the plan's values on each.</summary>
    private List<string> MapShards(TestWorld world, string actions, string eventsTsv, ProfileRunPlan plan, int shards)
    {
        string[] lines = [.. File.ReadLines(actions).Skip(1), .. File.ReadLines(eventsTsv)];
        var parts = new List<string>();
        for (int s = 0; s < shards; s++)
        {
            string[] shard = [.. lines.Where(l => (int)(ProfileBatchJob.Hash(l.AsSpan(0, l.IndexOf('\t'))) % (ulong)shards) == s)
                                      .OrderBy(l => l[..l.IndexOf('\t')], Utf8Order.Instance)];
            ProfileOptions options = Options.Profile with { Now = plan.Now, Alpha = plan.Alpha, DecayLambda = plan.Lambda };
            var job = new ProfileBatchJob(world.Items, options, Options.Batch with { HasHeader = false, InputMode = BatchInputMode.Grouped });
            string part = _dir.File($"part-{s}.jsonl");
            using var writer = new JsonLinesProfileWriter(part);
            job.Run(new StringReader(string.Join("\n", shard) + (shard.Length > 0 ? "\n" : "")), part, [writer]);
            writer.Commit();
            parts.Add(part);
        }
        return parts;
    }

    private static void AssertSameStores(SqliteProfileStore expected, SqliteProfileStore actual)
    {
        ProfileRunMetadata e = expected.GetMetadata()!, a = actual.GetMetadata()!;
        Assert.Equal((e.Now, e.OptionsJson, e.Users, e.ConsumedEventSequence), (a.Now, a.OptionsJson, a.Users, a.ConsumedEventSequence));
        IReadOnlyList<string> users = expected.ListUsers(null, null, int.MaxValue);
        Assert.Equal(users, actual.ListUsers(null, null, int.MaxValue));
        // ListUsers also names users known only from the event log; a user has a profile in both stores or in neither.
        foreach (string u in users)
            Assert.Equal(expected.Get(u) is { } p ? ProfileJson.ToLine(p) : null, actual.Get(u) is { } q ? ProfileJson.ToLine(q) : null);
        Assert.Equal(expected.CountUsers(), actual.CountUsers());
        Assert.Equal(expected.LastEventSequence(), actual.LastEventSequence());
    }

    [Fact]
    public void PlanMapLoadEqualsTheBatchRunByteForByte()
    {
        (TestWorld world, string actions, List<ActionEvent> events) = World(21);
        (string expectedJsonl, SqliteProfileStore built) = Build(world, actions, events, "reference");
        using SqliteProfileStore reference = built;

        using SqliteProfileStore store = SqliteProfileStore.Open(_dir.File("distributed.db"));
        store.AppendEvents(events);
        string eventsTsv = _dir.File("events.tsv");
        ProfileRunPlan plan;
        using (var writer = new StreamWriter(eventsTsv, false, new UTF8Encoding(false)))
            plan = new ProfilePipeline(world.Items, Options).Plan(ActionSource.File(actions), store, writer);
        // Only the usable events travel (the unknown item does not), and the plan survives its JSON form.
        Assert.Equal(events.Count(e => world.Items.TryGetRow(e.ItemId, out _)), plan.EventsExported);
        Assert.Equal(plan.EventsExported, File.ReadLines(eventsTsv).Count());
        File.WriteAllText(_dir.File("plan.json"), plan.ToJson());
        Assert.Equal(plan, ProfileRunPlan.Load(_dir.File("plan.json")));

        List<string> parts = MapShards(world, actions, eventsTsv, plan, shards: 3);
        string jsonl = _dir.File("loaded.jsonl");
        using (var export = new JsonLinesProfileWriter(jsonl))
            Assert.Equal(reference.CountUsers(), ProfileLoad.Run(parts, store, plan, allowShrink: false, export));

        Assert.Equal(File.ReadAllBytes(expectedJsonl), File.ReadAllBytes(jsonl));
        AssertSameStores(reference, store);
    }

    [Fact]
    public void ABadLoadCommitsNothingAndNamesTheFileAndLine()
    {
        (TestWorld world, string actions, List<ActionEvent> events) = World(22);
        (string jsonl, SqliteProfileStore built) = Build(world, actions, events, "store");
        using SqliteProfileStore store = built;
        ProfileRunMetadata before = store.GetMetadata()!;
        string[] lines = File.ReadAllLines(jsonl);
        var plan = new ProfileRunPlan(before.Now + 1, 1, 0.1, before.ConsumedEventSequence, 0, "{\"alpha\": 1}");
        string Part(string name, IEnumerable<string> content)
        {
            File.WriteAllLines(_dir.File(name), content);
            return _dir.File(name);
        }

        // Out of order within a part: the file, the line and the field.
        var order = Assert.Throws<DataFormatException>(() => ProfileLoad.Run([Part("desc.jsonl", lines.Reverse().Take(3))], store, plan, false));
        Assert.Equal((_dir.File("desc.jsonl"), 2L, "user_id"), (order.File, order.Line, order.Field));
        // A user in two parts.
        var twice = Assert.Throws<DataFormatException>(() => ProfileLoad.Run([Part("a.jsonl", lines), Part("b.jsonl", lines.Take(1))], store, plan, false));
        Assert.Contains("also in another part", twice.Message);
        // A line that is not a profile.
        var bad = Assert.Throws<DataFormatException>(() => ProfileLoad.Run([Part("bad.jsonl", [lines[0], lines[1].Replace("\"size\"", "\"sizes\"")])], store, plan, false));
        Assert.Equal(2, bad.Line);
        Assert.Contains("size", bad.Message);
        // Fewer than half the profiles, and a plan of another store's log.
        Assert.Throws<ShrinkRefusedException>(() => ProfileLoad.Run([Part("few.jsonl", lines.Take(lines.Length / 3))], store, plan, false));
        Assert.Throws<InvalidOperationException>(() => ProfileLoad.Run([Part("all.jsonl", lines)], store, plan with { ConsumedEventSequence = before.ConsumedEventSequence + 99 }, false));

        Assert.Equal(before, store.GetMetadata());
        Assert.Equal(lines.Length, store.CountUsers());
    }

    [Fact]
    public void ProfileLinesRoundTripAndMalformedLinesAreRefused()
    {
        var profile = new UserProfile("u\t\"1\"\U0001F600", [new ProfileCluster("i1", 0.1 + 0.2, 3, ["i1", "i\\2"]), new ProfileCluster("i3", 1e-300, 1, ["i3"])]);
        string line = ProfileJson.ToLine(profile);
        UserProfile back = ProfileJson.Parse(Encoding.UTF8.GetBytes(line));
        Assert.Equal(line, ProfileJson.ToLine(back));
        Assert.Equal(profile.Clusters[0].Importance, back.Clusters[0].Importance);
        foreach (string wrong in new[]
                 {
                     "", "[]", "{\"user_id\": 1, \"clusters\": []}", "{\"clusters\": [], \"user_id\": \"u\"}",
                     "{\"user_id\": \"u\", \"clusters\": [{\"medoid\": \"i\", \"importance\": 1, \"size\": 0, \"members\": []}]}",
                     "{\"user_id\": \"u\", \"clusters\": []} {}", "{\"user_id\": \"u\", \"clusters\": [], \"x\": 1}",
                 })
            Assert.Throws<FormatException>(() => ProfileJson.Parse(Encoding.UTF8.GetBytes(wrong)));
    }

    /// <summary>The Dask driver (scaleout/dask/profiles.py) on a LocalCluster of two worker processes, the built CLI
    /// as its worker; with <paramref name="failMarker"/>, the first attempt of one task kills its worker process (and leaves that file).</summary>
    private (int Exit, string Out, string Err) Dask(string actions, string embeddings, string outDir, string? store, string? failMarker)
    {
        string script = Path.Combine(RepoPaths.FindRepoRoot()!, "scaleout", "dask", "profiles.py");
        List<string> args = [script, "--actions", actions, "--embeddings", embeddings, "--out", outDir, "--workers", "2", "--partitions", "5",
                             "--worker", CliProcess.ShellCommand, "--action-weights", "save=2", "--settings", "default"];
        if (store is not null) args.AddRange(["--store", store]);
        Environment.SetEnvironmentVariable("PINNERSAGE_DASK_FAIL_ONCE", failMarker);
        try
        {
            return CliProcess.Start(TestData.DebianPython, args);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PINNERSAGE_DASK_FAIL_ONCE", null);
        }
    }

    private static byte[] MergedParts(string outDir)
    {
        var lines = new List<(string User, string Line)>();
        foreach (string part in Directory.GetFiles(outDir, "part-*.jsonl"))
            foreach (string line in File.ReadLines(part))
                lines.Add((ProfileJson.Parse(Encoding.UTF8.GetBytes(line)).UserId, line));
        return Encoding.UTF8.GetBytes(string.Concat(lines.OrderBy(l => l.User, Utf8Order.Instance).Select(l => l.Line + "\n")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheDaskDriverEqualsProfilesBuild(bool killOneWorker)
    {
        if (!TestData.RequirePython(output, "dask", "distributed", "pandas")) return;
        (TestWorld world, string actions, List<ActionEvent> events) = World(23);
        string embeddings = _dir.File("items.npy");
        world.Items.Save(embeddings);
        // The reference through the CLI itself, as a user would run it (the settings preset names the defaults).
        using (SqliteProfileStore s = SqliteProfileStore.Open(_dir.File("reference.db"))) s.AppendEvents(events);
        File.Copy(_dir.File("reference.db"), _dir.File("dask.db"));
        var (exit, stdout, stderr) = CliProcess.Run(["profiles", "build", "--actions", actions, "--embeddings", embeddings, "--store", _dir.File("reference.db"),
                                                     "--jsonl-out", _dir.File("reference.jsonl"), "--action-weights", "save=2", "--settings", "default"]);
        Assert.True(exit == 0, stdout + stderr);

        string marker = _dir.File("killed");
        (exit, stdout, stderr) = Dask(actions, embeddings, _dir.File("out"), _dir.File("dask.db"), killOneWorker ? marker : null);
        output.WriteLine(stdout);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Equal(killOneWorker, File.Exists(marker));
        Assert.Equal(File.ReadAllBytes(_dir.File("reference.jsonl")), MergedParts(_dir.File("out")));
        using SqliteProfileStore reference = SqliteProfileStore.Open(_dir.File("reference.db"));
        using SqliteProfileStore dask = SqliteProfileStore.Open(_dir.File("dask.db"));
        AssertSameStores(reference, dask);
    }

    [Fact]
    public async Task TheDaskDriverHandsParquetShardsToTheWorkers()
    {
        if (!TestData.RequirePython(output, "dask", "distributed", "pandas")) return;
        (TestWorld world, string actions, _) = World(24);
        string embeddings = _dir.File("items.npy");
        world.Items.Save(embeddings);
        var (exit, stdout, stderr) = CliProcess.Run(["profiles", "build", "--actions", actions, "--embeddings", embeddings, "--store", _dir.File("reference.db"),
                                                     "--jsonl-out", _dir.File("reference.jsonl"), "--action-weights", "save=2"]);
        Assert.True(exit == 0, stdout + stderr);
        // Three shards bucketed by user (in no particular order inside), as a data lake table bucketed by user id would be.
        List<TestAction> all = [.. File.ReadLines(actions).Skip(1).Select(l => l.Split('\t')).Select(f => new TestAction(f[0], f[1], long.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), f[3]))];
        Directory.CreateDirectory(_dir.File("lake"));
        for (int b = 0; b < 3; b++)
            await ParquetActionSourceTests.WriteParquet(_dir.File($"lake/bucket-{b}.parquet"),
                [.. all.Where(a => ProfileBatchJob.Hash(a.User) % 3 == (ulong)b).Reverse()], rowGroups: 2);

        string script = Path.Combine(RepoPaths.FindRepoRoot()!, "scaleout", "dask", "profiles.py");
        (exit, stdout, stderr) = CliProcess.Start(TestData.DebianPython, [script, "--actions", _dir.File("lake/*.parquet"), "--embeddings", embeddings,
                                                                          "--out", _dir.File("out"), "--workers", "2", "--worker", CliProcess.ShellCommand,
                                                                          "--action-weights", "save=2"]);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Equal(3, Directory.GetFiles(_dir.File("out"), "part-*.jsonl").Length);
        Assert.Equal(File.ReadAllBytes(_dir.File("reference.jsonl")), MergedParts(_dir.File("out")));
    }

    [Fact]
    public void TheBatchCompactsConsumedEventsThatLeftTheWindowAndLaterRunsDoNotChange()
    {
        (TestWorld world, string actions, List<ActionEvent> events) = World(25);
        // Old events, far before any window: consumed by the first run and never usable again.
        long t = world.Actions.Min(a => a.Time) - 400 * 86_400L;
        List<ActionEvent> old = [.. world.Actions.Take(30).Select((a, i) => new ActionEvent(a.User, a.Item, a.Action, t + i))];
        using SqliteProfileStore store = SqliteProfileStore.Open(_dir.File("compact.db"));
        store.AppendEvents(old);
        store.AppendEvents(events);
        var first = new ProfileBatchJob(world.Items, Options.Profile, Options.Batch);
        var sink1 = new ProfileBatchJobTests.MemorySink();
        BatchSummary one = first.RunIntoStore(actions, store, s => new ProfileRunMetadata(0, s.Now, DateTimeOffset.UnixEpoch, "{}", s.UsersWritten, "a"), [sink1]);
        // Exactly the logged events at or before the window's start go (the last appended one stays whatever its age).
        long windowStart = ProfileOptions.WindowStart(one.Now, Options.Profile.WindowDays);
        List<ActionEvent> logged = [.. old, .. events];
        int gone = logged.SkipLast(1).Count(e => e.Timestamp <= windowStart);
        Assert.True(gone > old.Count);
        Assert.Equal(gone, one.EventsCompacted);
        Assert.Equal(logged.Count - gone, store.ReadEvents(0, long.MaxValue).Count());
        // The second run over the same input reads a shorter log and writes the same profiles.
        var sink2 = new ProfileBatchJobTests.MemorySink();
        BatchSummary two = first.RunIntoStore(actions, store, s => new ProfileRunMetadata(0, s.Now, DateTimeOffset.UnixEpoch, "{}", s.UsersWritten, "a"), [sink2]);
        Assert.Equal(sink1.Text, sink2.Text);
        Assert.Equal(logged.Count - gone, two.LoggedEventsRead);
        Assert.Equal(0, two.EventsCompacted);
    }
}
