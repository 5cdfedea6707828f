using PinnerSage.Clustering;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;

namespace PinnerSage.Tests.Profiles;

public sealed class UserProfileBuilderTests
{
    private const long Now = 1_750_000_000;
    private const long Day = 86400;

    /// <summary>Three well separated groups on unit axes: a* near e0, b* near e1, c near e3 (squared distances
    /// between groups ≈ 2, far above the default α; within a group ≈ 0.01–0.02).</summary>
    private static ItemEmbeddings Axes() => ItemEmbeddings.FromArray(
        ["a1", "a2", "a3", "b1", "b2", "c1"],
        [
            1f, 0f, 0f, 0f,
            0.99f, 0.1f, 0f, 0f,
            0.98f, 0f, 0.1f, 0f,
            0f, 1f, 0f, 0f,
            0f, 0.99f, 0.1f, 0f,
            0f, 0f, 0f, 1f,
        ], 4);

    private static UserProfile Build(ItemEmbeddings items, ProfileOptions options, (string Item, long Time, double W)[] actions,
                                     out ProfileBuildStats stats, long now = Now)
    {
        // The groups of Axes() are ≈ 2 apart and ≈ 0.01–0.04 within: α = 1 separates them whatever the default α is.
        var builder = new UserProfileBuilder(items, options with { Alpha = 1.0 });
        int[] rows = actions.Select(a => items.TryGetRow(a.Item, out int r) ? r : throw new ArgumentException(a.Item)).ToArray();
        return builder.Build("u", rows, actions.Select(a => a.Time).ToArray(), actions.Select(a => a.W).ToArray(), now, out stats);
    }

    private static ProfileCluster ClusterOf(UserProfile p, string item) => p.Clusters.Single(c => c.Members.Contains(item));

    [Fact]
    public void LambdaZeroImportanceIsTheWeightedActionCount()
    {
        UserProfile p = Build(Axes(), new ProfileOptions { DecayLambda = 0 },
            [("a1", Now - 5 * Day, 1), ("a2", Now - 50 * Day, 1), ("a1", Now, 1), ("b1", Now - Day, 2), ("b2", Now - 3 * Day, 1)],
            out ProfileBuildStats stats);

        Assert.Equal(2, p.Clusters.Count);
        ProfileCluster a = ClusterOf(p, "a1"), b = ClusterOf(p, "b1");
        Assert.Equal(3.0, a.Importance);
        Assert.Equal(3, a.Size);
        Assert.Equal(3.0, b.Importance);
        Assert.Equal(2, b.Size);
        Assert.Equal(5, stats.Clustered);
        Assert.Equal(4, stats.DistinctItems);
    }

    [Fact]
    public void DecayedImportanceMatchesHandComputation()
    {
        UserProfile p = Build(Axes(), new ProfileOptions { DecayLambda = 0.01 },
            [("a1", Now, 1), ("a2", Now - 10 * Day, 1), ("a3", Now - 30 * Day - 43200, 1), ("b1", Now - 2 * Day, 1), ("b2", Now - 89 * Day, 1)],
            out _);

        // Σ exp(−0.01·Δdays), Δ in (fractional) days.
        Assert.Equal(1 + Math.Exp(-0.1) + Math.Exp(-0.305), ClusterOf(p, "a1").Importance, 12);
        Assert.Equal(Math.Exp(-0.02) + Math.Exp(-0.89), ClusterOf(p, "b1").Importance, 12);
        Assert.Equal("a1", p.Clusters[0].Members[0]); // sorted by decreasing importance; a-cluster is larger
    }

