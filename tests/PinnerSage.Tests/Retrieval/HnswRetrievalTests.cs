using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;

namespace PinnerSage.Tests.Retrieval;

/// <summary>Retrieval through the HNSW index: the same candidates as exact search (to a recall floor), and the
/// refined index's near-duplicate mapping respected.</summary>
public sealed class HnswRetrievalTests
{
    private static readonly RetrievalWorld World = RetrievalWorld.Create(topics: 10, perTopic: 150, dimension: 32, seed: 3);

    [Fact]
    public void CandidatesMatchExactSearchAboveARecallFloor()
    {
        var hnsw = new HnswIndex(World.Items.Dimension, new HnswOptions(), World.Items.Count);
        hnsw.Build(World.Items.Matrix, World.Items.Count, 2);
        var options = new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 100 };
        var approx = new Recommender(hnsw, World.Items, options);
        var exact = new Recommender(World.ExactIndex(), World.Items, options);
        var rng = new Random(8);
        var a = new Recommendation[100];
        var t = new Recommendation[100];
        long found = 0, wanted = 0;
        for (int u = 0; u < 100; u++)
        {
            UserProfile user = World.User($"u{u}", Enumerable.Range(0, 1 + rng.Next(5))
                .Select(_ => (rng.Next(World.Topics), 0.5 + rng.NextDouble(), 1 + rng.Next(10))).ToArray());
            int na = approx.RecommendWithSeed(user, (ulong)u, a).Count, nt = exact.RecommendWithSeed(user, (ulong)u, t).Count;
            Assert.Equal(nt, na);
            HashSet<int> set = [.. a[..na].Select(r => r.Item)];
            found += t[..nt].Count(r => set.Contains(r.Item));
            wanted += nt;
        }
        Assert.True(found >= 0.95 * wanted, $"candidate recall {(double)found / wanted:F3}");
    }

    [Fact]
    public void NearDuplicatesDroppedByRefinementCountAsTheItem()
    {
        // Row 1 is a copy of row 0: the refined index keeps one and maps the other to it.
        float[] data = World.Items.Matrix.ToArray();
        int d = World.Items.Dimension;
        data.AsSpan(0, d).CopyTo(data.AsSpan(d, d));
        using ItemEmbeddings items = ItemEmbeddings.FromArray(World.Items.Ids, data, d);
        var hnsw = new HnswIndex(d, new HnswOptions(), items.Count);
        hnsw.Build(items.Matrix, items.Count, 1, new HnswRefinement { DuplicateCosine = 0.9999f }, null);
        Assert.True(hnsw.TryGetRepresentative(1, out int representative) || hnsw.TryGetRepresentative(0, out representative));
        int dropped = representative == 0 ? 1 : 0;

        var recommender = new Recommender(hnsw, items, new RecommenderOptions { Policy = RetrievalPolicy.Paper });
        var similar = new SimilarItem[10];
        int n = recommender.Similar(dropped, 10, similar);
        Assert.Equal(10, n);
        Assert.DoesNotContain(similar, s => s.Item == representative || s.Item == dropped);

        // A user who engaged with the dropped twin is not recommended its representative.
        var user = new UserProfile("u", [new ProfileCluster(items.Id(2), 1.0, 2, [items.Id(2), items.Id(dropped)])]);
        var result = new Recommendation[20];
        int count = new Recommender(hnsw, items, new RecommenderOptions { Policy = RetrievalPolicy.Paper, K = 20 }).RecommendWithSeed(user, 0UL, result).Count;
        Assert.Equal(20, count);
        Assert.DoesNotContain(result, r => r.Item == representative);
    }
}
