using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PinnerSage.Numerics;

/// <summary>All pairwise squared Euclidean distances of n vectors, in double precision, into a condensed
/// upper-triangular matrix (the layout of scipy's <c>pdist</c>: pair (i, j), i &lt; j, at
/// <c>i·n − i(i+1)/2 + j − i − 1</c>).</summary>
/// <remarks>
/// <para>Method (our choice): every float32 row is widened once to double and zero-padded to a multiple of
/// <see cref="Vector256{T}.Count"/>, then each pair is computed by differences, d_ij = Σ_k (x_ik − x_jk)², with a fused
/// multiply–add in double. Differences of widened float32 values are exact in double, so the only rounding is the
/// summation (relative error ≲ dim·2⁻⁵³, about 1e-14 for dim = 256). This is what scipy's <c>pdist</c> computes (it converts
/// to float64 first), so Ward heights agree with scipy to ~1e-12 relative. We rejected the Gram form
/// ‖x‖² + ‖y‖² − 2x·y (one FMA per element instead of a subtract and an FMA): it cancels catastrophically for near
/// duplicates, exactly the pairs Ward merges first.</para>
/// <para>Speed: a 2 × 4 register-blocked micro-kernel (two rows against four columns: 6 loads, 8 subtracts and 8 FMAs
/// per 4 elements, 8 accumulators in registers) over tiles of <see cref="RowTile"/> rows, so a tile's rows stay in L2
/// while four column rows stream through L1. Work is n(n−1)/2 · d multiply–adds: O(n²d) time, O(n·d) scratch. Measured
/// 12–16 elements per ns on one Zen 3 core (AVX2; the double-precision FMA peak is 8 per cycle).</para>
/// </remarks>
internal static unsafe class PairwiseDistances
{
    /// <summary>Rows per tile: 64 rows of d = 256 doubles are 128 KiB, a quarter of a typical L2 (our choice).</summary>
    private const int RowTile = 64;

    /// <summary>Row stride (in doubles) of the widened copy: <paramref name="dimension"/> rounded up to a whole
    /// number of <see cref="Vector256{T}"/> of double.</summary>
    public static int PaddedStride(int dimension) => (dimension + Vector256<double>.Count - 1) & ~(Vector256<double>.Count - 1);

    /// <summary>Number of pairs of n items, the length of the condensed matrix.</summary>
    public static long PairCount(int n) => (long)n * (n - 1) / 2;

    /// <summary>Offset such that pair (i, j), i &lt; j, is at <c>RowOffset(n, i) + j</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint RowOffset(int n, int i) => (nint)i * (2 * (nint)n - i - 1) / 2 - i - 1;