    [Fact]
    public void WindowIsOpenAtTheStartAndClosedAtNowAndFutureActionsAreExcluded()
    {
        long start = Now - 90 * Day;
        UserProfile p = Build(Axes(), new ProfileOptions { DecayLambda = 0 },
            [("a1", start, 1), ("a2", start + 1, 1), ("a3", Now, 1), ("a1", Now + 1, 1), ("a2", Now + 30 * Day, 1), ("a3", start - Day, 1)],
            out ProfileBuildStats stats);

        Assert.Equal(2, stats.Clustered);
        Assert.Equal(2, stats.AfterNow);
        Assert.Equal(2, stats.BeforeWindow);
        ProfileCluster a = Assert.Single(p.Clusters);
        Assert.Equal(2, a.Size);
        Assert.Equal(new[] { "a3", "a2" }, a.Members); // most recent first
    }

    [Fact]
    public void WindowDaysIsHonoured()
    {
        UserProfile p = Build(Axes(), new ProfileOptions { DecayLambda = 0, WindowDays = 7 },
            [("a1", Now - 6 * Day, 1), ("a2", Now - 7 * Day, 1), ("a3", Now - 2 * Day, 1)], out ProfileBuildStats stats);
        Assert.Equal(1, stats.BeforeWindow);
        Assert.Equal(2, Assert.Single(p.Clusters).Size);
    }

    [Fact]
    public void ActionWeightsMultiplyEachContribution()
    {
        UserProfile p = Build(Axes(), new ProfileOptions { DecayLambda = 0.01 },
            [("a1", Now - 10 * Day, 2.5), ("a2", Now - 20 * Day, 0), ("a3", Now, 1)], out _);
        ProfileCluster a = Assert.Single(p.Clusters);
        Assert.Equal(2.5 * Math.Exp(-0.1) + 1, a.Importance, 12);
        Assert.Equal(3, a.Size); // a weight-0 action still belongs to the cluster
    }

    [Fact]
    public void RepeatedItemCountsInSizeButIsOneMember()
    {
        UserProfile p = Build(Axes(), new ProfileOptions { DecayLambda = 0 },
            [("a1", Now - 3 * Day, 1), ("a1", Now - 2 * Day, 1), ("a1", Now - Day, 1), ("a2", Now - 4 * Day, 1)], out ProfileBuildStats stats);
        ProfileCluster a = Assert.Single(p.Clusters);
        Assert.Equal(4, a.Size);
        Assert.Equal(new[] { "a1", "a2" }, a.Members);
        Assert.Equal(2, stats.DistinctItems);
    }

    [Fact]
    public void MaxActionsKeepsTheMostRecent()
    {
        UserProfile p = Build(Axes(), new ProfileOptions { DecayLambda = 0, MaxActions = 3 },
            [("b1", Now - 5 * Day, 1), ("b2", Now - 4 * Day, 1), ("a1", Now - 3 * Day, 1), ("a2", Now - 2 * Day, 1), ("a3", Now - Day, 1)],
            out ProfileBuildStats stats);
        Assert.Equal(2, stats.OverMaxActions);
        Assert.Equal(3, stats.Clustered);
        ProfileCluster a = Assert.Single(p.Clusters);
        Assert.Equal(new[] { "a3", "a2", "a1" }, a.Members);
    }

    [Fact]
    public void ItemsWhoseFirstMergeIsAboveAlphaAreDroppedUnlessKept()
    {
        (string, long, double)[] actions = [("a1", Now, 1), ("a2", Now, 1), ("c1", Now - Day, 1)];
        UserProfile dropped = Build(Axes(), new ProfileOptions(), actions, out ProfileBuildStats stats);
        Assert.Single(dropped.Clusters);
        Assert.Equal(1, stats.Unclustered);

        UserProfile kept = Build(Axes(), new ProfileOptions { KeepSingletons = true }, actions, out stats);
        Assert.Equal(2, kept.Clusters.Count);
        Assert.Equal(0, stats.Unclustered);
        Assert.Equal(new[] { "c1" }, ClusterOf(kept, "c1").Members);
        Assert.Equal("c1", ClusterOf(kept, "c1").Medoid);
    }

    [Fact]
    public void NoActionInTheWindowGivesAnEmptyProfile()
    {
        UserProfile p = Build(Axes(), new ProfileOptions(), [("a1", Now + Day, 1)], out ProfileBuildStats stats);
        Assert.Empty(p.Clusters);
        Assert.Equal(0, stats.Clustered);
        Assert.Equal(1, stats.AfterNow);
    }

