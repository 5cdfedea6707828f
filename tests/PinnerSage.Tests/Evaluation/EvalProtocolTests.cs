using FsCheck;
using FsCheck.Fluent;
using PinnerSage.Evaluation;
using PinnerSage.IO;
using PinnerSage.Numerics;
using PinnerSage.Profiles;

namespace PinnerSage.Tests.Evaluation;

/// <summary>The splits on worked examples, their invariants on random data, and the end-to-end guarantee that no
/// test action ever reaches a profile (a sentinel item).</summary>
public sealed class EvalProtocolTests
{
    private const long Day = 86_400;
    private const long T0 = 18_500 * Day; // a UTC midnight

    private static EvalActions Table(params (string User, long Day, int Row)[] actions)
    {
        string[] users = actions.Select(a => a.User).Distinct().ToArray();
        return EvalActions.Build(users, actions.Select(a => Array.IndexOf(users, a.User)).ToArray(),
                                 actions.Select(a => T0 + a.Day * Day).ToArray(), actions.Select(a => a.Row).ToArray());
    }

    [Fact]
    public void WalkForwardWorkedExample()
    {
        // User a acts on days 0, 1, 1, 5, 100 (file order shuffled); walk from day 1 in 1-day steps, 90-day window.
        EvalActions t = Table(("a", 5, 3), ("a", 1, 2), ("a", 0, 0), ("a", 100, 4), ("a", 1, 1));
        List<EvalInstance> points = EvalSplit.WalkForward(t, T0 + Day, 1, 90, requireEmbeddedTest: false);
        // Day 1: test = the two day-1 actions, history = day 0. Day 5: test = day 5, history = days 0–1.
        // Day 100: the window (day 10, day 100) holds no history → no point.
        Assert.Equal([new EvalInstance(0, 0, 1, 3, T0 + Day), new EvalInstance(0, 0, 3, 4, T0 + 5 * Day)], points);
        Assert.Equal([0, 1, 2, 3, 4], t.Rows); // sorted by (time, row)

        // 7-day steps: days 1 and 5 share the step [day 1, day 8): one point.
        Assert.Equal([new EvalInstance(0, 0, 1, 4, T0 + Day)], EvalSplit.WalkForward(t, T0 + Day, 7, 90, false));
        // A 4-day window at day 5 starts after day 1 → history empty → only the day-1 point.
        Assert.Single(EvalSplit.WalkForward(t, T0 + Day, 1, 3.5, false));
    }

    [Fact]
    public void LeaveLastOutWorkedExampleWithTies()
    {
        EvalActions t = Table(("a", 0, 0), ("a", 1, 1), ("a", 1, 2), ("a", 2, 3),
                              ("b", 3, 0), ("b", 3, 1),
                              ("c", 1, 5), ("c", 2, 6), ("c", 2, 7),
                              ("d", 1, -1), ("d", 2, 1));
        List<EvalInstance> points = EvalSplit.LeaveLastOut(t, 1, 90, false);
        // a: test = day 2, history days 0–1. b: both at day 3 → the tie is all test, no history → none.
        // c: the last action ties with the one before → both are test, history = day 1. d: history has no vector → none.
        Assert.Equal([new EvalInstance(0, 0, 3, 4, T0 + 2 * Day), new EvalInstance(2, 6, 7, 9, T0 + 2 * Day)], points);
        // Leave-last-2-out for a: now = day 1 → test = days 1, 1, 2, history = day 0.
        Assert.Equal(new EvalInstance(0, 0, 1, 4, T0 + Day), EvalSplit.LeaveLastOut(t, 2, 90, false)[0]);
        // Drop policy: a test range without any vector is not a point.
        EvalActions u = Table(("e", 0, 1), ("e", 1, -1));
        Assert.Single(EvalSplit.LeaveLastOut(u, 1, 90, false));
        Assert.Empty(EvalSplit.LeaveLastOut(u, 1, 90, true));
    }

    [Fact]
    public void TestPeriodStartsAtTheQuantileFlooredToMidnight()
    {
        EvalActions t = Table([.. Enumerable.Range(0, 10).Select(i => ("a", (long)i, i))]);
        // 10 actions on days 0…9; the 0.8 quantile is the 9th → day 8 (plus 0 s) exactly.
        Assert.Equal(T0 + 8 * Day, EvalSplit.TestPeriodStart(t, 0.2));
    }

