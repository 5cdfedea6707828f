using PinnerSage.Ann;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;

namespace PinnerSage.Tests.Retrieval;

public sealed class NeighborCacheTests
{
    private static readonly RetrievalWorld World = RetrievalWorld.Create(seed: 2);

    /// <summary>Counts the searches that reach the index.</summary>
    private sealed class CountingIndex(IVectorIndex inner) : IVectorIndex
    {
        public int Searches;
        public int Dimension => inner.Dimension;
        public int Count => inner.Count;
        public VectorMetric Metric => inner.Metric;
        public int Search(ReadOnlySpan<float> query, int k, Span<Neighbor> destination)
        {
            Interlocked.Increment(ref Searches);
            return inner.Search(query, k, destination);
        }
    }

    [Fact]
    public void HitsServeEqualListsAndAShorterListIsNeverServedForALargerK()
    {
        var index = new CountingIndex(World.ExactIndex());
        var cache = new NeighborCache(index, 4);
        var a = new Neighbor[50];
        var b = new Neighbor[50];
        Assert.Equal(20, cache.Search(5, World.Items.Vector(5), 20, a));
        Assert.Equal(10, cache.Search(5, World.Items.Vector(5), 10, b)); // sliced from the 20
        Assert.Equal(a[..10], b[..10]);
        Assert.Equal((1L, 1L), (cache.Hits, cache.Misses));
        Assert.Equal(40, cache.Search(5, World.Items.Vector(5), 40, b)); // longer: searched again, replaces the 20
        Assert.Equal(a[..20], b[..20]);
        Assert.Equal(2, index.Searches);
        Assert.Equal(40, cache.Search(5, World.Items.Vector(5), 40, a));
        Assert.Equal(2, index.Searches);
        Assert.Equal(0.5, cache.HitRate);

        // A complete list (the index has fewer items than asked) serves any k.
        var tiny = new NeighborCache(new ExactIndex(2, VectorMetric.L2), 2);
        ((ExactIndex)tiny.Index).Add([1f, 0f]);
        Assert.Equal(1, tiny.Search(0, [1f, 0f], 5, a));
        Assert.Equal(1, tiny.Search(0, [1f, 0f], 9, new Neighbor[9]));
        Assert.Equal(1, tiny.Hits);
    }

    [Fact]
    public void EvictsTheLeastRecentlyUsedWithinCapacity()
    {
        var index = new CountingIndex(World.ExactIndex());
        var cache = new NeighborCache(index, 3);
        var buffer = new Neighbor[5];
        void Get(int row) => cache.Search(row, World.Items.Vector(row), 5, buffer);
        Get(1); Get(2); Get(3);
        Get(1);            // 1 becomes most recent; 2 is now the least
        Get(4);            // evicts 2
        Assert.Equal(3, cache.Count);
        Assert.Equal(1, cache.Evictions);
        int before = index.Searches;
        Get(1); Get(3); Get(4);
        Assert.Equal(before, index.Searches);
        Get(2);
        Assert.Equal(before + 1, index.Searches);
        for (int r = 10; r < 100; r++) Get(r);
        Assert.Equal(3, cache.Count);
        Assert.Equal(cache.Misses - 3, cache.Evictions);
        cache.Clear();
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void ParallelRecommendationsWithASharedCacheEqualSerialOnesWithout()
    {
        ExactIndex index = World.ExactIndex();
        var rng = new Random(4);
        UserProfile[] users = Enumerable.Range(0, 300)
            .Select(u => World.User($"u{u}", Enumerable.Range(0, 1 + rng.Next(6))
                .Select(_ => (rng.Next(World.Topics), 0.5 + rng.NextDouble(), 1 + rng.Next(8))).ToArray()))
            .ToArray();
        var options = new RecommenderOptions { K = 40 };
        var plain = new Recommender(index, World.Items, options);
        Recommendation[][] expected = users.Select((u, i) => Recommend(plain, u, (ulong)i)).ToArray();

        // A small cache under contention: lookups, inserts and evictions race across threads.
        var cache = new NeighborCache(index, 16);
        var cached = new Recommender(index, World.Items, options, cache);
        var actual = new Recommendation[users.Length][];
        Parallel.For(0, users.Length * 3, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            j => actual[j % users.Length] = Recommend(cached, users[j % users.Length], (ulong)(j % users.Length)));
        for (int i = 0; i < users.Length; i++) Assert.Equal(expected[i], actual[i]);
        Assert.True(cache.Hits > 0);
        Assert.True(cache.Count <= 16);
        Assert.True(cache.Evictions > 0);
    }

    private static Recommendation[] Recommend(Recommender r, UserProfile u, ulong seed)
    {
        var buffer = new Recommendation[r.Options.K];
        return buffer[..r.RecommendWithSeed(u, seed, buffer).Count];
    }
}
