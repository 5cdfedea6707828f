using PinnerSage.Numerics;

namespace PinnerSage.Tests.Numerics;

/// <summary>The blocked GEMM against a naive triple loop in double, for every transpose combination and shapes
/// that hit every edge (0, 1, partial 6×16 tiles, K across block boundaries, padded leading dimensions).</summary>
public sealed class GemmTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 0, 0, 0 }, { 0, 5, 3 }, { 5, 0, 3 }, { 5, 3, 0 }, { 1, 1, 1 }, { 1, 17, 1 }, { 17, 1, 9 },
        { 6, 16, 1 }, { 6, 16, 256 }, { 7, 13, 5 }, { 13, 33, 257 }, { 31, 47, 513 }, { 97, 65, 300 }, { 200, 50, 64 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesNaiveForEveryTransposeAndBeta(int m, int n, int k)
    {
        var random = new Random(m * 1000 + n * 10 + k);
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (float beta in new[] { 0f, 1f, -0.5f })
                {
                    int pad = (m + n + k) % 3; // exercise leading dimensions larger than the row width
                    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
                    float[] a = Random(random, Math.Max(0, (ta ? k : m) * lda));
                    float[] b = Random(random, Math.Max(0, (tb ? n : k) * ldb));
                    float[] c = Random(random, m * ldc);
                    if (beta == 0) Array.Fill(c, float.NaN); // β = 0 must not read C
                    float[] expected = Naive(ta, tb, m, n, k, 1.5f, a, lda, b, ldb, beta, c, ldc, out double[] scale);
                    Gemm.Multiply(ta, tb, m, n, k, 1.5f, a, lda, b, ldb, beta, c, ldc, threads: 1);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            int idx = i * ldc + j;
                            Assert.True(Math.Abs(c[idx] - expected[idx]) <= 1e-6 * scale[idx] + 1e-6,
                                $"ta={ta} tb={tb} beta={beta} ({i},{j}): {c[idx]} vs {expected[idx]}");
                        }
                }
    }

    /// <summary>Both split directions (N blocks when m ≤ n, M blocks otherwise), every transposition, β ≠ 0, and
    /// thread counts that give uneven blocks: the threaded result is bitwise the serial one.</summary>
    [Theory]
    [InlineData(301, 203, 517)]
    [InlineData(203, 301, 517)]
    [InlineData(40, 700, 600)]
    [InlineData(700, 40, 300)]
    public void ResultsAreBitwiseIdenticalForAnyThreadCount(int m, int n, int k)
    {
        var random = new Random(m + n + k);
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                int lda = ta ? m : k, ldb = tb ? k : n;
                float[] a = Random(random, m * k), b = Random(random, k * n), c0 = Random(random, m * n);
                float[] serial = (float[])c0.Clone();
                Gemm.Multiply(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.5f, serial, n, threads: 1);
                foreach (int threads in new[] { 2, 3, 4 })
                {
                    float[] c = (float[])c0.Clone();
                    Gemm.Multiply(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.5f, c, n, threads);
                    Assert.True(serial.AsSpan().SequenceEqual(c), $"ta={ta} tb={tb} threads={threads}");
                }
            }
    }

    private static float[] Random(Random random, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Reference in double; <paramref name="scale"/> is Σ|α·a·b| + |β·c| per element, the size the float
    /// rounding error is proportional to (relative error ≲ k·2⁻²⁴ in the worst case, far less in practice).</summary>
    private static float[] Naive(bool ta, bool tb, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb,
                                 float beta, float[] c, int ldc, out double[] scale)
    {
        var result = (float[])c.Clone();
        scale = new double[c.Length];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = ta ? a[p * lda + i] : a[i * lda + p];
                    double y = tb ? b[j * ldb + p] : b[p * ldb + j];
                    sum += x * y;
                    abs += Math.Abs(x * y);
                }
                double old = beta == 0 ? 0 : beta * (double)c[i * ldc + j];
                result[i * ldc + j] = (float)(alpha * sum + old);
                scale[i * ldc + j] = Math.Abs(alpha) * abs + Math.Abs(old);
            }
        return result;
    }
}
