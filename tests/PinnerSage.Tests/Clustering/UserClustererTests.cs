using PinnerSage.Clustering;

namespace PinnerSage.Tests.Clustering;

/// <summary>The per-thread clusterer: medoids against brute force, agreement with the object API, allocation-free warm
/// calls, validation.</summary>
public sealed class UserClustererTests
{
    [Theory]
    [InlineData(60, 4, 1, false)]
    [InlineData(80, 3, 2, true)]
    [InlineData(120, 16, 3, false)]
    [InlineData(45, 2, 4, true)]
    public void MedoidsMinimiseWeightedSquaredDistanceWithLowestIndexOnTies(int n, int d, int seed, bool grid)
    {
        float[] x = ClusteringTestData.Vectors(n, d, seed, duplicates: 0.1, grid: grid);
        int[] m = ClusteringTestData.Multiplicities(n, seed, 4);
        var clusterer = new UserClusterer(d);
        var labels = new int[n];
        var medoids = new int[n];
        foreach (double alpha in new[] { 0.5, 2.0, 8.0, 1e9 })
        {
            int c = clusterer.Cluster(x, m, alpha, keepSingletons: true, labels, medoids);
            for (int k = 0; k < c; k++)
            {
                int[] members = Enumerable.Range(0, n).Where(i => labels[i] == k).ToArray();
                double Cost(int a) => members.Sum(b => m[b] * ClusteringTestData.SquaredDistance(x, d, a, b));
                double best = members.Min(Cost);
                // Grid data: costs are exact integers, so the argmin (lowest index on ties) is exact.
                int expected = grid ? members.First(a => Cost(a) == best)
                                    : members.First(a => Cost(a) <= best * (1 + 1e-12));
                Assert.True(expected == medoids[k], $"α {alpha} cluster {k}: medoid {medoids[k]} cost {Cost(medoids[k])}, brute force {expected} cost {best}");
            }
        }
    }

    [Fact]
    public void AgreesWithTheObjectApi()
    {
        const int n = 150, d = 24;
        float[] x = ClusteringTestData.Vectors(n, d, 11, duplicates: 0.1);
        int[] m = ClusteringTestData.Multiplicities(n, 11, 3);
        var labels = new int[n];
        var medoids = new int[n];
        foreach (bool keep in new[] { false, true })
        {
            int c = new UserClusterer(d).Cluster(x, m, 3.0, keep, labels, medoids);
            WardClusters expected = WardClustering.Cluster(x, d, new WardOptions { Alpha = 3.0, KeepSingletons = keep }, m);
            Assert.Equal(expected.Count, c);
            Assert.Equal(expected.Labels, labels);
            Assert.Equal(expected.Medoids, medoids.Take(c));
        }
    }

    [Fact]
    public void AWarmCallAllocatesNothing()
    {
        const int n = 200, d = 40;
        float[] x = ClusteringTestData.Vectors(n, d, 5, duplicates: 0.1);
        int[] m = ClusteringTestData.Multiplicities(n, 5, 3);
        var labels = new int[n];
        var medoids = new int[n];
        var clusterer = new UserClusterer(d);
        long allocated = Allocations.BestOf(() =>
        {
            clusterer.Cluster(x, m, 2.0, keepSingletons: false, labels, medoids);
            clusterer.Cluster(x.AsSpan(0, 50 * d), m.AsSpan(0, 50), 2.0, keepSingletons: true, labels, medoids);
        });
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TheMergeHistoryIsATreeWithSizesAndStoredDistances()
    {
        const int n = 90, d = 5;
        float[] x = ClusteringTestData.Vectors(n, d, 17, duplicates: 0.2);
        int[] m = ClusteringTestData.Multiplicities(n, 17, 3);
        WardDendrogram dendrogram = WardClustering.Linkage(x, d, m);
        Assert.Equal(n - 1, dendrogram.Merges.Count);
        var size = m.Select(k => (double)k).Concat(new double[n - 1]).ToArray();
        var used = new bool[2 * n - 1];
        for (int k = 0; k < n - 1; k++)
        {
            WardMerge merge = dendrogram.Merges[k];
            Assert.True(merge.Left < n + k && merge.Right < n + k && !used[merge.Left] && !used[merge.Right]);
            used[merge.Left] = used[merge.Right] = true;
            size[n + k] = size[merge.Left] + size[merge.Right];
            Assert.Equal(size[n + k], merge.Size);
            Assert.Equal(merge.Height * merge.Height, merge.Distance);
        }
        Assert.Equal(m.Sum(), dendrogram.Merges[^1].Size);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                Assert.Equal(ClusteringTestData.SquaredDistance(x, d, i, j), dendrogram.SquaredDistance(i, j), 1e-12);
    }

    [Fact]
    public void TinyInputs()
    {
        var clusterer = new UserClusterer(3);
        var labels = new int[2];
        var medoids = new int[2];
        Assert.Equal(0, clusterer.Cluster([], [], 1.0, true, labels, medoids));
        Assert.Equal(0, clusterer.Cluster([1, 2, 3], [1], 1.0, false, labels, medoids));
        Assert.Equal(-1, labels[0]);
        Assert.Equal(1, clusterer.Cluster([1, 2, 3], [1], 1.0, true, labels, medoids));
        Assert.Equal((0, 0), (labels[0], medoids[0]));
        Assert.Equal(1, clusterer.Cluster([1, 2, 3], [2], 0.0, false, labels, medoids));
        Assert.Equal(1, clusterer.Cluster([1, 2, 3, 1, 2, 3], [1, 1], 0.0, false, labels, medoids));
        Assert.Equal((0, 0, 0), (labels[0], labels[1], medoids[0]));
    }

    [Fact]
    public void RejectsBadInput()
    {
        var clusterer = new UserClusterer(2);
        var labels = new int[3];
        var medoids = new int[3];
        float[] x = [0, 0, 1, 1, 5, 5];
        Assert.Throws<ArgumentException>(() => clusterer.Cluster(x.AsSpan(0, 5), [1, 1, 1], 1, false, labels, medoids));
        Assert.Throws<ArgumentException>(() => clusterer.Cluster(x, [1, 0, 1], 1, false, labels, medoids));
        Assert.Throws<ArgumentException>(() => clusterer.Cluster([0, 0, float.NaN, 1, 5, 5], [1, 1, 1], 1, false, labels, medoids));
        Assert.Throws<ArgumentException>(() => clusterer.Cluster([0, 0, float.PositiveInfinity, 1, 5, 5], [1, 1, 1], 1, false, labels, medoids));
        Assert.Throws<ArgumentException>(() => clusterer.Cluster(x, [1, 1, 1], 1, false, new int[2], medoids));
        Assert.Throws<ArgumentException>(() => clusterer.Cluster(x, [1, 1, 1], 1, true, labels, new int[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => clusterer.Cluster(x, [1, 1, 1], -1, false, labels, medoids));
        Assert.Throws<ArgumentOutOfRangeException>(() => clusterer.Cluster(x, [1, 1, 1], double.NaN, false, labels, medoids));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UserClusterer(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WardOptions { Alpha = -0.1 }.Validate());
    }
}
