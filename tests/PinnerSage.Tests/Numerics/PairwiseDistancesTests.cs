using System.Runtime.Intrinsics;
using PinnerSage.Clustering;
using PinnerSage.Numerics;

namespace PinnerSage.Tests.Numerics;

/// <summary>Vector kernels against scalar references at every length 0…3×Vector256&lt;double&gt;.Count+1, so every
/// tail path runs.</summary>
public sealed class PairwiseDistancesTests
{
    private static readonly int MaxLength = 3 * Vector256<double>.Count + 1;

    [Fact]
    public void SinglePairKernelMatchesScalar()
    {
        var random = new Random(1);
        for (int len = 0; len <= MaxLength; len++)
        {
            float[] x = Enumerable.Range(0, len).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            float[] y = Enumerable.Range(0, len).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            Assert.Equal(Scalar(x, y), PairwiseDistances.SquaredEuclidean(x, y), 1e-13);
        }
    }

    [Fact]
    public void CondensedKernelMatchesScalarForEveryShape()
    {
        var random = new Random(2);
        for (int d = 0; d <= MaxLength; d++)
            foreach (int n in new[] { 0, 1, 2, 3, 4, 5, 6, 7, 9, 13, 70, 131 })
            {
                float[] x = Enumerable.Range(0, n * d).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
                int stride = PairwiseDistances.PaddedStride(d);
                var rows = new double[n * stride];
                Assert.True(PairwiseDistances.Widen(x, n, d, rows, stride));
                var condensed = new double[PairwiseDistances.PairCount(n) + 1];
                condensed[^1] = -7; // sentinel: nothing is written past the last pair
                PairwiseDistances.SquaredEuclideanCondensed(rows, n, stride, condensed);
                Assert.Equal(-7, condensed[^1]);
                int p = 0;
                for (int i = 0; i < n; i++)
                    for (int j = i + 1; j < n; j++, p++)
                    {
                        Assert.Equal(p, (int)(PairwiseDistances.RowOffset(n, i) + j));
                        double expected = Scalar(x.AsSpan(i * d, d), x.AsSpan(j * d, d));
                        Assert.True(Math.Abs(expected - condensed[p]) <= 1e-14 * expected, $"n {n} d {d} ({i},{j}): {expected} vs {condensed[p]}");
                    }
            }
    }

    [Fact]
    public void WidenFlagsNaNAndInfinityAtEveryPosition()
    {
        for (int d = 1; d <= MaxLength + 8; d++)
            for (int bad = 0; bad < d; bad++)
                foreach (float value in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                {
                    float[] x = new float[2 * d];
                    x[d + bad] = value;
                    int stride = PairwiseDistances.PaddedStride(d);
                    Assert.False(PairwiseDistances.Widen(x, 2, d, new double[2 * stride], stride));
                }
    }

    [Fact]
    public void WardRowMatchesScalar()
    {
        var random = new Random(3);
        for (int len = 0; len <= MaxLength; len++)
        {
            double[] a = Enumerable.Range(0, len).Select(_ => random.NextDouble() * 3).ToArray();
            double[] b = Enumerable.Range(0, len).Select(_ => random.NextDouble() * 3).ToArray();
            double[] n = Enumerable.Range(0, len).Select(_ => (double)random.Next(0, 5)).ToArray();
            for (int k = 0; k < len; k++)
                if (n[k] == 0) a[k] = b[k] = double.PositiveInfinity; // removed clusters stay +∞
            var destination = new double[len];
            LanceWilliams.WardRow(a, b, n, 0.7, 2, 3, destination);
            for (int k = 0; k < len; k++)
            {
                double t = 1.0 / (2 + 3 + n[k]);
                double expected = Math.Sqrt((n[k] + 2) * t * a[k] * a[k] + (n[k] + 3) * t * b[k] * b[k] - n[k] * t * 0.7 * 0.7);
                Assert.Equal(expected, destination[k]); // same operations in the same order: bit-identical
            }
        }
    }

    [Fact]
    public void ArgMinReturnsTheFirstUnmaskedMinimum()
    {
        var random = new Random(4);
        for (int len = 1; len <= 4 * MaxLength; len++)
            for (int trial = 0; trial < 20; trial++)
            {
                double[] v = Enumerable.Range(0, len).Select(_ => (double)random.Next(0, 4)).ToArray();
                double[] p = Enumerable.Range(0, len).Select(_ => random.Next(3) == 0 ? double.PositiveInfinity : 0).ToArray();
                p[random.Next(len)] = 0;
                double[] masked = v.Zip(p, (a, b) => a + b).ToArray();
                int expected = Array.IndexOf(masked, masked.Min());
                Assert.Equal((expected, v[expected]), NnChain.ArgMin(v, p));
            }
    }

    [Fact]
    public void CondensedKernelAlsoWritesTheMirroredEuclideanMatrix()
    {
        var random = new Random(5);
        foreach (int n in new[] { 2, 3, 5, 8, 67, 130 })
            foreach (int d in new[] { 1, 4, 7, 33 })
            {
                float[] x = Enumerable.Range(0, n * d).Select(_ => (float)random.NextDouble()).ToArray();
                int stride = PairwiseDistances.PaddedStride(d);
                var rows = new double[n * stride];
                PairwiseDistances.Widen(x, n, d, rows, stride);
                var condensed = new double[PairwiseDistances.PairCount(n)];
                var full = Enumerable.Repeat(-1.0, n * n).ToArray();
                PairwiseDistances.SquaredEuclideanCondensed(rows, n, stride, condensed, full);
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double expected = i == j ? -1 : Math.Sqrt(condensed[PairwiseDistances.RowOffset(n, Math.Min(i, j)) + Math.Max(i, j)]);
                        Assert.Equal(expected, full[i * n + j]);
                    }
            }
    }

    private static double Scalar(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int k = 0; k < x.Length; k++)
        {
            double t = (double)x[k] - y[k];
            s += t * t;
        }
        return s;
    }
}
