using System.Globalization;
using System.Text;
using PinnerSage.Clustering;
using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Clustering;

/// <summary>Complete linkage against scipy (<c>linkage(method='complete')</c> + <c>fcluster(criterion='distance')</c>) and
/// against a naive O(n³) implementation.</summary>
public sealed class CompleteLinkageTests(ITestOutputHelper output)
{
    [Fact]
    public void LinkageAndCutsMatchScipy()
    {
        if (!ScipyReference.Require(output)) return;
        var inputs = new List<(float[] X, int D)>
        {
            (ClusteringTestData.Vectors(2, 3, 1), 3),
            (ClusteringTestData.Vectors(9, 2, 2), 2),
            (ClusteringTestData.Vectors(70, 16, 3), 16),
            (ClusteringTestData.Vectors(257, 64, 4), 64), // past the chain's compaction threshold
            (ClusteringTestData.Vectors(120, 3, 5, duplicates: 0.3), 3),
            (ClusteringTestData.Vectors(150, 2, 6, grid: true), 2), // many tied heights
        };
        if (TestData.Dataset("amazon-scientific/vectors/text_lm.npy") is string path)
        {
            float[] all = Npy.ReadFloat32(path, out _, out int d);
            inputs.Add((all.AsSpan(0, 300 * d).ToArray(), d));
        }
        List<(double[] Z, List<(double T, int[] Labels)> Cuts)> expected = Scipy(inputs);
        for (int c = 0; c < inputs.Count; c++)
        {
            (float[] x, int d) = inputs[c];
            int n = x.Length / d;
            int[] ones = Enumerable.Repeat(1, n).ToArray();
            var engine = new WardEngine();
            Assert.True(engine.Linkage(x, n, d, ones, LinkageKind.Complete));
            var z = new double[4 * (n - 1)];
            ScipyLinkage.Write(engine.Merges, engine.Ascending, n, ones, z);
            bool tied = c == 5; // grid data: tied merges may pair other (equally valid) clusters; heights still agree
            for (int r = 0; r < n - 1; r++)
            {
                ClusteringTestData.AssertClose(expected[c].Z[4 * r + 2], z[4 * r + 2], 1e-12, 1e-12, $"case {c} row {r} height");
                if (tied) continue;
                Assert.True(expected[c].Z[4 * r] == z[4 * r] && expected[c].Z[4 * r + 1] == z[4 * r + 1] && expected[c].Z[4 * r + 3] == z[4 * r + 3],
                            $"case {c} row {r}: scipy [{expected[c].Z[4 * r]}, {expected[c].Z[4 * r + 1]}, {expected[c].Z[4 * r + 3]}], ours [{z[4 * r]}, {z[4 * r + 1]}, {z[4 * r + 3]}]");
            }
            foreach ((double t, int[] scipyLabels) in expected[c].Cuts)
            {
                var labels = new int[n];
                var medoids = new int[n];
                CompleteLinkage.Cluster(x, d, ones, t, keepSingletons: true, labels, medoids);
                Assert.Equal(ClusteringTestData.Show(ClusteringTestData.Partition(scipyLabels)),
                             ClusteringTestData.Show(ClusteringTestData.Partition(labels)));
            }
        }
    }

    [Fact]
    public void MatchesNaiveCompleteLinkageWithMultiplicitiesAndBothSingletonRules()
    {
        var random = new Random(11);
        for (int trial = 0; trial < 40; trial++)
        {
            int n = random.Next(1, 40), d = random.Next(1, 6);
            float[] x = ClusteringTestData.Vectors(n, d, 1000 + trial, duplicates: trial % 3 == 0 ? 0.3 : 0);
            int[] multiplicity = ClusteringTestData.Multiplicities(n, trial, 4);
            List<(int[] Members, double Height)> sets = NaiveComplete(x, n, d);
            // Thresholds strictly between distinct heights (ours and the naive one may differ in the last bit), or 0
            // exactly (duplicates merge at exactly 0 in both).
            double[] hs = sets.Select(s => s.Height).Append(0).Append(4).Distinct().Order().ToArray();
            int r = random.Next(hs.Length - 1);
            double threshold = trial % 5 == 0 ? 0 : (hs[r] + hs[r + 1]) / 2;
            foreach (bool keep in new[] { true, false })
            {
                var labels = new int[n];
                var medoids = new int[n];
                int clusters = CompleteLinkage.Cluster(x, d, multiplicity, threshold, keep, labels, medoids);
                // Expected: the partition after every merge of height ≤ t (complete linkage is monotone); a set of one
                // item is a cluster only with keepSingletons or a multiplicity ≥ 2.
                var owner = Enumerable.Range(0, n).Select(i => new[] { i }).ToArray();
                foreach ((int[] m, double h) in sets)
                    if (h <= threshold)
                        foreach (int i in m) owner[i] = m;
                var expected = owner.Distinct().Where(m => m.Length > 1 || keep || multiplicity[m[0]] >= 2)
                                    .OrderBy(m => m[0]).ToList();
                string what = $"trial {trial} keep {keep} t {threshold:R}";
                Assert.True(ClusteringTestData.Show(expected) == ClusteringTestData.Show(ClusteringTestData.Partition(labels)), what);
                Assert.Equal(expected.Count, clusters);
                for (int c = 0; c < clusters; c++)
                {
                    int[] members = Enumerable.Range(0, n).Where(i => labels[i] == c).ToArray();
                    Assert.Equal(members.MinBy(m => (members.Sum(j => multiplicity[j] * ClusteringTestData.SquaredDistance(x, d, m, j)), m)), medoids[c]);
                }
            }
        }
    }

