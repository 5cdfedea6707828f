using PinnerSage.Ann;
using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Ann;

/// <summary>HNSW against exact search and its own contract: recall floors, save/load, deletes, concurrency, refinement,
/// file errors, allocation-free search.</summary>
public sealed class HnswIndexTests(ITestOutputHelper output)
{
    private const int D = 32;

    private static HnswIndex BuildClustered(VectorMetric metric, int n, out float[] data, int threads = 1, int seed = 1, int m = 16) =>
        AnnTestData.BuildHnsw(metric, n, D, out data, threads, seed, m);

    [Theory]
    [InlineData(VectorMetric.Cosine)]
    [InlineData(VectorMetric.InnerProduct)]
    [InlineData(VectorMetric.L2)]
    public void RecallAt10AboveFloorOnClusteredData(VectorMetric metric)
    {
        const int n = 4000;
        HnswIndex index = BuildClustered(metric, n, out float[] data);
        float[] queries = AnnTestData.Clustered(100, D, clusters: 40, seed: 1 + 1000);
        if (metric == VectorMetric.InnerProduct) AnnTestData.NormalizeRows(queries, D);
        // Queries from the same centres (same seed for centres is not shared; fresh clustered queries are a harder,
        // out-of-sample case): 0.95 at ef = 64 is hnswlib's usual operating point for M = 16.
        double recall = AnnTestData.RecallAtK(index, data, n, D, queries, 10, 64);
        output.WriteLine($"{metric}: recall@10 = {recall:F4}");
        Assert.Equal(n, index.Count);
        Assert.True(recall >= 0.95, $"recall@10 {recall:F4} < 0.95");
        Assert.True(AnnTestData.RecallAtK(index, data, n, D, queries, 10, 200) >= recall - 1e-9);
    }

    [Fact]
    public void MultiThreadedBuildKeepsRecall()
    {
        const int n = 4000;
        HnswIndex index = BuildClustered(VectorMetric.Cosine, n, out float[] data, threads: 4);
        Assert.Equal(n, index.Count);
        for (int i = 0; i < n; i++) Assert.True(index.Contains(i));
        double recall = AnnTestData.RecallAtK(index, data, n, D, data.AsSpan(0, 100 * D).ToArray(), 10, 64);
        Assert.True(recall >= 0.95, $"recall@10 {recall:F4} < 0.95");
    }

    [Fact]
    public void RecallAt10OnRealEmbeddings()
    {
        string? path = TestData.RequireDataset("amazon-scientific/vectors/text_lm.npy", output);
        if (path is null) return;
        float[] data = Npy.ReadFloat32(path, out int n, out int d);
        var index = new HnswIndex(d, new HnswOptions { Metric = VectorMetric.Cosine });
        index.Build(data, n, 2);
        // Every 10th item as a query (it finds itself, and its 9 real neighbours).
        float[] queries = Enumerable.Range(0, n / 10).SelectMany(i => data.AsSpan(i * 10 * d, d).ToArray()).ToArray();
        double recall = AnnTestData.RecallAtK(index, data, n, d, queries, 10, 64);
        output.WriteLine($"amazon-scientific text_lm ({n}×{d}): recall@10 = {recall:F4}");
        Assert.True(recall >= 0.98, $"recall@10 {recall:F4} < 0.98");
    }

    [Fact]
    public void SearchReturnsSortedDistinctLabelsWithExactDistances()
    {
        HnswIndex index = BuildClustered(VectorMetric.L2, 1000, out float[] data);
        var found = new Neighbor[20];
        int got = index.Search(data.AsSpan(7 * D, D), 20, found);
        Assert.Equal(20, got);
        Assert.Equal(7, found[0].Label);
        Assert.Equal(20, found.Select(f => f.Label).Distinct().Count());
        for (int i = 0; i < got; i++)
        {
            Assert.Equal(AnnTestData.Distance(VectorMetric.L2, data.AsSpan(found[i].Label * D, D), data.AsSpan(7 * D, D)), found[i].Distance, 1e-3);
            if (i > 0) Assert.True(found[i - 1].Distance <= found[i].Distance);
        }
    }

