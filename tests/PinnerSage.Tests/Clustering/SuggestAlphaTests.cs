using PinnerSage.Clustering;
using PinnerSage.IO;
using PinnerSage.Numerics;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Clustering;

/// <summary>The scale-aware α: AlphaPerMedianDistance × the median pairwise squared distance of the catalogue.</summary>
public sealed class SuggestAlphaTests(ITestOutputHelper output)
{
    [Fact]
    public void NearOrthogonalUnitVectorsGiveTheUnitNormDefault()
    {
        const int n = 400, d = 256;
        float[] x = UnitGaussian(n, d, 3);
        double alpha = WardClustering.SuggestAlpha(x, d);
        Assert.InRange(alpha, WardClustering.DefaultAlphaUnitNorm * 0.97, WardClustering.DefaultAlphaUnitNorm * 1.03);
    }

    [Fact]
    public void IsTheScaledMedianOfAllPairsAndScalesWithTheSquare()
    {
        const int n = 30, d = 7;
        float[] x = ClusteringTestData.Vectors(n, d, 4);
        var all = new List<double>();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j) all.Add(Enumerable.Range(0, d).Sum(k => Math.Pow((double)x[i * d + k] - x[j * d + k], 2)));
        all.Sort();
        double median = 0.5 * (all[all.Count / 2 - 1] + all[all.Count / 2]);
        double factor = WardClustering.AlphaPerMedianDistance;
        Assert.InRange(WardClustering.SuggestAlpha(x, d, samplePairs: 40_000), factor * median * 0.95, factor * median * 1.05);
        float[] doubled = x.Select(v => 2 * v).ToArray();
        Assert.Equal(4 * WardClustering.SuggestAlpha(x, d, seed: 9), WardClustering.SuggestAlpha(doubled, d, seed: 9), 1e-12);
        Assert.Equal(WardClustering.SuggestAlpha(x, d, seed: 5), WardClustering.SuggestAlpha(x, d, seed: 5));
    }

    [Fact]
    public void RejectsTooFewRows()
    {
        Assert.Throws<ArgumentException>(() => WardClustering.SuggestAlpha([1, 2, 3], 3));
        Assert.Throws<ArgumentException>(() => WardClustering.SuggestAlpha([1, 2, 3, 4], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => WardClustering.SuggestAlpha([1, 2, 3, 4], 2, samplePairs: 0));
    }

    [Fact]
    public void RealTextVectorsGetASmallerAlphaThanTheUnitNormDefault()
    {
        if (TestData.RequireDataset("amazon-scientific/vectors/text_lm.npy", output) is not string path) return;
        float[] x = Npy.ReadFloat32(path, out int rows, out int d);
        x = VectorNorms.NormalizeRows(x, rows, d);
        double alpha = WardClustering.SuggestAlpha(x, d);
        output.WriteLine($"text_lm, normalised: α = {alpha:G5}");
        // Median squared distance of random pairs ≈ 1.02 (cos ≈ 0.49), about half that of orthogonal unit vectors.
        Assert.InRange(alpha, 0.9 * WardClustering.AlphaPerMedianDistance, 1.15 * WardClustering.AlphaPerMedianDistance);
        Assert.True(alpha < 0.6 * WardClustering.DefaultAlphaUnitNorm);
    }

    private static float[] UnitGaussian(int n, int d, int seed)
    {
        var random = new Random(seed);
        var x = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            double norm = 0;
            for (int k = 0; k < d; k++)
            {
                double g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                x[i * d + k] = (float)g;
                norm += g * g;
            }
            for (int k = 0; k < d; k++) x[i * d + k] /= (float)Math.Sqrt(norm);
        }
        return x;
    }
}
