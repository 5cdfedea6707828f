using PinnerSage.Clustering;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Clustering;

/// <summary>K-means against a naive Lloyd from the same seeds, Lloyd's properties, and scikit-learn on separated blobs.</summary>
public sealed class KMeansClusteringTests(ITestOutputHelper output)
{
    [Fact]
    public void LloydMatchesNaiveLloydFromTheSameSeeds()
    {
        var random = new Random(5);
        for (int trial = 0; trial < 40; trial++)
        {
            int n = random.Next(1, 60), d = random.Next(1, 9), k = random.Next(1, 8);
            float[] x = ClusteringTestData.Vectors(n, d, 2000 + trial, duplicates: trial % 4 == 0 ? 0.4 : 0);
            int[] multiplicity = ClusteringTestData.Multiplicities(n, trial, 5);
            var scratch = new KMeansClustering.Scratch();
            Assert.True(scratch.Load(x, n, d));
            int centres = scratch.SeedPlusPlus(multiplicity, Math.Min(k, n), (ulong)trial);
            int[] seeds = scratch.CentreItems(centres).ToArray();
            Assert.Equal(seeds.Length, seeds.Distinct().Count());
            var labels = new int[n];
            scratch.Lloyd(multiplicity, centres, labels, null);
            int[] expected = NaiveLloyd(x, n, d, multiplicity, seeds);
            Assert.Equal(expected, labels);

            var publicLabels = new int[n];
            var medoids = new int[n];
            int clusters = KMeansClustering.Cluster(x, d, multiplicity, k, (ulong)trial, publicLabels, medoids);
            Assert.Equal(ClusteringTestData.Show(ClusteringTestData.Partition(expected)),
                         ClusteringTestData.Show(ClusteringTestData.Partition(publicLabels)));
            Assert.Equal(expected.Distinct().Count(), clusters);
            for (int c = 0; c < clusters; c++)
            {
                int[] members = Enumerable.Range(0, n).Where(i => publicLabels[i] == c).ToArray();
                Assert.Equal(members[0], Enumerable.Range(0, n).First(i => publicLabels[i] == c)); // numbered by first member
                Assert.Equal(members.MinBy(m => (members.Sum(j => multiplicity[j] * ClusteringTestData.SquaredDistance(x, d, m, j)), m)), medoids[c]);
            }
            for (int c = 1; c < clusters; c++)
                Assert.True(Array.IndexOf(publicLabels, c - 1) < Array.IndexOf(publicLabels, c));
        }
    }

    [Fact]
    public void ConvergedItemsSitAtTheirNearestCentroidAndTheObjectiveNeverRises()
    {
        var random = new Random(6);
        for (int trial = 0; trial < 25; trial++)
        {
            int n = random.Next(2, 300), d = random.Next(1, 40), k = random.Next(1, 12);
            float[] x = ClusteringTestData.Vectors(n, d, 3000 + trial);
            int[] multiplicity = ClusteringTestData.Multiplicities(n, trial, 3);
            var scratch = new KMeansClustering.Scratch();
            Assert.True(scratch.Load(x, n, d));
            int centres = scratch.SeedPlusPlus(multiplicity, Math.Min(k, n), 99);
            var labels = new int[n];
            var objectives = new List<double>();
            int passes = scratch.Lloyd(multiplicity, centres, labels, objectives);
            Assert.True(passes < KMeansClustering.MaxIterations, $"trial {trial}: no convergence");
            for (int s = 1; s < objectives.Count; s++)
                Assert.True(objectives[s] <= objectives[s - 1] * (1 + 1e-12) + 1e-12, $"trial {trial}: objective rose at step {s}: {objectives[s - 1]:R} → {objectives[s]:R}");
            for (int i = 0; i < n; i++)
            {
                double own = Distance(x, d, i, scratch.CentroidRow(labels[i], d));
                for (int c = 0; c < centres; c++)
                    Assert.True(own <= Distance(x, d, i, scratch.CentroidRow(c, d)) + 1e-12, $"trial {trial}: item {i} nearer to centroid {c}");
            }
        }
    }