    [Fact]
    public void ProfileIsIndependentOfActionOrder()
    {
        TestWorld world = TestWorld.Create(users: 1, seed: 3, unknownRate: 0);
        var rng = new Random(11);
        // One heavy user mixing every topic, with repeated items and equal timestamps to exercise tie-breaks.
        var actions = Enumerable.Range(0, 200).Select(i => (Row: rng.Next(world.Items.Count),
                                                            Time: TestWorld.Start + rng.Next(40) * Day,
                                                            W: (double)(1 + rng.Next(3)))).ToArray();
        var options = new ProfileOptions { MaxActions = 120, KeepSingletons = true };
        long now = TestWorld.Start + 60 * Day;
        string reference = ProfileJson.ToLine(new UserProfileBuilder(world.Items, options).Build(
            "heavy", actions.Select(a => a.Row).ToArray(), actions.Select(a => a.Time).ToArray(),
            actions.Select(a => a.W).ToArray(), now, out _));
        for (int trial = 0; trial < 20; trial++)
        {
            rng.Shuffle(actions);
            var builder = new UserProfileBuilder(world.Items, options);
            string line = ProfileJson.ToLine(builder.Build("heavy", actions.Select(a => a.Row).ToArray(),
                actions.Select(a => a.Time).ToArray(), actions.Select(a => a.W).ToArray(), now, out _));
            Assert.Equal(reference, line);
        }
    }

    /// <summary>x and y at squared distance 0.6 (cos 0.7), z orthogonal to both.</summary>
    private static ItemEmbeddings Pair() => ItemEmbeddings.FromArray(
        ["x", "y", "z"],
        [1f, 0f, 0f, 0.7f, MathF.Sqrt(0.51f), 0f, 0f, 0f, 1f], 3);

    [Fact]
    public void RepeatsDoNotWeighInWardByDefaultButCountInImportanceAndSize()
    {
        (string, long, double)[] actions = [.. Enumerable.Range(0, 5).SelectMany(k => new[]
            { ("x", Now - k * Day, 1.0), ("y", Now - k * Day - 3600, 1.0) }), ("z", Now, 1.0)];

        // Distinct items: x and y merge at 0.6 ≤ α = 1; z (≈ 2 away) stays alone and is dropped.
        UserProfile p = Build(Pair(), new ProfileOptions { DecayLambda = 0 }, actions, out ProfileBuildStats stats);
        ProfileCluster c = Assert.Single(p.Clusters);
        Assert.Equal(["x", "y"], c.Members.Order());
        Assert.Equal(10, c.Size);
        Assert.Equal(10.0, c.Importance);
        Assert.Equal(1, stats.Unclustered);

        // --count-repeats: five copies each, so x and y merge only at 2·5·5/10·0.6 = 3 > α; each is kept as a cluster
        // (its copies merged at 0), z is dropped as before.
        p = Build(Pair(), new ProfileOptions { DecayLambda = 0, CountRepeats = true }, actions, out stats);
        Assert.Equal(2, p.Clusters.Count);
        Assert.All(p.Clusters, k => Assert.Equal(5, k.Size));
        Assert.Equal(["x", "y"], p.Clusters.Select(k => k.Medoid).Order());
        Assert.Equal(1, stats.Unclustered);
    }

