using PinnerSage.Clustering;
using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Clustering;

/// <summary>Ward heights and Z against scipy.cluster.hierarchy.linkage(method='ward').</summary>
public sealed class WardScipyTests(ITestOutputHelper output)
{
    [Fact]
    public void RandomVectorsGiveScipysFullLinkageMatrix()
    {
        if (Skip()) return;
        var inputs = new List<(float[] X, int D)>();
        int[] sizes = [2, 3, 7, 30, 101, 257];
        int[] dims = [1, 3, 16, 64, 256, 5];
        for (int c = 0; c < sizes.Length; c++) inputs.Add((ClusteringTestData.Vectors(sizes[c], dims[c], 100 + c), dims[c]));
        AssertScipysLinkage(inputs, c => $"case {c}");
    }

    [Fact]
    public void DuplicatesAndGridTiesGiveScipysHeights()
    {
        if (Skip()) return;
        var inputs = new List<(float[] X, int D)>
        {
            (ClusteringTestData.Vectors(60, 4, 7, duplicates: 0.4), 4),
            (ClusteringTestData.Vectors(80, 2, 8, grid: true), 2),
            (ClusteringTestData.Vectors(50, 3, 9, duplicates: 0.2, grid: true), 3),
            (new float[10 * 3], 3), // all identical: every height 0
            (ClusteringTestData.Vectors(600, 3, 10, grid: true), 3), // 343 grid points for 600 rows: ties everywhere, compaction
        };
        AssertScipysLinkage(inputs, c => $"case {c}");
    }

    [Fact]
    public void RealTextVectorsGiveScipysLinkage()
    {
        if (Skip()) return;
        if (TestData.RequireDataset("amazon-scientific/vectors/text_lm.npy", output) is not string path) return;
        float[] all = Npy.ReadFloat32(path, out int rows, out int d);
        int n = Math.Min(rows, 400);
        float[] x = all.AsSpan(0, n * d).ToArray();
        var inputs = new List<(float[] X, int D)> { (x, d), (x.AsSpan(0, 37 * d).ToArray(), d) };
        AssertScipysLinkage(inputs, c => $"real {c} (n = {n})");
    }

    private bool Skip() => !ScipyReference.Require(output);

    /// <summary>Our Z of every input equals scipy's (<see cref="CompareZ"/> with ids and sizes).</summary>
    private static void AssertScipysLinkage(List<(float[] X, int D)> inputs, Func<int, string> what)
    {
        List<double[]> expected = ScipyReference.Linkage(inputs);
        for (int c = 0; c < inputs.Count; c++)
            CompareZ(expected[c], WardClustering.Linkage(inputs[c].X, inputs[c].D).ToScipyLinkage(), full: true, what(c));
    }

    /// <summary>Sorted heights to 1e-9 relative always; with <paramref name="full"/> (no ties) also ids and sizes.</summary>
    private static void CompareZ(double[] expected, double[] actual, bool full, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int rows = expected.Length / 4;
        double top = rows == 0 ? 0 : expected[^2];
        double[] he = Enumerable.Range(0, rows).Select(r => expected[4 * r + 2]).OrderBy(h => h).ToArray();
        double[] ha = Enumerable.Range(0, rows).Select(r => actual[4 * r + 2]).OrderBy(h => h).ToArray();
        for (int r = 0; r < rows; r++) ClusteringTestData.AssertClose(he[r], ha[r], 1e-9, 1e-12 * top, $"{what}: sorted height {r}");
        for (int r = 0; r < rows; r++)
        {
            ClusteringTestData.AssertClose(expected[4 * r + 2], actual[4 * r + 2], 1e-9, 1e-12 * top, $"{what}: row {r} height");
            if (!full) continue;
            Assert.True(expected[4 * r] == actual[4 * r] && expected[4 * r + 1] == actual[4 * r + 1] && expected[4 * r + 3] == actual[4 * r + 3],
                        $"{what}: row {r}: scipy [{expected[4 * r]}, {expected[4 * r + 1]}, {expected[4 * r + 3]}], ours [{actual[4 * r]}, {actual[4 * r + 1]}, {actual[4 * r + 3]}]");
        }
    }
}