    [Fact]
    public void SmallAndEmptyIndexesReturnWhatTheyHold()
    {
        var index = new HnswIndex(3, new HnswOptions());
        var found = new Neighbor[5];
        Assert.Equal(0, index.Search([1f, 0, 0], 5, found));
        index.Add(10, [1f, 0, 0]);
        index.Add(11, [0f, 1, 0]);
        Assert.Equal(2, index.Search([1f, 0.1f, 0], 5, found));
        Assert.Equal(10, found[0].Label);
        Assert.Throws<ArgumentException>(() => index.Add(10, [0f, 0, 1]));
        Assert.Throws<ArgumentException>(() => index.Add(12, [0f, float.NaN, 1]));
        Assert.Throws<ArgumentException>(() => index.Search([1f, 0], 1, found));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search([1f, 0, 0], 6, found));
    }

    [Fact]
    public void DeletedItemsAreNeverReturned()
    {
        const int n = 2000;
        HnswIndex index = BuildClustered(VectorMetric.Cosine, n, out float[] data);
        var deleted = new HashSet<int>(Enumerable.Range(0, n).Where(i => i % 3 == 0));
        foreach (int label in deleted) Assert.True(index.Delete(label));
        Assert.False(index.Delete(0));
        Assert.False(index.Contains(0));
        Assert.True(index.Contains(1));
        Assert.Equal(n - deleted.Count, index.Count);
        var found = new Neighbor[10];
        int hits = 0;
        for (int q = 0; q < 200; q++)
        {
            ReadOnlySpan<float> query = data.AsSpan(q * D, D);
            int got = index.Search(query, 10, 64, found);
            Assert.Equal(10, got);
            int[] truth = AnnTestData.ExactTopK(VectorMetric.Cosine, data, n, D, query, 10, deleted.Contains);
            for (int j = 0; j < got; j++)
            {
                Assert.DoesNotContain(found[j].Label, deleted);
                if (truth.Contains(found[j].Label)) hits++;
            }
        }
        Assert.True(hits / 2000.0 >= 0.9, $"recall@10 with a third deleted {hits / 2000.0:F3}");
        // A deleted label can be added again (a new element), and is then found.
        index.Add(0, data.AsSpan(0, D));
        Assert.True(index.Contains(0));
        Assert.Equal(0, found[..index.Search(data.AsSpan(0, D), 1, found)][0].Label);
    }

    [Fact]
    public void SaveLoadGivesIdenticalResults()
    {
        using var dir = new TempDir();
        const int n = 3000;
        HnswIndex index = BuildClustered(VectorMetric.InnerProduct, n, out float[] data, threads: 2);
        index.Delete(5);
        index.SetItemIds(Enumerable.Range(0, n).Select(i => $"item-{i}").ToArray());
        string path = dir.File("x.hnsw");
        index.Save(path);
        HnswIndex loaded = HnswIndex.Load(path);
        Assert.Equal(index.Count, loaded.Count);
        Assert.Equal(index.Dimension, loaded.Dimension);
        Assert.Equal(index.Options, loaded.Options);
        Assert.Equal(index.MaxLevel, loaded.MaxLevel);
        Assert.Equal("item-17", loaded.ItemIds![17]);
        Assert.False(loaded.Contains(5));
        var a = new Neighbor[10];
        var b = new Neighbor[10];
        for (int q = 0; q < 100; q++)
        {
            ReadOnlySpan<float> query = data.AsSpan(q * 13 % n * D, D);
            Assert.Equal(index.Search(query, 10, 40, a), loaded.Search(query, 10, 40, b));
            Assert.Equal(a, b);
        }
        // The loaded index keeps growing.
        loaded.Add(n, data.AsSpan(0, D));
        Assert.True(loaded.Contains(n));
    }

    [Fact]
    public void TruncatedOrCorruptedFilesGiveClearErrors()
    {
        using var dir = new TempDir();
        HnswIndex index = BuildClustered(VectorMetric.Cosine, 500, out _);
        string path = dir.File("x.hnsw");
        index.Save(path);
        byte[] good = File.ReadAllBytes(path);
        AnnTestData.AssertCorruptionDetected(dir, good, bad => HnswIndex.Load(bad), [300, good.Length / 2, good.Length - 20, good.Length - 3], output);
    }

    [Fact]
    public async Task ConcurrentSearchDuringInsertsIsSafe()
    {
        const int n = 6000;
        float[] data = AnnTestData.Clustered(n, D, 30, seed: 9);
        var index = new HnswIndex(D, new HnswOptions { EfConstruction = 64 }, capacity: 16);
        index.Build(data.AsSpan(0, 500 * D), 500, 1);
        int inserted = 500;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var searchers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var found = new Neighbor[10];
            var random = new Random(t);
            while (Volatile.Read(ref inserted) < n)
            {
                int got = index.Search(data.AsSpan(random.Next(n) * D, D), 10, found);
                if (got != 10) failures.Enqueue($"got {got}");
                for (int j = 0; j < got; j++)
                    if (found[j].Label < 0 || found[j].Label >= n) failures.Enqueue($"label {found[j].Label}");
                if (found.Take(got).Select(f => f.Label).Distinct().Count() != got) failures.Enqueue("duplicate labels");
            }
        })).ToArray();
        // Two inserting threads (the storage grows from 16 meanwhile) while two search.
        Parallel.For(0, 2, t =>
        {
            for (int i = 500 + t; i < n; i += 2)
            {
                index.Add(i, data.AsSpan(i * D, D));
                Interlocked.Increment(ref inserted);
            }
        });
        await Task.WhenAll(searchers);
        Assert.Empty(failures);
        Assert.Equal(n, index.Count);
        // Cold-start items are searchable at once and the graph is sound afterwards.
        double recall = AnnTestData.RecallAtK(index, data, n, D, data.AsSpan((n - 50) * D, 50 * D).ToArray(), 10, 64);
        Assert.True(recall >= 0.95, $"recall@10 after concurrent inserts {recall:F4}");
    }

    [Fact]
    public void RefinementDropsNearDuplicatesAndExcludedItems()
    {
        const int unique = 1000;
        float[] baseData = AnnTestData.Clustered(unique, D, 20, seed: 3, noise: 0.8f);
        // Rows unique…unique+199 are near-copies of rows 0…199 (cosine ≈ 0.9999); rows 1200…1249 are excluded.
        var random = new Random(4);
        int n = unique + 250;
        var data = new float[n * D];
        baseData.CopyTo(data, 0);
        for (int i = 0; i < 250; i++)
            for (int j = 0; j < D; j++)
                data[(unique + i) * D + j] = i < 200 ? baseData[i * D + j] + 0.001f * AnnTestData.Gaussian(random) : AnnTestData.Gaussian(random);
        var excluded = new HashSet<int>(Enumerable.Range(unique + 200, 50));
        var index = new HnswIndex(D, new HnswOptions());
        HnswBuildReport report = index.Build(data, n, 1, new HnswRefinement { DuplicateCosine = 0.999f, Excluded = excluded }, null);
        Assert.Equal(50, report.Excluded);
        Assert.Equal(200, report.Duplicates);
        Assert.Equal(unique, report.Inserted);
        Assert.Equal(unique, index.Count);
        Assert.Equal(200, index.DuplicateCount);
        for (int i = 0; i < 200; i++)
        {
            Assert.False(index.Contains(unique + i));
            Assert.True(index.TryGetRepresentative(unique + i, out int rep));
            Assert.Equal(i, rep);
        }
        foreach (int e in excluded) Assert.False(index.Contains(e));
        using var dir = new TempDir();
        index.Save(dir.File("r.hnsw"));
        HnswIndex loaded = HnswIndex.Load(dir.File("r.hnsw"));
        Assert.True(loaded.TryGetRepresentative(unique + 7, out int r7));
        Assert.Equal(7, r7);
    }

    [Fact]
    public void WarmSearchAllocatesNothing()
    {
        HnswIndex index = BuildClustered(VectorMetric.Cosine, 2000, out float[] data);
        HnswIndex l2 = BuildClustered(VectorMetric.L2, 500, out _);
        var found = new Neighbor[10];
        Assert.Equal(0, Allocations.BestOf(() =>
        {
            for (int q = 0; q < 200; q++)
            {
                index.Search(data.AsSpan(q * D, D), 10, 64, found);
                l2.Search(data.AsSpan(q * D, D), 10, 64, found);
            }
        }));
    }

    [Fact]
    public void OptionsValidate()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HnswOptions { M = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new HnswOptions { Ef = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new HnswOptions { EfConstruction = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new HnswRefinement { DuplicateCosine = 1.5f }.Validate());
        Assert.Equal(32, new HnswOptions().MaxM0);
    }
}
