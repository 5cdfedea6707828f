using System.Text;
using FsCheck;
using FsCheck.Fluent;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests.Profiles;

namespace PinnerSage.Tests.Batch;

public sealed class ProfileBatchJobTests
{
    /// <summary>Runs the job over <paramref name="tsv"/> written to a file, returning the JSON lines and the summary.</summary>
    internal static (string Jsonl, BatchSummary Summary) RunOnFile(TestWorld world, string tsv, ProfileOptions? options = null,
                                                                   BatchOptions? batch = null)
    {
        using var dir = new TempDir();
        string path = dir.File("actions.tsv");
        File.WriteAllText(path, tsv);
        var sink = new MemorySink();
        BatchSummary summary = new ProfileBatchJob(world.Items, options ?? new ProfileOptions(), batch ?? new BatchOptions())
            .Run(path, [sink]);
        return (sink.Text, summary);
    }

    internal sealed class MemorySink : IProfileSink
    {
        private readonly StringBuilder _text = new();
        public List<UserProfile> Profiles { get; } = [];
        public string Text => _text.ToString();

        public void Write(UserProfile profile)
        {
            Profiles.Add(profile);
            _text.Append(ProfileJson.ToLine(profile)).Append('\n');
        }
    }

    [Fact]
    public void OutputIsIdenticalForAnyThreadCount()
    {
        TestWorld world = TestWorld.Create(users: 500, seed: 1);
        string tsv = TestWorld.Tsv(world.Sorted());
        (string one, _) = RunOnFile(world, tsv, batch: new BatchOptions { Threads = 1 });
        (string four, BatchSummary s) = RunOnFile(world, tsv, batch: new BatchOptions { Threads = 4, UsersPerBatch = 7 });
        (string three, _) = RunOnFile(world, tsv, batch: new BatchOptions { Threads = 3, UsersPerBatch = 1 });
        Assert.True(s.UsersWritten > 400);
        Assert.Equal(one, four);
        Assert.Equal(one, three);
    }