    [Fact]
    public void DefaultThresholdScalesWithTheSquareRootOfWardsAlpha()
    {
        Assert.Equal(0.9 * Math.Sqrt(2), CompleteLinkage.DefaultThresholdUnitNorm, 15);
        Assert.Equal(1.35, CompleteLinkage.ThresholdFromAlpha(2.25), 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => CompleteLinkage.ThresholdFromAlpha(-1));
    }

    [Fact]
    public void RejectsBadInput()
    {
        float[] x = [0, 0, 1, float.NaN];
        var labels = new int[2];
        var medoids = new int[2];
        Assert.Throws<ArgumentException>(() => CompleteLinkage.Cluster(x, 2, [1, 1], 1, true, labels, medoids));
        Assert.Throws<ArgumentOutOfRangeException>(() => CompleteLinkage.Cluster([0, 0, 1, 1], 2, [1, 1], -1, true, labels, medoids));
        Assert.Throws<ArgumentOutOfRangeException>(() => CompleteLinkage.Cluster([0, 0, 1, 1], 2, [1, 1], double.NaN, true, labels, medoids));
        Assert.Throws<ArgumentException>(() => CompleteLinkage.Cluster([0, 0, 1, 1], 2, [1, 0], 1, true, labels, medoids));
        Assert.Throws<ArgumentException>(() => CompleteLinkage.Cluster([0, 0, 1, 1], 2, [1, 1], 1, true, new int[1], medoids));
        Assert.Equal(0, CompleteLinkage.Cluster([], 3, [], 1, true, [], []));
    }

    /// <summary>O(n³): merge the two clusters with the smallest largest pairwise Euclidean distance, recomputed from the
    /// items every step (no Lance–Williams).</summary>
    private static List<(int[] Members, double Height)> NaiveComplete(float[] x, int n, int d)
    {
        var clusters = Enumerable.Range(0, n).Select(i => new List<int> { i }).ToList();
        var sets = new List<(int[], double)>();
        while (clusters.Count > 1)
        {
            int ba = -1, bb = -1;
            double best = double.PositiveInfinity;
            for (int a = 0; a < clusters.Count; a++)
                for (int b = a + 1; b < clusters.Count; b++)
                {
                    double diameter = clusters[a].Max(i => clusters[b].Max(j => Math.Sqrt(ClusteringTestData.SquaredDistance(x, d, i, j))));
                    if (diameter < best)
                    {
                        best = diameter;
                        (ba, bb) = (a, b);
                    }
                }
            var merged = clusters[ba].Concat(clusters[bb]).OrderBy(i => i).ToList();
            sets.Add((merged.ToArray(), best));
            clusters[ba] = merged;
            clusters.RemoveAt(bb);
        }
        return sets;
    }

    /// <summary>scipy's Z and fcluster labels at thresholds between consecutive distinct heights.</summary>
    private static List<(double[] Z, List<(double T, int[] Labels)> Cuts)> Scipy(List<(float[] X, int D)> inputs)
    {
        using var dir = new TempDir();
        for (int c = 0; c < inputs.Count; c++)
        {
            var sb = new StringBuilder();
            (float[] x, int d) = inputs[c];
            for (int i = 0; i < x.Length / d; i++)
                sb.AppendJoin(' ', x.AsSpan(i * d, d).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
            File.WriteAllText(dir.File($"{c}.txt"), sb.ToString());
        }
        string script = $$"""
            import numpy as np
            from scipy.cluster.hierarchy import linkage, fcluster
            for c in range({{inputs.Count}}):
                x = np.loadtxt(r'{{dir.Path}}/%d.txt' % c, dtype=np.float32, ndmin=2)
                z = linkage(x, method='complete')
                h = np.unique(z[:, 2])
                ts = sorted(set([0.0] + [float((h[i] + h[i + 1]) / 2) for i in np.linspace(0, len(h) - 2, min(6, len(h) - 1)).astype(int)] + [float(h[-1]) + 1]))
                print('Z', c, z.shape[0], len(ts))
                for row in z:
                    print(' '.join(repr(float(v)) for v in row))
                for t in ts:
                    print(repr(t), ' '.join(str(int(v)) for v in fcluster(z, t, criterion='distance')))
            """;
        (int exitCode, string stdout, string stderr) = TestData.RunPython(script, []);
        Assert.True(exitCode == 0, $"python failed: {stderr}");
        var result = new List<(double[], List<(double, int[])>)>();
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int l = 0; l < lines.Length;)
        {
            string[] head = lines[l++].Split(' ');
            int rows = int.Parse(head[2], CultureInfo.InvariantCulture), cuts = int.Parse(head[3], CultureInfo.InvariantCulture);
            var z = new double[rows * 4];
            for (int r = 0; r < rows; r++)
            {
                string[] v = lines[l++].Split(' ');
                for (int k = 0; k < 4; k++) z[r * 4 + k] = double.Parse(v[k], CultureInfo.InvariantCulture);
            }
            var list = new List<(double, int[])>();
            for (int t = 0; t < cuts; t++)
            {
                string[] v = lines[l++].Split(' ');
                list.Add((double.Parse(v[0], CultureInfo.InvariantCulture), v.Skip(1).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()));
            }
            result.Add((z, list));
        }
        return result;
    }
}