    [Fact]
    public void DeterministicForASeedAndCappedByDistinctPoints()
    {
        float[] x = ClusteringTestData.Vectors(50, 8, 1);
        int[] ones = Enumerable.Repeat(1, 50).ToArray();
        int[] a = new int[50], b = new int[50], ma = new int[5], mb = new int[5];
        int ca = KMeansClustering.Cluster(x, 8, ones, 5, 42, a, ma);
        int cb = KMeansClustering.Cluster(x, 8, ones, 5, 42, b, mb);
        Assert.Equal(5, ca);
        Assert.Equal(ca, cb);
        Assert.Equal(a, b);
        Assert.Equal(ma, mb);
        // Three items, k = 5: at most three clusters; all items identical: one.
        Assert.Equal(3, KMeansClustering.Cluster(x.AsSpan(0, 24), 8, [1, 2, 1], 5, 1, new int[3], new int[5]));
        var same = new float[4 * 8];
        var labels = new int[4];
        Assert.Equal(1, KMeansClustering.Cluster(same, 8, [1, 1, 3, 1], 5, 1, labels, new int[4]));
        Assert.All(labels, l => Assert.Equal(0, l));
        Assert.Equal(0, KMeansClustering.Cluster([], 8, [], 5, 1, [], []));
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeansClustering.Cluster([0, 1], 2, [1], 0, 1, new int[1], new int[1]));
        Assert.Throws<ArgumentException>(() => KMeansClustering.Cluster([0, float.PositiveInfinity], 2, [1], 1, 1, new int[1], new int[1]));
        Assert.Throws<ArgumentException>(() => KMeansClustering.Cluster([0, 1, 2], 2, [1], 1, 1, new int[1], new int[1]));
        Assert.Throws<ArgumentException>(() => KMeansClustering.Cluster([0, 1, 2, 3], 2, [1, 1], 2, 1, new int[2], new int[1]));
    }

    [Fact]
    public void FindsSeparatedBlobsAsScikitLearnDoes()
    {
        // Five tight blobs far apart: both k-means++ implementations must return the blobs.
        const int blobs = 5, per = 30, d = 16;
        var random = new Random(3);
        var x = new float[blobs * per * d];
        var truth = new int[blobs * per];
        for (int b = 0; b < blobs; b++)
        {
            var centre = Enumerable.Range(0, d).Select(_ => random.NextDouble() * 20 - 10).ToArray();
            for (int p = 0; p < per; p++)
            {
                int i = b * per + p;
                truth[i] = b;
                for (int k = 0; k < d; k++) x[i * d + k] = (float)(centre[k] + (random.NextDouble() - 0.5) * 0.2);
            }
        }
        int n = blobs * per;
        var labels = new int[n];
        Assert.Equal(blobs, KMeansClustering.Cluster(x, d, Enumerable.Repeat(1, n).ToArray(), blobs, 7, labels, new int[blobs]));
        Assert.Equal(ClusteringTestData.Show(ClusteringTestData.Partition(truth)), ClusteringTestData.Show(ClusteringTestData.Partition(labels)));
        if (!TestData.RequireOrSkip(TestData.HasPython("numpy", "sklearn"), "/usr/bin/python3 with sklearn (apt-get install python3-sklearn)", output)) return;
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("x.txt"), Enumerable.Range(0, n).Select(i => string.Join(' ', x.AsSpan(i * d, d).ToArray().Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))));
        (int code, string stdout, string stderr) = TestData.RunPython(
            $"import numpy as np\nfrom sklearn.cluster import KMeans\nx = np.loadtxt(r'{dir.File("x.txt")}')\n" +
            "print(' '.join(str(v) for v in KMeans(5, n_init=10, random_state=0).fit(x).labels_))", []);
        Assert.True(code == 0, stderr);
        int[] sklearn = stdout.Trim().Split(' ').Select(int.Parse).ToArray();
        Assert.Equal(ClusteringTestData.Show(ClusteringTestData.Partition(sklearn)), ClusteringTestData.Show(ClusteringTestData.Partition(labels)));
    }

    private static double Distance(float[] x, int d, int i, ReadOnlySpan<double> centroid)
    {
        double s = 0;
        for (int k = 0; k < d; k++)
        {
            double t = x[i * d + k] - centroid[k];
            s += t * t;
        }
        return s;
    }

    /// <summary>Textbook weighted Lloyd in double from the given seed items (ties: lowest centroid; an emptied centroid
    /// stays put), until no label changes.</summary>
    private static int[] NaiveLloyd(float[] x, int n, int d, int[] w, int[] seeds)
    {
        double[][] c = seeds.Select(s => Enumerable.Range(0, d).Select(k => (double)x[s * d + k]).ToArray()).ToArray();
        int[] labels = Enumerable.Repeat(-1, n).ToArray();
        for (int iteration = 0; iteration < KMeansClustering.MaxIterations; iteration++)
        {
            bool changed = false;
            for (int i = 0; i < n; i++)
            {
                int best = 0;
                for (int j = 1; j < c.Length; j++)
                    if (Distance(x, d, i, c[j]) < Distance(x, d, i, c[best])) best = j;
                changed |= labels[i] != best;
                labels[i] = best;
            }
            if (!changed) break;
            for (int j = 0; j < c.Length; j++)
            {
                int[] members = Enumerable.Range(0, n).Where(i => labels[i] == j).ToArray();
                if (members.Length == 0) continue;
                double total = members.Sum(i => (double)w[i]);
                for (int k = 0; k < d; k++) c[j][k] = members.Sum(i => w[i] * (double)x[i * d + k]) / total;
            }
        }
        return labels;
    }
}

/// <summary>The variants' warm per-user calls allocate nothing, like the Ward pass (scratch is per thread).</summary>
public sealed class ClusteringVariantsAllocationTests
{
    [Fact]
    public void WarmCallsAllocateNothing()
    {
        float[] x = ClusteringTestData.Vectors(120, 16, 4);
        int[] multiplicity = ClusteringTestData.Multiplicities(120, 4, 3);
        var labels = new int[120];
        var medoids = new int[120];
        var centroids = new float[120 * 16];
        int k = 0, c = 0;
        long allocated = Allocations.BestOf(() =>
        {
            k = KMeansClustering.Cluster(x, 16, multiplicity, 5, 3, labels, medoids);
            c = CompleteLinkage.Cluster(x, 16, multiplicity, 1.2, true, labels, medoids);
            Centroid.Compute(x, 16, multiplicity, labels, c, normalize: true, centroids);
        });
        Assert.Equal(0, allocated);
        Assert.True(k > 0 && c > 0);
    }
}