    [Fact]
    public void DistinctItemsModeClustersAsIfEachItemWereEngagedOnceAndCountRepeatsUsesTheActionCounts()
    {
        // Random users with many repeats on a small random catalogue, against two independent references: the same
        // user with one action per item (distinct mode must give the same members and medoids), and Ward with
        // multiplicity = action count per item (count-repeats mode, the previous behaviour).
        const int n = 40, d = 3;
        float[] raw = Clustering.ClusteringTestData.Vectors(n, d, 11);
        using ItemEmbeddings items = ItemEmbeddings.FromArray(Enumerable.Range(0, n).Select(i => $"i{i:D2}").ToArray(), raw, d);
        var random = new Random(12);
        var distinct = new ProfileOptions { Alpha = 0.4, DecayLambda = 0.03 };
        var repeats = distinct with { CountRepeats = true };
        var distinctBuilder = new UserProfileBuilder(items, distinct);
        var repeatsBuilder = new UserProfileBuilder(items, repeats);
        int repeatedUsers = 0;
        for (int u = 0; u < 150; u++)
        {
            int m = 2 + random.Next(40);
            int[] rows = Enumerable.Range(0, m).Select(_ => random.Next(n / 2) * 2 + random.Next(2) * (random.Next(3) == 0 ? 1 : 0)).ToArray();
            long[] times = rows.Select(_ => Now - random.NextInt64(80 * Day)).ToArray();
            double[] w = rows.Select(_ => 1.0 + random.Next(3)).ToArray();
            if (rows.Distinct().Count() < m) repeatedUsers++;

            UserProfile p = distinctBuilder.Build("u", rows, times, w, Now, out _);
            // One action per item (its latest, so the members' recency order is unchanged).
            int[] last = Enumerable.Range(0, m).GroupBy(i => rows[i]).Select(g => g.MaxBy(i => (times[i], w[i]))).ToArray();
            UserProfile once = distinctBuilder.Build("u", last.Select(i => rows[i]).ToArray(), last.Select(i => times[i]).ToArray(),
                                                     last.Select(i => w[i]).ToArray(), Now, out _);
            Assert.Equal(Shape(once), Shape(p));
            foreach (ProfileCluster c in p.Clusters)
            {
                int[] mine = Enumerable.Range(0, m).Where(i => c.Members.Contains(items.Id(rows[i]))).ToArray();
                Assert.Equal(mine.Length, c.Size); // every action counts
                Assert.Equal(mine.Sum(i => w[i] * Math.Exp(-0.03 * (Now - times[i]) / 86400.0)), c.Importance, 1e-9);
            }

            // Count repeats = Ward with multiplicities on the distinct items (rows ascending), vectors normalised.
            int[] distinctRows = rows.Distinct().Order().ToArray();
            int[] counts = distinctRows.Select(r => rows.Count(x => x == r)).ToArray();
            float[] v = distinctRows.SelectMany(r => Normalised(items.Vector(r).ToArray())).ToArray();
            WardClusters expected = WardClustering.Cluster(v, d, new WardOptions { Alpha = repeats.Alpha }, counts);
            var expectedShape = Enumerable.Range(0, expected.Count)
                .Select(k => items.Id(distinctRows[expected.Medoids[k]]) + ":" +
                             string.Join(",", expected.Members(k).Select(i => items.Id(distinctRows[i])).Order(StringComparer.Ordinal)))
                .Order(StringComparer.Ordinal);
            Assert.Equal(expectedShape, Shape(repeatsBuilder.Build("u", rows, times, w, Now, out _)));
        }
        Assert.True(repeatedUsers > 100);

        static IEnumerable<string> Shape(UserProfile p) => p.Clusters
            .Select(c => c.Medoid + ":" + string.Join(",", c.Members.Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal);
        static float[] Normalised(float[] x)
        {
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(x);
            System.Numerics.Tensors.TensorPrimitives.Divide(x, norm, x);
            return x;
        }
    }

    [Fact]
    public void ImportanceSizeAndMembersAgreeWithANaiveRecountOnRandomUsers()
    {
        TestWorld world = TestWorld.Create(users: 60, seed: 5, unknownRate: 0);
        long now = TestWorld.Start + 120 * Day;
        var options = new ProfileOptions { KeepSingletons = true, DecayLambda = 0.02 };
        var builder = new UserProfileBuilder(world.Items, options);
        foreach (IGrouping<string, TestAction> user in world.Actions.GroupBy(a => a.User))
        {
            TestAction[] acts = user.ToArray();
            double[] w = acts.Select((a, i) => 1.0 + i % 2).ToArray();
            UserProfile p = builder.Build(user.Key, acts.Select(a => Row(world, a.Item)).ToArray(),
                                          acts.Select(a => a.Time).ToArray(), w, now, out ProfileBuildStats stats);
            var inWindow = acts.Select((a, i) => (a, w: w[i])).Where(x => x.a.Time <= now && x.a.Time > now - 90 * Day).ToArray();
            Assert.Equal(inWindow.Length, stats.Clustered);
            Assert.Equal(inWindow.Length, p.Clusters.Sum(c => c.Size)); // keep-singletons: every action in a cluster
            Assert.Equal(inWindow.Select(x => x.a.Item).Distinct().Count(), p.Clusters.Sum(c => c.Members.Count));
            foreach (ProfileCluster c in p.Clusters)
            {
                var members = c.Members.ToHashSet();
                Assert.Contains(c.Medoid, members);
                var mine = inWindow.Where(x => members.Contains(x.a.Item)).ToArray();
                Assert.Equal(mine.Length, c.Size);
                double expected = mine.Sum(x => x.w * Math.Exp(-0.02 * (now - x.a.Time) / 86400.0));
                Assert.Equal(expected, c.Importance, 1e-9);
                // Members: most recently engaged first.
                long[] latest = c.Members.Select(m => mine.Where(x => x.a.Item == m).Max(x => x.a.Time)).ToArray();
                Assert.True(latest.Zip(latest.Skip(1)).All(t => t.First >= t.Second));
            }
            for (int k = 1; k < p.Clusters.Count; k++) Assert.True(p.Clusters[k - 1].Importance >= p.Clusters[k].Importance);
        }
    }

    [Fact]
    public void InvalidInputsAreRejected()
    {
        var builder = new UserProfileBuilder(Axes(), new ProfileOptions());
        Assert.Throws<ArgumentException>(() => builder.Build("u", [0, 1], [Now], [1, 1], Now, out _));
        Assert.Throws<ArgumentException>(() => builder.Build("u", [99], [Now], [1], Now, out _));
        Assert.Throws<ArgumentException>(() => builder.Build("u", [0], [Now], [double.NaN], Now, out _));
        Assert.Throws<ArgumentException>(() => builder.Build("u", [0], [Now], [-1], Now, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UserProfileBuilder(Axes(), new ProfileOptions { Alpha = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UserProfileBuilder(Axes(), new ProfileOptions { MaxActions = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProfileOptions { MaxActions = PinnerSage.Clustering.UserClusterer.MaxItems + 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProfileOptions { WindowDays = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProfileOptions { DecayLambda = double.NaN }.Validate());
        Assert.Throws<ArgumentException>(() => new ProfileOptions { ActionWeights = new Dictionary<string, double> { ["x"] = -2 } }.Validate());
    }

    [Fact]
    public void ActionOptionsParse()
    {
        IReadOnlyDictionary<string, double> w = ProfileOptions.ParseActionWeights("click=1, save=2.5,add_to_cart=0");
        Assert.Equal(2.5, w["save"]);
        Assert.Equal(0, w["add_to_cart"]);
        Assert.Throws<ArgumentException>(() => ProfileOptions.ParseActionWeights("click"));
        Assert.Throws<ArgumentException>(() => ProfileOptions.ParseActionWeights("click=abc"));
        var o = new ProfileOptions { ActionWeights = w, IncludeActions = ProfileOptions.ParseActionList("click,save") };
        Assert.True(o.TryGetActionWeight("save", out double sw));
        Assert.Equal(2.5, sw);
        Assert.False(o.TryGetActionWeight("add_to_cart", out _));
        Assert.True(new ProfileOptions().TryGetActionWeight("anything", out double one));
        Assert.Equal(1, one);
    }

    private static int Row(TestWorld world, string item) => world.Items.TryGetRow(item, out int r) ? r : throw new ArgumentException(item);
}
