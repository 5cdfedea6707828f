using PinnerSage.Batch;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests.Cli;
using PinnerSage.Tests.Profiles;
using PinnerSage.Tests.Storage;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Batch;

/// <summary>The batch run consumes the store's event log (notes: STORE-CONTRACT.md, section 2).</summary>
public sealed class EventLogBatchTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly TestPostgres _postgres = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _postgres.Dispose();
        _dir.Dispose();
    }

    private static ProfileRunMetadata Metadata(BatchSummary s) =>
        new(SqliteProfileStore.SchemaVersion, s.Now, DateTimeOffset.UnixEpoch, "{}", s.UsersWritten, "actions.tsv");

    /// <summary>Splits the world's actions: most stay in the file; the rest — some actions of file users, every action
    /// of users who appear only online (one sorting before every file user, one after), and one unknown item — are
    /// logged events.</summary>
    private static (List<TestAction> File, List<ActionEvent> Events) Split(TestWorld world, int seed)
    {
        var rng = new Random(seed);
        string[] onlineOnly = world.Actions.Select(a => a.User).Distinct().OrderBy(_ => rng.Next()).Take(5).ToArray();
        var file = new List<TestAction>();
        var events = new List<ActionEvent>();
        foreach (TestAction a in world.Actions)
        {
            if (onlineOnly.Contains(a.User) || rng.NextDouble() < 0.1) events.Add(new ActionEvent(a.User, a.Item, a.Action, a.Time));
            else file.Add(a);
        }
        long t = world.Actions.Max(a => a.Time);
        string first = world.Actions[0].Item;
        events.Add(new ActionEvent("!first", first, "click", t - 100));
        events.Add(new ActionEvent("\U0001F600last", first, "save", t - 50));
        events.Add(new ActionEvent("!first", "no-such-item", "click", t - 10));
        return (file, events);
    }

    private static List<TestAction> AsActions(IEnumerable<ActionEvent> events) =>
        events.Select(e => new TestAction(e.UserId, e.ItemId, e.Timestamp, e.Action)).ToList();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LoggedEventsAreFoldedInExactlyAsIfTheyWereLinesOfTheFile(bool sortedFile)
    {
        TestWorld world = TestWorld.Create(users: 150, seed: 11);
        (List<TestAction> file, List<ActionEvent> events) = Split(world, 3);
        var rng = new Random(4);
        IEnumerable<TestAction> fileOrder = sortedFile
            ? file.OrderBy(a => a.User, Utf8Order.Instance)
            : file.OrderBy(_ => rng.Next());
        string actions = _dir.File($"actions-{sortedFile}.tsv");
        File.WriteAllText(actions, TestWorld.Tsv(fileOrder));
        var options = new ProfileOptions { ActionWeights = ProfileOptions.ParseActionWeights("save=2") };
        var batch = new BatchOptions { Threads = 2, UsersPerBatch = 8 };

        // Reference: the same actions, all as lines of one file.
        (string expected, BatchSummary reference) = ProfileBatchJobTests.RunOnFile(world, TestWorld.Tsv([.. file, .. AsActions(events)]), options, batch);

        using SqliteProfileStore store = SqliteProfileStore.Open(_dir.File($"s-{sortedFile}.db"));
        IReadOnlyList<long> sequences = store.AppendEvents(events);
        var sink = new ProfileBatchJobTests.MemorySink();
        BatchSummary summary = new ProfileBatchJob(world.Items, options, batch).RunIntoStore(actions, store, Metadata, [sink]);

        Assert.Equal(expected, sink.Text);
        Assert.Contains("\"user_id\":\"!first\"", sink.Text.Replace(" ", ""));
        Assert.Equal(sortedFile ? InputOrder.Sorted : InputOrder.Unordered, summary.InputOrder);
        Assert.Equal(!sortedFile, summary.SortedInMemory);
        Assert.Equal(events.Count, summary.LoggedEventsRead);
        Assert.Equal(events.Count(e => !world.Items.TryGetRow(e.ItemId, out _)), summary.LoggedEventsSkippedUnknownItem);
        Assert.True(summary.LoggedEventsSkippedUnknownItem >= 1);
        Assert.Equal(sequences[^1], summary.ConsumedEventSequence);
        Assert.Equal((reference.Now, reference.UsersRead, reference.UsersWritten, reference.ActionsUsed),
                     (summary.Now, summary.UsersRead, summary.UsersWritten, summary.ActionsUsed));
        Assert.Equal(sequences[^1], store.GetMetadata()!.ConsumedEventSequence);
        foreach (UserProfile p in sink.Profiles) Assert.Equal(ProfileJson.ToLine(p), ProfileJson.ToLine(store.Get(p.UserId)!));
        foreach (string user in events.Select(e => e.UserId).Distinct()) Assert.Empty(store.GetPendingEvents(user, 20));
    }

    /// <summary>Appends one event the first time a profile is written, i.e. while the run is in progress.</summary>
    private sealed class AppendDuringRun(IProfileStore store, ActionEvent e) : IProfileSink
    {
        public long Sequence { get; private set; }

        public void Write(UserProfile profile)
        {
            if (Sequence == 0) Sequence = store.AppendEvents([e])[0];
        }
    }

    [Fact]
    public void EventsAppendedDuringARunStayPendingUntilTheNextRun()
    {
        TestWorld world = TestWorld.Create(users: 80, seed: 12);
        string actions = _dir.File("actions.tsv");
        File.WriteAllText(actions, TestWorld.Tsv(world.Actions));
        string user = world.Actions[0].User;
        long t = world.Actions.Max(a => a.Time);
        using SqliteProfileStore store = SqliteProfileStore.Open(_dir.File("p.db"));
        using SqliteProfileStore server = SqliteProfileStore.Open(_dir.File("p.db")); // the serving process
        long before = server.AppendEvents([new ActionEvent(user, world.Actions[1].Item, "click", t)])[0];
        var late = new AppendDuringRun(server, new ActionEvent(user, world.Actions[2].Item, "save", t + 1));
        var job = new ProfileBatchJob(world.Items, new ProfileOptions(), new BatchOptions { Threads = 2, UsersPerBatch = 4 });

        BatchSummary first = job.RunIntoStore(actions, store, Metadata, [late]);
        Assert.Equal(before, first.ConsumedEventSequence);
        Assert.True(late.Sequence > before);
        Assert.Equal(before, store.GetMetadata()!.ConsumedEventSequence);
        Assert.Equal([late.Sequence], server.GetPendingEvents(user, 20).Select(e => e.Sequence));

        BatchSummary second = job.RunIntoStore(actions, store, Metadata);
        Assert.Equal(late.Sequence, second.ConsumedEventSequence);
        Assert.Equal(2, second.LoggedEventsRead);
        Assert.Empty(server.GetPendingEvents(user, 20));
    }

    [Fact]
    public void SqliteAndPostgresReceiveIdenticalProfilesFromTheSameRun()
    {
        if (!TestPostgres.Require(output)) return;
        TestWorld world = TestWorld.Create(users: 120, seed: 13);
        (List<TestAction> file, List<ActionEvent> events) = Split(world, 5);
        string actions = _dir.File("actions.tsv");
        File.WriteAllText(actions, TestWorld.Tsv(file));
        var job = new ProfileBatchJob(world.Items, new ProfileOptions(), new BatchOptions { Threads = 2 });
        using IProfileStore sqlite = ProfileStores.Open(_dir.File("p.db"));
        using IProfileStore postgres = ProfileStores.Open(_postgres.NewLocation());
        var summaries = new List<BatchSummary>();
        foreach (IProfileStore store in new[] { sqlite, postgres })
        {
            store.AppendEvents(events.Take(40).ToList());
            store.AppendEvents(events.Skip(40).ToList());
            summaries.Add(job.RunIntoStore(actions, store, Metadata));
        }
        Assert.Equal(summaries[0] with { Elapsed = default, ClustersPerUser = [] }, summaries[1] with { Elapsed = default, ClustersPerUser = [] });
        List<string> users = [.. sqlite.ListUsers(null, null, 1000)];
        Assert.Equal(users, postgres.ListUsers(null, null, 1000));
        Assert.Equal(sqlite.CountUsers(), postgres.CountUsers());
        Assert.True(sqlite.CountUsers() > 100);
        foreach (string u in users)
            Assert.Equal(sqlite.Get(u) is { } p ? ProfileJson.ToLine(p) : null, postgres.Get(u) is { } q ? ProfileJson.ToLine(q) : null);
        Assert.Equal(sqlite.GetMetadata()! with { SchemaVersion = 0 }, postgres.GetMetadata()! with { SchemaVersion = 0 });
    }

    [Fact]
    public void TheCliBuildConsumesTheLogOfAStoreGivenByLocation()
    {
        TestWorld world = TestWorld.Create(users: 60, seed: 14);
        string actions = _dir.File("cli-actions.tsv"), embeddings = _dir.File("items.npy");
        File.WriteAllText(actions, TestWorld.Tsv(world.Actions));
        world.SaveEmbeddings(embeddings);
        var locations = new List<string> { _dir.File("cli.db") };
        if (TestPostgres.ConnectionString is not null) locations.Add(_postgres.NewLocation());
        foreach (string location in locations)
        {
            using (IProfileStore store = ProfileStores.Open(location))
                store.AppendEvents([new ActionEvent("online-only", world.Actions[0].Item, "click", world.Actions.Max(a => a.Time))]);
            (int exit, string stdout, string stderr) = CliProcess.Shell(
                $"{CliProcess.ShellCommand} profiles build --actions {actions} --embeddings {embeddings} --store '{location}' --threads 2");
            output.WriteLine(stdout + stderr);
            Assert.Equal(0, exit);
            Assert.Contains("logged events merged", stdout);
            Assert.DoesNotContain("Password", stdout);
            using IProfileStore reopened = ProfileStores.Open(location);
            Assert.Equal(1, reopened.GetMetadata()!.ConsumedEventSequence);
            Assert.NotNull(reopened.Get("online-only"));
            Assert.Empty(reopened.GetPendingEvents("online-only", 20));
        }
    }
}
