using PinnerSage.Ann;

namespace PinnerSage.Tests.Ann;

public sealed class ExactIndexTests
{
    private static float[] RandomTable(Random rng, int n, int d)
    {
        var data = new float[n * d];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }

    [Theory]
    [InlineData(VectorMetric.InnerProduct)]
    [InlineData(VectorMetric.Cosine)]
    [InlineData(VectorMetric.L2)]
    public void SearchEqualsANaiveSortOnEveryMetricAndLength(VectorMetric metric)
    {
        var rng = new Random(7 + (int)metric);
        // Every length 1…3·8+1 exercises the SIMD loop and its scalar tail; 256 is the production dimension.
        foreach (int d in Enumerable.Range(1, 25).Append(256))
        {
            int n = 50 + rng.Next(150);
            float[] data = RandomTable(rng, n, d);
            ExactIndex index = ExactIndex.Build(data, d, metric);
            var deleted = new HashSet<int>();
            for (int t = 0; t < n / 10; t++)
            {
                int label = rng.Next(n);
                Assert.Equal(deleted.Add(label), index.Delete(label));
            }
            Assert.Equal(n - deleted.Count, index.Count);
            float[] query = RandomTable(rng, 1, d);
            int k = 1 + rng.Next(n + 5);
            var result = new Neighbor[k];
            int count = index.Search(query, k, result);

            double[] naive = Enumerable.Range(0, n).Where(i => !deleted.Contains(i))
                .Select(i => AnnTestData.Distance(metric, query, data.AsSpan(i * d, d))).Order().ToArray();
            Assert.Equal(Math.Min(k, naive.Length), count);
            double scale = metric == VectorMetric.L2 ? d : 1;
            for (int i = 0; i < count; i++)
            {
                Assert.DoesNotContain(result[i].Label, deleted);
                // Its distance is the true one of its label, and the i-th result is as close as the i-th naive one.
                Assert.Equal(AnnTestData.Distance(metric, query, data.AsSpan(result[i].Label * d, d)), result[i].Distance, 1e-4 * scale);
                Assert.Equal(naive[i], result[i].Distance, 1e-4 * scale);
                if (i > 0) Assert.True(result[i - 1].Distance <= result[i].Distance);
            }
            Assert.Equal(count, result.Take(count).Select(r => r.Label).Distinct().Count());
        }
    }

    [Fact]
    public void TiesAreBrokenByTheSmallerLabel()
    {
        var index = new ExactIndex(2, VectorMetric.L2);
        for (int i = 0; i < 10; i++) index.Add([i % 2 == 0 ? 1f : -1f, 0f]);
        var result = new Neighbor[3];
        Assert.Equal(3, index.Search([1f, 0f], 3, result));
        Assert.Equal([0, 2, 4], result.Select(r => r.Label));
    }

    [Fact]
    public void AddAndDeleteAreSeenBySearch()
    {
        var index = new ExactIndex(3, VectorMetric.Cosine);
        Assert.Equal(0, index.Search([1f, 0f, 0f], 1, new Neighbor[1]));
        Assert.Equal(0, index.Add([2f, 0f, 0f]));
        Assert.Equal(1, index.Add([0f, 5f, 0f]));
        Assert.Equal(1f, TensorNorm(index.Vector(0)), 1e-6); // cosine stores unit vectors
        var result = new Neighbor[2];
        Assert.Equal(2, index.Search([1f, 0.1f, 0f], 2, result));
        Assert.Equal(0, result[0].Label);
        Assert.True(index.Delete(0));
        Assert.False(index.Delete(0));
        Assert.False(index.Delete(7));
        Assert.Equal(1, index.Search([1f, 0.1f, 0f], 2, result));
        Assert.Equal(1, result[0].Label);
        Assert.False(index.Contains(0));
        Assert.Throws<ArgumentException>(() => index.Add([1f, float.NaN, 0f]));
        Assert.Throws<ArgumentException>(() => index.Search([1f], 1, result));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search([1f, 0f, 0f], 3, result));
    }

    private static float TensorNorm(ReadOnlySpan<float> v) => System.Numerics.Tensors.TensorPrimitives.Norm(v);

    [Fact]
    public void SearchAllocatesNothingOnceWarm()
    {
        var rng = new Random(3);
        foreach (VectorMetric metric in Enum.GetValues<VectorMetric>())
        {
            ExactIndex index = ExactIndex.Build(RandomTable(rng, 500, 32), 32, metric);
            float[] query = RandomTable(rng, 1, 32);
            var result = new Neighbor[20];
            Assert.Equal(0, Allocations.BestOf(() =>
            {
                for (int i = 0; i < 10; i++) index.Search(query, 20, result);
            }));
        }
    }

    [Fact]
    public async Task ConcurrentSearchesDuringInsertsSeeConsistentResults()
    {
        const int d = 8;
        var rng = new Random(5);
        float[] data = RandomTable(rng, 4000, d);
        var index = new ExactIndex(d, VectorMetric.L2);
        for (int i = 0; i < 100; i++) index.Add(data.AsSpan(i * d, d));
        using var done = new CancellationTokenSource();
        int deletes = 0;
        Task writer = Task.Run(() =>
        {
            for (int i = 100; i < 4000; i++)
            {
                index.Add(data.AsSpan(i * d, d));
                if (i % 7 == 0 && i - 50 >= 100 && index.Delete(i - 50)) deletes++;
            }
            done.Cancel();
        });
        var readers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var result = new Neighbor[10];
            int searches = 0;
            while (!done.IsCancellationRequested || searches < 10)
            {
                int q = (searches++ * 31 + t) % 100; // always-present rows: each is its own nearest neighbour
                int n = index.Search(data.AsSpan(q * d, d), 10, result);
                Assert.Equal(10, n);
                Assert.Equal(q, result[0].Label);
                Assert.Equal(0f, result[0].Distance);
                for (int i = 1; i < n; i++) Assert.True(result[i - 1].Distance <= result[i].Distance);
            }
        })).ToArray();
        await Task.WhenAll([writer, .. readers]);
        Assert.Equal(4000 - deletes, index.Count);
    }
}
