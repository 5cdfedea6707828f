using PinnerSage.Ann;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;

namespace PinnerSage.Tests.Retrieval;

/// <summary>Retrieval with the engaged items filtered inside the index search (<see cref="RecommenderOptions.FilterInSearch"/>):
/// never an engaged item, the same lists as over-fetching on the exact index, and the HNSW lists (float and int8) as
/// close to exact filtered search as the over-fetching ones were to exact over-fetching.</summary>
public sealed class FilteredRetrievalTests
{
    private static readonly RetrievalWorld World = RetrievalWorld.Create(topics: 10, perTopic: 150, dimension: 32, seed: 5);
    private static readonly Lazy<HnswIndex> Hnsw = new(() =>
    {
        var index = new HnswIndex(World.Items.Dimension, new HnswOptions(), World.Items.Count);
        index.Build(World.Items.Matrix, World.Items.Count, 2);
        return index;
    });
    private static readonly Lazy<QuantizedHnswIndex> Int8 = new(() => Hnsw.Value.Quantize());

    private static IVectorIndex Index(string kind) => kind switch
    {
        "exact" => World.ExactIndex(),
        "hnsw" => Hnsw.Value,
        _ => Int8.Value,
    };

    private static HashSet<int> EngagedRows(UserProfile p) =>
        p.Clusters.SelectMany(c => c.Members).Select(m => World.Items.TryGetRow(m, out int r) ? r : -1).Where(r => r >= 0).ToHashSet();