    /// <summary>Widens n rows of float32 (<paramref name="dimension"/> each) to double rows of
    /// <paramref name="stride"/>, zero-padding each row. Returns false when a value is NaN or infinite.</summary>
    public static bool Widen(ReadOnlySpan<float> vectors, int n, int dimension, Span<double> rows, int stride)
    {
        Debug.Assert(vectors.Length >= n * dimension && rows.Length >= n * stride && stride >= dimension);
        bool finite = true;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> src = vectors.Slice(i * dimension, dimension);
            Span<double> dst = rows.Slice(i * stride, stride);
            int k = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                // x − x is 0 for every finite x and NaN for NaN and ±∞: one compare checks all lanes.
                Vector256<float> bad = Vector256<float>.Zero;
                for (; k <= dimension - Vector256<float>.Count; k += Vector256<float>.Count)
                {
                    Vector256<float> v = Vector256.Create(src[k..]);
                    bad |= ~Vector256.Equals(v - v, Vector256<float>.Zero);
                    (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(v);
                    lo.CopyTo(dst[k..]);
                    hi.CopyTo(dst[(k + Vector256<double>.Count)..]);
                }
                finite &= bad == Vector256<float>.Zero;
            }
            for (; k < dimension; k++)
            {
                finite &= float.IsFinite(src[k]);
                dst[k] = src[k];
            }
            dst[dimension..].Clear();
        }
        return finite;
    }

    /// <summary>Squared Euclidean distance of two float32 vectors, accumulated in double (the single-pair form of the
    /// kernel; every length, with a scalar tail).</summary>
    public static double SquaredEuclidean(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Debug.Assert(x.Length == y.Length);
        int k = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<double>.Count)
        {
            Vector256<double> acc = Vector256<double>.Zero;
            for (; k <= x.Length - Vector256<double>.Count; k += Vector256<double>.Count)
            {
                Vector256<double> t = Vector256.WidenLower(Vector256.Create(Vector128.Create(x[k..]), Vector128<float>.Zero))
                                    - Vector256.WidenLower(Vector256.Create(Vector128.Create(y[k..]), Vector128<float>.Zero));
                acc = Vector256.FusedMultiplyAdd(t, t, acc);
            }
            sum = Vector256.Sum(acc);
        }
        for (; k < x.Length; k++)
        {
            double t = (double)x[k] - y[k];
            sum += t * t;
        }
        return sum;
    }

    /// <summary>‖a − b‖² of two double rows (e.g. widened rows against a centroid), with a scalar tail.</summary>
    public static double SquaredEuclidean(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        Debug.Assert(a.Length == b.Length);
        int k = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && a.Length >= Vector256<double>.Count)
        {
            Vector256<double> acc = Vector256<double>.Zero;
            for (; k <= a.Length - Vector256<double>.Count; k += Vector256<double>.Count)
            {
                Vector256<double> t = Vector256.Create(a[k..]) - Vector256.Create(b[k..]);
                acc = Vector256.FusedMultiplyAdd(t, t, acc);
            }
            sum = Vector256.Sum(acc);
        }
        for (; k < a.Length; k++)
        {
            double t = a[k] - b[k];
            sum += t * t;
        }
        return sum;
    }

    /// <summary>Writes d_ij = ‖row_i − row_j‖² for all i &lt; j of the n widened rows (stride
    /// <paramref name="stride"/>, a multiple of 4, padding zero) into <paramref name="condensed"/>.</summary>
    public static void SquaredEuclideanCondensed(ReadOnlySpan<double> rows, int n, int stride, Span<double> condensed)
    {
        Debug.Assert(stride % Vector256<double>.Count == 0 && rows.Length >= n * stride);
        Debug.Assert(condensed.Length >= PairCount(n));
        if (n < 2) return;
        if (!Vector256.IsHardwareAccelerated || !Fma.IsSupported || !Avx.IsSupported)
        {
            ScalarCondensed(rows, n, stride, condensed);
            return;
        }
        fixed (double* r0 = rows)
        fixed (double* c0 = condensed)
        {
            for (int it = 0; it < n; it += RowTile)
            {
                int iEnd = Math.Min(it + RowTile, n);
                // Invariant: every pair (i, j) with i in [it, iEnd) and j > i is written exactly once by this tile:
                // column quads start at the tile's first row, and pairs with j ≤ i inside a quad are masked off.
                for (int jq = it; jq < n; jq += 4)
                {
                    int jCount = Math.Min(4, n - jq);
                    // Missing columns of a short last quad repeat the last real column; their results are discarded.
                    double* b0 = r0 + (nint)jq * stride;
                    double* b1 = r0 + (nint)(jq + Math.Min(1, jCount - 1)) * stride;
                    double* b2 = r0 + (nint)(jq + Math.Min(2, jCount - 1)) * stride;
                    double* b3 = r0 + (nint)(jq + Math.Min(3, jCount - 1)) * stride;
                    int iLast = Math.Min(iEnd, jq + jCount - 1); // rows ≥ jq + jCount − 1 have no column after them here
                    for (int i = it; i < iLast; i += 2)
                    {
                        int i1 = Math.Min(i + 1, iLast - 1); // an odd last row is paired with itself; its copy is discarded
                        Block2x4(r0 + (nint)i * stride, r0 + (nint)i1 * stride, b0, b1, b2, b3, stride,
                                 out Vector256<double> s0, out Vector256<double> s1);
                        Store(c0, n, i, jq, jCount, s0);
                        if (i1 != i) Store(c0, n, i1, jq, jCount, s1);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(double* c0, int n, int i, int jq, int jCount, Vector256<double> s)
    {
        double* row = c0 + RowOffset(n, i);
        if (jq > i && jCount == 4)
        {
            Avx.Store(row + jq, s);
            return;
        }
        for (int c = 0; c < jCount; c++)
        {
            int j = jq + c;
            if (j > i) row[j] = s.GetElement(c);
        }
    }

    /// <summary>Two rows (a0, a1) against four rows (b0…b3): s0[c] = ‖a0 − b_c‖², s1[c] = ‖a1 − b_c‖².</summary>
    /// <remarks>Loop-invariant row pointers and one index: with refs re-derived from row indices, the JIT recomputed
    /// every row address (an imul each) inside the loop, which cost a fifth of the throughput.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block2x4(double* a0, double* a1, double* b0, double* b1, double* b2, double* b3,
                                 int stride, out Vector256<double> s0, out Vector256<double> s1)
    {
        Vector256<double> acc00 = default, acc01 = default, acc02 = default, acc03 = default;
        Vector256<double> acc10 = default, acc11 = default, acc12 = default, acc13 = default;
        for (nint k = 0; k < stride; k += 4)
        {
            Vector256<double> x0 = Avx.LoadVector256(a0 + k);
            Vector256<double> x1 = Avx.LoadVector256(a1 + k);
            Vector256<double> y = Avx.LoadVector256(b0 + k);
            Vector256<double> t = x0 - y;
            acc00 = Fma.MultiplyAdd(t, t, acc00);
            t = x1 - y;
            acc10 = Fma.MultiplyAdd(t, t, acc10);
            y = Avx.LoadVector256(b1 + k);
            t = x0 - y;
            acc01 = Fma.MultiplyAdd(t, t, acc01);
            t = x1 - y;
            acc11 = Fma.MultiplyAdd(t, t, acc11);
            y = Avx.LoadVector256(b2 + k);
            t = x0 - y;
            acc02 = Fma.MultiplyAdd(t, t, acc02);
            t = x1 - y;
            acc12 = Fma.MultiplyAdd(t, t, acc12);
            y = Avx.LoadVector256(b3 + k);
            t = x0 - y;
            acc03 = Fma.MultiplyAdd(t, t, acc03);
            t = x1 - y;
            acc13 = Fma.MultiplyAdd(t, t, acc13);
        }
        s0 = HorizontalSum4(acc00, acc01, acc02, acc03);
        s1 = HorizontalSum4(acc10, acc11, acc12, acc13);
    }

    /// <summary>[Σa, Σb, Σc, Σd] of four 4-lane vectors with two horizontal adds and one cross-lane add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> HorizontalSum4(Vector256<double> a, Vector256<double> b, Vector256<double> c, Vector256<double> d)
    {
        Vector256<double> ab = Avx.HorizontalAdd(a, b); // a0+a1, b0+b1, a2+a3, b2+b3
        Vector256<double> cd = Avx.HorizontalAdd(c, d); // c0+c1, d0+d1, c2+c3, d2+d3
        return Avx.Permute2x128(ab, cd, 0x20) + Avx.Permute2x128(ab, cd, 0x31);
    }

    /// <summary>Fallback without AVX2/FMA: the same differences, one pair at a time.</summary>
    private static void ScalarCondensed(ReadOnlySpan<double> rows, int n, int stride, Span<double> condensed)
    {
        for (int i = 0; i < n - 1; i++)
        {
            ReadOnlySpan<double> a = rows.Slice(i * stride, stride);
            nint offset = RowOffset(n, i);
            for (int j = i + 1; j < n; j++)
            {
                ReadOnlySpan<double> b = rows.Slice(j * stride, stride);
                double sum = 0;
                for (int k = 0; k < stride; k++)
                {
                    double t = a[k] - b[k];
                    sum += t * t;
                }
                condensed[(int)(offset + j)] = sum;
            }
        }
    }
}