    [Fact]
    public void SortedShuffledAndGroupedInputsGiveTheSameProfilesInOrdinalUserOrder()
    {
        TestWorld world = TestWorld.Create(users: 300, seed: 2);
        (string sorted, BatchSummary s1) = RunOnFile(world, TestWorld.Tsv(world.Sorted()), batch: new BatchOptions { UsersPerBatch = 16 });
        (string shuffled, BatchSummary s2) = RunOnFile(world, TestWorld.Tsv(world.Shuffled(5)), batch: new BatchOptions { UsersPerBatch = 16 });
        (string grouped, BatchSummary s3) = RunOnFile(world, TestWorld.Tsv(world.GroupedNotSorted(6)), batch: new BatchOptions { UsersPerBatch = 16 });

        Assert.Equal((InputOrder.Sorted, false), (s1.InputOrder, s1.SortedInMemory));
        Assert.Equal((InputOrder.Unordered, true), (s2.InputOrder, s2.SortedInMemory));
        Assert.Equal((InputOrder.Grouped, true), (s3.InputOrder, s3.SortedInMemory));
        Assert.Equal(sorted, shuffled);
        Assert.Equal(sorted, grouped);
        Assert.Equal(s1 with { InputOrder = default, SortedInMemory = default, Elapsed = default, ClustersPerUser = [] },
                     s2 with { InputOrder = default, SortedInMemory = default, Elapsed = default, ClustersPerUser = [] });

        string[] users = sorted.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("user_id").GetString()!).ToArray();
        Assert.Equal(users.Order(Utf8Order.Instance), users);
        Assert.NotEqual(users.Order(StringComparer.Ordinal), users); // the world has ids where the two orders differ
    }

    [Fact]
    public void EveryLineEqualsTheBuilderRunOnThatUsersActionsAlone()
    {
        TestWorld world = TestWorld.Create(users: 250, seed: 21);
        var options = new ProfileOptions { ActionWeights = ProfileOptions.ParseActionWeights("save=2,add_to_cart=3"), KeepSingletons = true };
        (string jsonl, BatchSummary s) = RunOnFile(world, TestWorld.Tsv(world.Shuffled(9)), options,
                                                   new BatchOptions { Threads = 2, UsersPerBatch = 4 });
        var expected = new StringBuilder();
        var builder = new UserProfileBuilder(world.Items, options);
        foreach (IGrouping<string, TestAction> user in world.Actions.GroupBy(a => a.User).OrderBy(g => g.Key, Utf8Order.Instance))
        {
            TestAction[] known = user.Where(a => world.Items.TryGetRow(a.Item, out _)).ToArray();
            int[] rows = known.Select(a => world.Items.TryGetRow(a.Item, out int r) ? r : -1).ToArray();
            double[] w = known.Select(a => a.Action switch { "save" => 2.0, "add_to_cart" => 3.0, _ => 1.0 }).ToArray();
            UserProfile p = builder.Build(user.Key, rows, known.Select(a => a.Time).ToArray(), w, s.Now, out ProfileBuildStats stats);
            if (stats.Clustered > 0) expected.Append(ProfileJson.ToLine(p)).Append('\n');
        }
        Assert.Equal(expected.ToString(), jsonl);
    }

    [Fact]
    public void UserOrderIsUtf8ByteOrder()
    {
        Assert.True(UserIdOrder.Compare("\U0001F600", "\uFF61") > 0); // UTF-16 ordinal says < 0
        Assert.True(UserIdOrder.Compare("a", "ab") < 0);
        Assert.Equal(0, UserIdOrder.Compare("", ""));
        Prop.ForAll<string, string>((a, b) =>
        {
            a ??= "";
            b ??= "";
            if (!IsWellFormed(a) || !IsWellFormed(b)) return true;
            return Math.Sign(UserIdOrder.Compare(a, b)) == Math.Sign(Utf8Order.Instance.Compare(a, b));
        }).QuickCheckThrowOnFailure();
        var rng = new Random(3);
        for (int i = 0; i < 5000; i++)
        {
            string a = RandomId(rng), b = RandomId(rng);
            Assert.Equal(Math.Sign(Utf8Order.Instance.Compare(a, b)), Math.Sign(UserIdOrder.Compare(a, b)));
        }

        static string RandomId(Random rng)
        {
            var sb = new StringBuilder();
            int n = rng.Next(4);
            for (int k = 0; k < n; k++)
            {
                sb.Append(rng.Next(4) switch
                {
                    0 => "a",
                    1 => "\uE000",
                    2 => "\uFFFD",
                    _ => char.ConvertFromUtf32(0x10000 + rng.Next(0x1000)),
                });
            }
            return sb.ToString();
        }

        static bool IsWellFormed(string s)
        {
            for (int i = 0; i < s.Length; i++)
            {
                if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
                else if (char.IsSurrogate(s[i])) return false;
            }
            return true;
        }
    }

    [Fact]
    public void StreamedTextReaderEqualsFile()
    {
        TestWorld world = TestWorld.Create(users: 120, seed: 3);
        string tsv = TestWorld.Tsv(world.Shuffled(1));
        (string file, _) = RunOnFile(world, tsv);
        var sink = new MemorySink();
        BatchSummary s = new ProfileBatchJob(world.Items, new ProfileOptions(), new BatchOptions())
            .Run(new StringReader(tsv), "stdin", [sink]);
        Assert.True(s.SortedInMemory);
        Assert.Equal(file, sink.Text);
    }

    [Fact]
    public void SummaryAccountsForEveryAction()
    {
        TestWorld world = TestWorld.Create(users: 200, seed: 4);
        var options = new ProfileOptions { MaxActions = 10, Now = TestWorld.Start + 100 * 86400L, IncludeActions = new HashSet<string> { "click", "save" } };
        (string jsonl, BatchSummary s) = RunOnFile(world, TestWorld.Tsv(world.Sorted()), options);

        Assert.Equal(world.Actions.Count, s.ActionsRead);
        Assert.Equal(world.Actions.Select(a => a.User).Distinct().Count(), s.UsersRead);
        Assert.Equal(world.Actions.Count(a => a.Action == "add_to_cart"), s.SkippedActionType);
        Assert.Equal(world.Actions.Count(a => a.Action != "add_to_cart" && a.Item.StartsWith("unknown", StringComparison.Ordinal)),
                     s.SkippedUnknownItem);
        Assert.True(s.SkippedAfterNow > 0 && s.SkippedBeforeWindow > 0 && s.SkippedOverMaxActions > 0);
        Assert.Equal(s.ActionsRead, s.SkippedUnknownItem + s.SkippedActionType + s.SkippedAfterNow + s.SkippedBeforeWindow +
                                    s.SkippedOverMaxActions + s.ActionsUsed);
        Assert.Equal(s.UsersRead, s.UsersWritten + s.UsersWithoutActions);
        Assert.Equal(s.UsersWritten, jsonl.Count(c => c == '\n'));
        Assert.Equal(s.UsersWritten, s.ClustersPerUser.Sum());
        Assert.Equal(s.Clusters, s.ClustersPerUser.Select((n, k) => n * k).Sum());
        Assert.Equal(options.Now, s.Now);
    }

    [Fact]
    public void NowDefaultsToTheLatestTimestampInTheInput()
    {
        TestWorld world = TestWorld.Create(users: 50, seed: 7);
        (_, BatchSummary s) = RunOnFile(world, TestWorld.Tsv(world.Shuffled(2)));
        Assert.Equal(world.Actions.Max(a => a.Time), s.Now);
        (_, BatchSummary sorted) = RunOnFile(world, TestWorld.Tsv(world.Sorted()));
        Assert.Equal(s.Now, sorted.Now);
        Assert.Equal(0, s.SkippedAfterNow);
    }

    [Fact]
    public void IncludeFilterEqualsRemovingTheOtherLines()
    {
        TestWorld world = TestWorld.Create(users: 150, seed: 8);
        long now = TestWorld.Start + 130 * 86400L;
        (string filtered, _) = RunOnFile(world, TestWorld.Tsv(world.Sorted()),
            new ProfileOptions { Now = now, IncludeActions = new HashSet<string> { "click" } });
        (string removed, _) = RunOnFile(world, TestWorld.Tsv(world.Sorted().Where(a => a.Action == "click")), new ProfileOptions { Now = now });
        Assert.Equal(removed, filtered);
    }

    [Fact]
    public void ActionWeightsApplyPerType()
    {
        TestWorld world = TestWorld.Create(users: 1, seed: 9);
        long now = TestWorld.Start;
        string tsv = "user_id\titem_id\ttimestamp\taction\n" +
                     $"u\tt0-i00\t{now}\tclick\nu\tt0-i01\t{now}\tsave\nu\tt0-i02\t{now - 86400}\tcheckout\n";
        var sink = new MemorySink();
        new ProfileBatchJob(world.Items, new ProfileOptions { Now = now, ActionWeights = ProfileOptions.ParseActionWeights("save=2,checkout=4") },
                            new BatchOptions()).Run(new StringReader(tsv), "t", [sink]);
        ProfileCluster c = Assert.Single(Assert.Single(sink.Profiles).Clusters);
        Assert.Equal(1 + 2 + 4 * Math.Exp(-0.01), c.Importance, 12);
        Assert.Equal(3, c.Size);
    }

    [Fact]
    public void UnknownItemsAreCountedOrRejectedWithStrict()
    {
        TestWorld world = TestWorld.Create(users: 80, seed: 10, unknownRate: 0.1);
        string tsv = TestWorld.Tsv(world.Sorted());
        (_, BatchSummary s) = RunOnFile(world, tsv);
        Assert.Equal(world.UnknownItemActions, s.SkippedUnknownItem);
        Assert.True(s.SkippedUnknownItem > 0);

        string[] lines = tsv.Split('\n');
        int firstUnknown = Array.FindIndex(lines, l => l.Contains("\tunknown-", StringComparison.Ordinal)) + 1;
        var e = Assert.Throws<DataFormatException>(() => RunOnFile(world, tsv, batch: new BatchOptions { Strict = true }));
        Assert.Equal(firstUnknown, e.Line);
        Assert.Equal("item_id", e.Field);
        Assert.Contains("unknown item id", e.Message);
    }

    [Fact]
    public void GroupedModeStreamsInInputOrderAndRejectsARepeatedUser()
    {
        TestWorld world = TestWorld.Create(users: 100, seed: 11);
        long now = TestWorld.Start + 120 * 86400L;
        string grouped = TestWorld.Tsv(world.GroupedNotSorted(3), header: false);
        var sink = new MemorySink();
        BatchSummary s = new ProfileBatchJob(world.Items, new ProfileOptions { Now = now },
                new BatchOptions { InputMode = BatchInputMode.Grouped, HasHeader = false, UsersPerBatch = 5 })
            .Run(new StringReader(grouped), "stdin", [sink]);
        Assert.False(s.SortedInMemory);
        (string batch, _) = RunOnFile(world, TestWorld.Tsv(world.Sorted()), new ProfileOptions { Now = now });
        // Same lines, different order: the mapper keeps input order (reverse ordinal here).
        Assert.Equal(batch.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal),
                     sink.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)); // as sets
        Assert.NotEqual(batch, sink.Text);

        string broken = "a\tt0-i00\t1700000000\tclick\nb\tt0-i01\t1700000000\tclick\na\tt0-i02\t1700000000\tclick\n";
        var e = Assert.Throws<DataFormatException>(() => new ProfileBatchJob(world.Items, new ProfileOptions { Now = now },
                new BatchOptions { InputMode = BatchInputMode.Grouped, HasHeader = false })
            .Run(new StringReader(broken), "stdin", [new MemorySink()]));
        Assert.Equal(3, e.Line);
        Assert.Equal("user_id", e.Field);

        Assert.Throws<ArgumentException>(() => new ProfileBatchJob(world.Items, new ProfileOptions(),
                new BatchOptions { InputMode = BatchInputMode.Grouped }).Run(new StringReader(grouped), "stdin", [new MemorySink()]));
    }

    [Fact]
    public void BadLineFailsTheRunWithFileLineAndField()
    {
        TestWorld world = TestWorld.Create(users: 400, seed: 12);
        var lines = TestWorld.Tsv(world.Sorted()).Split('\n').ToList();
        lines[3000] = "someone\tt0-i00\tnot-a-time\tclick";
        var e = Assert.Throws<DataFormatException>(() => RunOnFile(world, string.Join('\n', lines)));
        Assert.Equal(3001, e.Line);
        Assert.Equal("timestamp", e.Field);
    }

    [Fact]
    public void AFailingSinkStopsTheRunWithoutHanging()
    {
        TestWorld world = TestWorld.Create(users: 300, seed: 13);
        using var dir = new TempDir();
        string path = dir.File("a.tsv");
        File.WriteAllText(path, TestWorld.Tsv(world.Sorted()));
        var job = new ProfileBatchJob(world.Items, new ProfileOptions(), new BatchOptions { Threads = 2, UsersPerBatch = 3 });
        Assert.Throws<InvalidOperationException>(() => job.Run(path, [new FailingSink(after: 50)]));
    }

    [Fact]
    public void ProgressIsReportedAndEndsWithEveryUser()
    {
        TestWorld world = TestWorld.Create(users: 100, seed: 14);
        using var dir = new TempDir();
        string path = dir.File("a.tsv");
        File.WriteAllText(path, TestWorld.Tsv(world.Sorted()));
        var reports = new List<BatchProgress>();
        BatchSummary s = new ProfileBatchJob(world.Items, new ProfileOptions(), new BatchOptions())
            .Run(path, [], new SyncProgress(reports.Add));
        BatchProgress last = reports[^1];
        Assert.Equal("build", last.Phase);
        Assert.Equal(s.UsersRead, last.Users);
        Assert.Equal(s.UsersRead, last.TotalUsers);
    }

    private sealed class FailingSink(int after) : IProfileSink
    {
        private int _n;
        public void Write(UserProfile profile)
        {
            if (++_n > after) throw new InvalidOperationException("sink failed");
        }
    }

    private sealed class SyncProgress(Action<BatchProgress> report) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value) => report(value);
    }
}
