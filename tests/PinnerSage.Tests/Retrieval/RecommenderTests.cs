using PinnerSage.Ann;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;

namespace PinnerSage.Tests.Retrieval;

public sealed class RecommenderTests
{
    private static readonly RetrievalWorld World = RetrievalWorld.Create();

    private static HashSet<int> EngagedRows(UserProfile p) =>
        p.Clusters.SelectMany(c => c.Members).Select(m => World.Items.TryGetRow(m, out int r) ? r : -1).Where(r => r >= 0).ToHashSet();

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, List<int>> Orders = new();

    /// <summary>Every row by decreasing exact cosine to <paramref name="row"/> (memoised).</summary>
    private static List<int> Order(int row) => Orders.GetOrAdd(row, r => World.NearestRows(r, World.Items.Count));

    /// <summary>Users of 1–9 clusters with random topics, importances and sizes.</summary>
    private static UserProfile RandomUser(Random rng, int id)
    {
        int n = 1 + rng.Next(9);
        var clusters = Enumerable.Range(0, n)
            .Select(_ => (rng.Next(World.Topics), Math.Round(0.1 + rng.NextDouble() * 5, 3), 1 + rng.Next(30))).ToArray();
        return World.User($"u{id}", clusters);
    }

    [Theory]
    [InlineData(CandidateBlending.RoundRobin, true)]
    [InlineData(CandidateBlending.RoundRobin, false)]
    [InlineData(CandidateBlending.BySimilarity, true)]
    [InlineData(CandidateBlending.BySimilarity, false)]
    public void InvariantsHoldForRandomUsers(CandidateBlending blending, bool fill)
    {
        var rng = new Random(11);
        foreach (VectorMetric metric in Enum.GetValues<VectorMetric>())
        {
            ExactIndex index = World.ExactIndex(metric);
            for (int u = 0; u < 40; u++)
            {
                UserProfile user = RandomUser(rng, u);
                var options = new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 1 + rng.Next(120), Medoids = 1 + rng.Next(4), Blending = blending, FillToK = fill };
                var recommender = new Recommender(index, World.Items, options);
                var result = new Recommendation[options.K];
                RecommendationSummary summary = recommender.RecommendWithSeed(user, (ulong)u, result);
                Span<Recommendation> got = result.AsSpan(0, summary.Count);
                HashSet<int> engaged = EngagedRows(user);
                int e = Math.Min(Math.Min(options.Medoids, user.Clusters.Count), options.K);
                int q = options.K / e;
                Assert.Equal(e, summary.MedoidsSampled);
                Assert.Equal(q, summary.PerMedoid);
                Assert.True(summary.Count <= options.K);
                // The catalogue (640 items) always has K non-engaged items to offer.
                if (fill) Assert.Equal(options.K, summary.Count);

                var seen = new HashSet<int>();
                var perCluster = new Dictionary<int, int>();
                foreach (Recommendation r in got)
                {
                    Assert.True(seen.Add(r.Item), "duplicate item");
                    Assert.DoesNotContain(r.Item, engaged);
                    ProfileCluster c = user.Clusters[r.Cluster];
                    Assert.Equal(c.Medoid, World.Items.Id(r.Medoid));
                    Assert.Equal(c.Importance, r.Importance);
                    Assert.Equal(c.Size, r.Size);
                    Assert.Equal(World.Cosine(r.Medoid, r.Item), r.Similarity, 1e-5);
                    // Rank = position among the medoid's exact neighbours once engaged items are removed.
                    List<int> order = Order(r.Medoid).Where(x => !engaged.Contains(x)).ToList();
                    Assert.InRange(order.IndexOf(r.Item), r.Rank - 2, r.Rank + 2); // ± float ties
                    perCluster[r.Cluster] = perCluster.GetValueOrDefault(r.Cluster) + 1;
                    if (!fill) Assert.True(r.Rank < q, "beyond ⌊K/e⌋ without filling");
                }
                Assert.True(perCluster.Count <= e);
                if (!fill) Assert.All(perCluster.Values, n => Assert.True(n <= q));
            }
        }
    }

    [Fact]
    public void EachMedoidContributesItsShareBeforeBlendingWhenInterestsAreDisjoint()
    {
        UserProfile user = World.User("u", (0, 3.0, 5), (3, 2.0, 5), (6, 1.0, 5));
        var recommender = new Recommender(World.ExactIndex(), World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 50, FillToK = false });
        var result = new Recommendation[50];
        RecommendationSummary s = recommender.RecommendWithSeed(user, 1UL, result);
        Assert.Equal(48, s.Count); // 3 × ⌊50/3⌋, no overlap between far-apart topics
        Assert.Equal(0, s.Duplicates);
        Assert.All(Enumerable.Range(0, 3), c => Assert.Equal(16, result.Take(48).Count(r => r.Cluster == c)));
        // Round-robin in decreasing importance: clusters 0, 1, 2, 0, 1, 2, …, and each list nearest first.
        for (int i = 0; i < 48; i++)
        {
            Assert.Equal(i % 3, result[i].Cluster);
            Assert.Equal(i / 3, result[i].Rank);
        }

        RecommendationSummary filled = new Recommender(World.ExactIndex(), World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 50 })
            .RecommendWithSeed(user, 1UL, result);
        Assert.Equal(50, filled.Count);
        Assert.Equal([0, 1], result.Skip(48).Select(r => r.Cluster));
    }

    [Fact]
    public void BySimilarityOrdersByDistanceAndRoundRobinByImportance()
    {
        UserProfile user = World.User("u", (0, 3.0, 5), (0, 2.0, 5), (4, 1.0, 5));
        var options = new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 60, Blending = CandidateBlending.BySimilarity, FillToK = false };
        var result = new Recommendation[60];
        RecommendationSummary s = new Recommender(World.ExactIndex(), World.Items, options).RecommendWithSeed(user, 2UL, result);
        for (int i = 1; i < s.Count; i++) Assert.True(result[i - 1].Distance <= result[i].Distance);
        // Two medoids in one topic share neighbours: the union is shorter than K and the duplicates are counted.
        Assert.True(s.Duplicates > 0);
        Assert.Equal(60, s.Count + s.Duplicates);
    }

    [Fact]
    public void SameSeedSameResultsAndSeedsDiffer()
    {
        UserProfile user = World.User("heavy", Enumerable.Range(0, 10).Select(t => (t % World.Topics, 1.0 + t, 4)).ToArray());
        var recommender = new Recommender(World.ExactIndex(), World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 30 });
        Recommendation[] Run(ulong seed)
        {
            var r = new Recommendation[30];
            return r[..recommender.RecommendWithSeed(user, seed, r).Count];
        }
        Assert.Equal(Run(5), Run(5));
        var sets = Enumerable.Range(0, 20).Select(s => string.Join(",", Run((ulong)s).Select(r => r.Cluster).Distinct().Order())).ToHashSet();
        Assert.True(sets.Count >= 5, $"only {sets.Count} distinct medoid sets over 20 seeds");

        // The default seed: stable across processes (a fixed value), the same all day, another the next day.
        long day = 1_767_225_600;
        Assert.Equal(Recommender.DefaultSeed("heavy", day), Recommender.DefaultSeed("heavy", day + 86_399));
        Assert.NotEqual(Recommender.DefaultSeed("heavy", day), Recommender.DefaultSeed("heavy", day + 86_400));
        Assert.NotEqual(Recommender.DefaultSeed("heavy", day), Recommender.DefaultSeed("heavx", day));
        Assert.Equal(Recommender.DefaultSeed("u1", -1), Recommender.DefaultSeed("u1", -86_400));
        Assert.Equal(6603209136395880839UL, Recommender.DefaultSeed("u0001", 1_767_225_600));
        var byNow = new Recommendation[30];
        int n = recommender.Recommend(user, day + 5, byNow).Count;
        Assert.Equal(Run(Recommender.DefaultSeed("heavy", day)), byNow[..n]);
    }

    [Fact]
    public void TopImportanceTakesTheMostImportantMedoids()
    {
        UserProfile user = World.User("u", (0, 1.0, 3), (1, 5.0, 3), (2, 0.5, 3), (3, 4.0, 3), (4, 2.0, 3));
        var options = new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 30, Sampling = MedoidSampling.TopImportance };
        var result = new Recommendation[30];
        for (ulong seed = 0; seed < 5; seed++)
        {
            int n = new Recommender(World.ExactIndex(), World.Items, options).RecommendWithSeed(user, seed, result).Count;
            Assert.Equal([0, 1, 2], result[..n].Select(r => r.Cluster).Distinct().Order());
            Assert.Equal(5.0, result[0].Importance);
        }
    }

    [Fact]
    public void MedoidsWithoutAVectorAreSkippedAndReported()
    {
        UserProfile known = World.User("u", (0, 1.0, 3), (2, 2.0, 3));
        var clusters = known.Clusters.Append(new ProfileCluster("no-such-item", 9.0, 4, ["no-such-item"])).OrderByDescending(c => c.Importance).ToList();
        var user = new UserProfile("u", clusters);
        var recommender = new Recommender(World.ExactIndex(), World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 20 });
        var result = new Recommendation[20];
        RecommendationSummary s = recommender.RecommendWithSeed(user, 3UL, result);
        Assert.Equal(1, s.MedoidsWithoutVector);
        Assert.Equal(2, s.MedoidsSampled);
        Assert.Equal(20, s.Count);
        Assert.DoesNotContain(result, r => r.Cluster == 0);
        Assert.Equal(["no-such-item"], recommender.MissingMedoids(user));

        RecommendationSummary none = recommender.RecommendWithSeed(new UserProfile("empty", []), 3UL, result);
        Assert.Equal(0, none.Count);
    }

    [Fact]
    public void OverFetchStillReturnsKWhenTheNeighbourhoodIsEngaged()
    {
        // One cluster engaged with 70 of its topic's 80 items: the nearest neighbours are mostly engaged.
        UserProfile user = World.User("u", (1, 1.0, 70));
        var result = new Recommendation[50];
        RecommendationSummary s = new Recommender(World.ExactIndex(), World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 50, OverFetch = 1, FilterInSearch = false })
            .RecommendWithSeed(user, 0UL, result);
        Assert.Equal(50, s.Count);
        Assert.True(s.EngagedExcluded >= 70);
        HashSet<int> engaged = EngagedRows(user);
        Assert.DoesNotContain(result, r => engaged.Contains(r.Item));
    }

    [Fact]
    public void SimilarItemsAreTheExactNeighboursWithoutTheItem()
    {
        var recommender = new Recommender(World.ExactIndex(), World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper });
        var result = new SimilarItem[10];
        foreach (int item in new[] { 0, 17, 639 })
        {
            Assert.Equal(10, recommender.Similar(item, 10, result));
            Assert.DoesNotContain(result, r => r.Item == item);
            Assert.Equal(World.NearestRows(item, 11).Skip(1), result.Select(r => r.Item));
            Assert.All(result, r => Assert.Equal(World.Cosine(item, r.Item), r.Similarity, 1e-5));
        }
        Assert.Null(recommender.Similar("nope", 5));
        Assert.Equal(5, recommender.Similar(World.Items.Id(3), 5)!.Length);
    }

    [Fact]
    public void RecommendAllocatesNothingOnceWarm()
    {
        UserProfile user = World.User("u", (0, 3.0, 10), (2, 2.0, 10), (5, 1.0, 10), (6, 0.5, 4));
        ExactIndex index = World.ExactIndex();
        foreach (CandidateBlending blending in Enum.GetValues<CandidateBlending>())
        {
            var recommender = new Recommender(index, World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 100, Blending = blending },
                                              new NeighborCache(index, 64));
            var result = new Recommendation[100];
            Assert.Equal(0, Allocations.BestOf(() =>
            {
                for (ulong seed = 0; seed < 20; seed++) recommender.RecommendWithSeed(user, seed, result);
            }));
        }
    }

    [Fact]
    public void OptionsAreValidated()
    {
        ExactIndex index = World.ExactIndex();
        Assert.Throws<ArgumentOutOfRangeException>(() => new Recommender(index, World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Recommender(index, World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, Medoids = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Recommender(index, World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, OverFetch = 0.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Recommender(index, World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, Blending = (CandidateBlending)9 }));
        Assert.Throws<ArgumentException>(() => new Recommender(new ExactIndex(3, VectorMetric.L2), World.Items));
        Assert.Throws<ArgumentException>(() => new Recommender(index, World.Items, cache: new NeighborCache(World.ExactIndex(), 4)));
        var recommender = new Recommender(index, World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 10 });
        Assert.Throws<ArgumentException>(() => recommender.RecommendWithSeed(World.User("u", (0, 1.0, 2)), 0UL, new Recommendation[9]));
    }
}