    /// <summary>On random data, every point's history is inside the window strictly before now and every test action
    /// is at or after now (inside the step for the walk), the ranges are adjacent and disjoint, and the history has a
    /// vector.</summary>
    [Fact]
    public void SplitsNeverPutATestActionInTheHistory()
    {
        Gen<(int Seed, int Users, double Step, double Window, int LeaveOut)> cases =
            from seed in Gen.Choose(0, int.MaxValue)
            from users in Gen.Choose(1, 12)
            from step in Gen.Elements(0.5, 1.0, 3.0, 7.0)
            from window in Gen.Elements(1.0, 5.0, 30.0, 90.0)
            from leaveOut in Gen.Choose(1, 4)
            select (seed, users, step, window, leaveOut);
        Prop.ForAll(Arb.From(cases), c =>
        {
            EvalActions t = RandomTable(c.Seed, c.Users);
            long from = EvalSplit.TestPeriodStart(t, 0.3);
            long stepSeconds = (long)Math.Round(c.Step * Day), windowSeconds = (long)Math.Round(c.Window * Day);
            foreach ((List<EvalInstance> points, bool walk) in new[]
                     {
                         (EvalSplit.WalkForward(t, from, c.Step, c.Window, false), true),
                         (EvalSplit.LeaveLastOut(t, c.LeaveOut, c.Window, false), false),
                     })
            {
                foreach (EvalInstance x in points)
                {
                    Assert.InRange(x.HistoryStart, t.Offsets[x.User], x.TestStart - 1);
                    Assert.InRange(x.TestEnd, x.TestStart + 1, t.Offsets[x.User + 1]);
                    for (int i = x.HistoryStart; i < x.TestStart; i++)
                        Assert.True(t.Times[i] < x.Now && t.Times[i] > x.Now - windowSeconds);
                    for (int i = x.TestStart; i < x.TestEnd; i++)
                        Assert.True(t.Times[i] >= x.Now && (!walk || t.Times[i] < x.Now + stepSeconds));
                    Assert.Contains(t.Rows[x.HistoryStart..x.TestStart], r => r >= 0);
                    // Maximal: the action just before the history is outside the window.
                    if (x.HistoryStart > t.Offsets[x.User]) Assert.True(t.Times[x.HistoryStart - 1] <= x.Now - windowSeconds);
                }
                if (walk)
                {
                    // Every step's test actions appear in at most one point, and points move forward in time.
                    foreach (var g in points.GroupBy(p => p.User))
                        Assert.True(g.Zip(g.Skip(1)).All(p => p.First.TestEnd <= p.Second.TestStart && p.First.Now < p.Second.Now));
                }
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }

    private static EvalActions RandomTable(int seed, int users)
    {
        var rng = new SplitMix64((ulong)seed);
        var user = new List<int>();
        var time = new List<long>();
        var row = new List<int>();
        for (int u = 0; u < users; u++)
        {
            int n = (int)(rng.Next() % 25);
            for (int i = 0; i < n; i++)
            {
                user.Add(u);
                // Coarse times so that ties happen often.
                time.Add(T0 + (long)(rng.Next() % 40) * Day / 2 + (long)(rng.Next() % 3) * 3600);
                row.Add((int)(rng.Next() % 10) - 1);
            }
        }
        return EvalActions.Build([.. Enumerable.Range(0, users).Select(u => $"u{u}")], [.. user], [.. time], [.. row]);
    }

    /// <summary>A world where every user's test actions are on a sentinel item orthogonal to the whole catalogue
    /// (which lies in the positive orthant of the first d − 1 dimensions). If any method ever put a test action in a
    /// profile, the sentinel would be a query or part of one and would be retrieved; since none does, every retrieval
    /// metric of every method is exactly 0. Both protocols, many random worlds.</summary>
    [Fact]
    public void NoProfileEverContainsATestAction()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            (EvalActions actions, ItemEmbeddings items) = SentinelWorld(seed);
            foreach (EvalProtocol protocol in new[] { EvalProtocol.WalkForward, EvalProtocol.LeaveLastOut })
            {
                var options = new OfflineEvalOptions
                {
                    Protocol = protocol, TestFrom = T0 + 50 * Day, BootstrapResamples = 10, CurveMaxEmbeddings = 4,
                    Threads = 1, Seed = (ulong)seed, Alpha = 0.5,
                };
                OfflineEvalResult result = OfflineEvaluation.Run(actions, items, options, "sentinel", "test");
                Assert.Equal(12, result.Report.Users);
                foreach (string method in EvalMethods.Names)
                {
                    foreach (string metric in new[] { "relevance", "recall", "r-precision", "recall@10", "recall@50", "ndcg@10" })
                        Assert.True(result.Report.Results[method][metric].Value == 0, $"{protocol} {method} {metric}");
                }
                Assert.All(result.Report.ByEmbeddingCount, p => Assert.Equal(0, p.Relevance.Value));
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(15));
    }

    /// <summary>The whole pipeline on a world small enough to score by hand: per-user shares, then the mean over users.</summary>
    [Fact]
    public void EndToEndWorkedExample()
    {
        // Items at 0°, 10°, 90°, 180° in 2-D. User a: history item 0, test item 1. User b: history item 2, test items
        // 2 and 3 (same second, so both are held out). K = 1: each user's candidate is its last item itself.
        float[] data = [1, 0, (float)Math.Cos(Math.PI / 18), (float)Math.Sin(Math.PI / 18), 0, 1, -1, 0];
        ItemEmbeddings items = ItemEmbeddings.FromArray(["i0", "i1", "i2", "i3"], data, 2);
        EvalActions actions = EvalActions.Build(["a", "b"], [0, 0, 1, 1, 1], [T0, T0 + Day, T0, T0 + Day, T0 + Day], [0, 1, 2, 2, 3]);
        var options = new OfflineEvalOptions
        {
            Protocol = EvalProtocol.LeaveLastOut, Candidates = 1, Methods = ["last-item"], CurveMaxEmbeddings = 0,
            BootstrapResamples = 10, Threads = 1,
        };
        IReadOnlyDictionary<string, MetricEstimate> r = OfflineEvaluation.Run(actions, items, options, "tiny", "test").Report.Results["last-item"];
        // Relevance: a 1 (cos 10° = 0.985 ≥ 0.8), b 1/2 (item 2 itself; item 3 at cos 0) → 0.75.
        Assert.Equal(0.75, r["relevance"].Value, 12);
        // Recall: a 0 (its candidate is item 0), b 1/2 → 0.25.
        Assert.Equal(0.25, r["recall"].Value, 12);
        // Whole catalogue: a ranks 0, 1, 2, 3 → its one relevant item at position 2: recall@10 1, NDCG 1/log2(3).
        // b ranks 2 (1), 1 (cos 80°), 0 and 3 (cos 0, tie by row) → relevant at 1 and 4: NDCG (1 + 1/log2 5)/(1 + 1/log2 3).
        Assert.Equal(1.0, r["recall@10"].Value, 12);
        double ndcgB = (1 + 1 / Math.Log2(5)) / (1 + 1 / Math.Log2(3));
        Assert.Equal((1 / Math.Log2(3) + ndcgB) / 2, r["ndcg@10"].Value, 6);
        // Coverage: candidates {0, 2} of 4 items.
        Assert.Equal(0.5, r["coverage"].Value, 12);
    }

    /// <summary>Every test action re-engages the user's latest history item: the last-item baseline finds it (it is
    /// its own first neighbour) unless history items are excluded, in which case no method can.</summary>
    [Fact]
    public void ExcludeHistoryRemovesTheUsersOwnItems()
    {
        (EvalActions world, ItemEmbeddings items) = SentinelWorld(3);
        int n = items.Count - 1;
        int[] rows = (int[])world.Rows.Clone();
        for (int u = 0; u < world.UserIds.Count; u++)
        {
            int end = world.Offsets[u + 1], last = end - 1;
            while (rows[last] == n) last--;
            for (int i = last + 1; i < end; i++) rows[i] = rows[last];
        }
        int[] user = [.. Enumerable.Range(0, world.UserIds.Count).SelectMany(u => Enumerable.Repeat(u, world.Offsets[u + 1] - world.Offsets[u]))];
        EvalActions actions = EvalActions.Build([.. world.UserIds], user, world.Times, rows);
        var options = new OfflineEvalOptions
        {
            Protocol = EvalProtocol.LeaveLastOut, BootstrapResamples = 10, CurveMaxEmbeddings = 0, Threads = 1, Alpha = 0.5,
            Methods = ["last-item", "pinnersage"],
        };
        OfflineEvalResult kept = OfflineEvaluation.Run(actions, items, options, "re-engage", "test");
        Assert.Equal(1.0, kept.Report.Results["last-item"]["recall"].Value);
        Assert.Equal(1.0, kept.Report.Results["last-item"]["recall@10"].Value);
        OfflineEvalResult excluded = OfflineEvaluation.Run(actions, items, options with { ExcludeHistory = true }, "re-engage", "test");
        foreach (string method in new[] { "last-item", "pinnersage" })
        {
            Assert.Equal(0.0, excluded.Report.Results[method]["recall"].Value);
            Assert.Equal(0.0, excluded.Report.Results[method]["recall@50"].Value);
        }
    }

    internal static (EvalActions, ItemEmbeddings) SentinelWorld(int seed)
    {
        const int n = 500, d = 9;
        var rng = new SplitMix64((ulong)seed);
        var data = new float[(n + 1) * d];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < d - 1; k++) data[i * d + k] = (float)rng.NextDoubleNonZero();
        }
        data[n * d + d - 1] = 1; // the sentinel, orthogonal to every item
        var ids = Enumerable.Range(0, n + 1).Select(i => $"i{i}").ToArray();
        ItemEmbeddings items = ItemEmbeddings.FromArray(ids, data, d);
        var user = new List<int>();
        var time = new List<long>();
        var row = new List<int>();
        for (int u = 0; u < 12; u++)
        {
            int history = 1 + (int)(rng.Next() % 30);
            for (int i = 0; i < history; i++)
            {
                user.Add(u);
                time.Add(T0 + (long)(rng.Next() % (49 * Day)));
                row.Add((int)(rng.Next() % n));
            }
            int tests = 1 + (int)(rng.Next() % 3);
            long at = T0 + 50 * Day + (long)(rng.Next() % 3600);
            for (int i = 0; i < tests; i++)
            {
                user.Add(u);
                time.Add(at);
                row.Add(n);
            }
        }
        return (EvalActions.Build([.. Enumerable.Range(0, 12).Select(u => $"u{u}")], [.. user], [.. time], [.. row]), items);
    }