    /// <summary>Users of 1–5 clusters with up to 60 members each: the medoids' neighbourhoods are mostly engaged.</summary>
    private static List<UserProfile> Users(int count, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(u => World.User($"u{u}", Enumerable.Range(0, 1 + rng.Next(5))
            .Select(_ => (rng.Next(World.Topics), 0.2 + rng.NextDouble(), 1 + rng.Next(60))).ToArray()))];
    }

    [Theory]
    [InlineData("exact", RetrievalPolicy.Paper, false)]
    [InlineData("exact", RetrievalPolicy.Mixture, true)]
    [InlineData("hnsw", RetrievalPolicy.Paper, false)]
    [InlineData("hnsw", RetrievalPolicy.Paper, true)]
    [InlineData("hnsw", RetrievalPolicy.Mixture, false)]
    [InlineData("hnsw", RetrievalPolicy.Mixture, true)]
    [InlineData("int8", RetrievalPolicy.Paper, false)]
    [InlineData("int8", RetrievalPolicy.Mixture, true)]
    public void NeverAnEngagedItemAndKWhenTheIndexHasThem(string kind, RetrievalPolicy policy, bool caches)
    {
        IVectorIndex index = Index(kind);
        var options = new RecommenderOptions { Policy = policy, K = 60 };
        var recommender = new Recommender(index, World.Items, options, caches ? new NeighborCache(index, 64) : null,
                                          caches ? new NeighborCache(index, 64) : null);
        var result = new Recommendation[60];
        // Twice: the second pass is served from the caches, and each user follows another on the same thread (the
        // per-thread exclusion bitset must hold this user's items only).
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (UserProfile user in Users(40, 3))
            {
                RecommendationSummary summary = recommender.RecommendWithSeed(user, 1UL, result);
                Assert.Equal(60, summary.Count);
                HashSet<int> engaged = EngagedRows(user);
                Assert.DoesNotContain(result, r => engaged.Contains(r.Item));
                Assert.Equal(60, result.Select(r => r.Item).Distinct().Count());
            }
        }
    }

    [Fact]
    public void OnTheExactIndexThePaperPolicyEqualsOverFetching()
    {
        // Exact search: each filtered list is the over-fetched list with the engaged items taken out, so the first
        // ⌊K/e⌋ of every list, and hence the union without filling, are the same items in the same order.
        ExactIndex index = World.ExactIndex();
        var filtered = new Recommender(index, World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 90, FillToK = false });
        var overFetch = new Recommender(index, World.Items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 90, FillToK = false, FilterInSearch = false });
        var a = new Recommendation[90];
        var b = new Recommendation[90];
        foreach (UserProfile user in Users(60, 4))
        {
            int na = filtered.RecommendWithSeed(user, 2UL, a).Count, nb = overFetch.RecommendWithSeed(user, 2UL, b).Count;
            Assert.Equal(b[..nb], a[..na]);
        }
    }

    [Theory]
    [InlineData("hnsw", RetrievalPolicy.Paper)]
    [InlineData("hnsw", RetrievalPolicy.Mixture)]
    [InlineData("int8", RetrievalPolicy.Paper)]
    [InlineData("int8", RetrievalPolicy.Mixture)]
    public void RecallAgainstExactFilteredSearchIsKept(string kind, RetrievalPolicy policy)
    {
        // Candidate recall of HNSW retrieval against the same retrieval on the exact index, filtered vs over-fetching:
        // the filtered lists are at least as close to exact filtered search (within 1 point) and above 0.95.
        IVectorIndex index = Index(kind);
        ExactIndex exact = World.ExactIndex();
        double Recall(bool filter)
        {
            var options = new RecommenderOptions { Policy = policy, K = 100, FilterInSearch = filter };
            var approx = new Recommender(index, World.Items, options);
            var truth = new Recommender(exact, World.Items, options);
            var a = new Recommendation[100];
            var t = new Recommendation[100];
            long found = 0, wanted = 0;
            foreach (UserProfile user in Users(80, 6))
            {
                int na = approx.RecommendWithSeed(user, 5UL, a).Count, nt = truth.RecommendWithSeed(user, 5UL, t).Count;
                HashSet<int> set = [.. a[..na].Select(r => r.Item)];
                found += t[..nt].Count(r => set.Contains(r.Item));
                wanted += nt;
            }
            return (double)found / wanted;
        }
        double filtered = Recall(true), overFetch = Recall(false);
        Assert.True(filtered >= overFetch - 0.01, $"filtered {filtered:F3} vs over-fetch {overFetch:F3}");
    }

    [Theory]
    [InlineData("hnsw")]
    [InlineData("int8")]
    public void FilteredListsAreAsCloseToExactFilteredSearchAsOverFetching(string kind)
    {
        // The lists the recommender asks for: a user's engaged set excluded inside the walk (breadth 50 + |engaged|),
        // against the exact index's filtered scan (a brute force over the same filter), and the over-fetch it replaces:
        // 50 + |engaged| unfiltered neighbours with the engaged ones dropped, first 50 kept.
        var index = (IFilteredVectorIndex)Index(kind);
        ExactIndex exact = World.ExactIndex();
        var got = new Neighbor[50];
        var want = new Neighbor[50];
        long found = 0, foundOver = 0, total = 0;
        foreach (UserProfile user in Users(60, 7))
        {
            HashSet<int> engaged = EngagedRows(user);
            SearchFilter filter = SearchFilter.Excluding([.. engaged]);
            var over = new Neighbor[50 + engaged.Count];
            foreach (ProfileCluster c in user.Clusters)
            {
                World.Items.TryGetRow(c.Medoid, out int row);
                int n = index.SearchFiltered(World.Items.Vector(row), 50, filter, 50 + engaged.Count, got);
                int m = exact.SearchFiltered(World.Items.Vector(row), 50, filter, 0, want);
                Assert.Equal(m, n);
                Assert.DoesNotContain(got[..n], g => engaged.Contains(g.Label));
                HashSet<int> set = [.. got[..n].Select(g => g.Label)];
                int no = index.Search(World.Items.Vector(row), over.Length, over);
                HashSet<int> overSet = [.. over[..no].Where(g => !engaged.Contains(g.Label)).Take(50).Select(g => g.Label)];
                found += want[..m].Count(w => set.Contains(w.Label));
                foundOver += want[..m].Count(w => overSet.Contains(w.Label));
                total += m;
            }
        }
        double recall = (double)found / total, overRecall = (double)foundOver / total;
        Assert.True(recall >= overRecall - 0.005, $"filtered recall {recall:F4}, over-fetch {overRecall:F4}");
        Assert.True(recall >= 0.85, $"filtered recall {recall:F4}");
    }
}