    /// <summary>The PinnerSage method's clusters are UserProfileBuilder's: same medoids, same importance.</summary>
    [Fact]
    public void PinnerSageClustersMatchTheProfileBuilder()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            (EvalActions actions, ItemEmbeddings items) = SentinelWorld(seed);
            float[] unit = VectorNorms.NormalizeRows(items.Matrix, items.Count, items.Dimension);
            var history = new UserHistory(unit, items.Dimension, 0.3, keepSingletons: true);
            var builder = new UserProfileBuilder(items, new ProfileOptions { Alpha = 0.3, KeepSingletons = true, WindowDays = 1000 });
            for (int u = 0; u < actions.UserIds.Count; u++)
            {
                int start = actions.Offsets[u], end = actions.Offsets[u + 1] - 1; // leave the sentinel out
                while (actions.Rows[end - 1] == items.Count - 1) end--;
                long now = T0 + 50 * Day;
                int[] rows = actions.Rows[start..end];
                long[] times = actions.Times[start..end];
                history.Reset(rows, times, now, 1);
                ClusterResult c = history.Clusters(UserClustering.Ward);
                double[] importance = history.Importance(c, 0.01).ToArray();
                var ours = Enumerable.Range(0, c.Count)
                                     .Select(k => (Medoid: items.Id(history.DistinctRow(c.Medoids[k])), Importance: importance[k]))
                                     .OrderBy(x => x.Medoid, StringComparer.Ordinal).ToList();
                UserProfile p = builder.Build("u", rows, times, [.. rows.Select(_ => 1.0)], now, out _);
                var theirs = p.Clusters.Select(x => (x.Medoid, x.Importance)).OrderBy(x => x.Medoid, StringComparer.Ordinal).ToList();
                Assert.Equal(theirs.Count, ours.Count);
                for (int k = 0; k < ours.Count; k++)
                {
                    Assert.Equal(theirs[k].Medoid, ours[k].Medoid);
                    Assert.Equal(theirs[k].Importance, ours[k].Importance, 9);
                }
            }
        }
    }
}
