using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PinnerSage.Clustering;

/// <summary>The Lance–Williams updates for Ward's method (evaluated on Euclidean heights exactly as scipy does) and for
/// complete linkage.</summary>
/// <remarks>
/// <para>Lance &amp; Williams, "A general theory of classificatory sorting strategies", Computer Journal 9 (1967); Ward's
/// coefficients as in Müllner, "Modern hierarchical, agglomerative clustering algorithms", arXiv:1109.2378, Fig. 2, and
/// papers/PINNERSAGE.md, Model step 1, on squared distances d:
/// d(i∪j, k) = ((n_i+n_k)·d_ik + (n_j+n_k)·d_jk − n_k·d_ij) / (n_i+n_j+n_k). On this scale clusters a, b are
/// d(a, b) = 2·n_a·n_b/(n_a+n_b)·‖c_a − c_b‖² apart (c = centroid), two single items ‖a − b‖².</para>
/// <para>(our choice) We store h = √d, scipy's height, and evaluate the formula in scipy's own operation order
/// (scipy/cluster/_hierarchy_distance_update.pxi, <c>_ward</c>): t = 1/(n_i+n_j+n_k),
/// h = √((n_k+n_i)·t·h_ik·h_ik + (n_k+n_j)·t·h_jk·h_jk − n_k·t·h_ij·h_ij). It is the same update; doing it in the same
/// floating-point steps makes exact ties (duplicates, grid data) break the same way, and the Ward dendrogram is not
/// unique under ties, so only this gives scipy's heights and Z on tied data. It costs one square root per update.
/// (our choice) A radicand that rounding made negative (all three clusters at one point) is clamped to 0 where scipy
/// would return NaN. O(1) per distance.</para>
/// </remarks>
internal static class LanceWilliams
{
    /// <summary>Height of the merged cluster i∪j to cluster k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Ward(double hik, double hjk, double hij, double ni, double nj, double nk)
    {
        double t = 1.0 / (ni + nj + nk);
        return Math.Sqrt(Math.Max(0, (nk + ni) * t * hik * hik + (nk + nj) * t * hjk * hjk - nk * t * hij * hij));
    }

    /// <summary>Initial height of two clusters of identical items, √(2·n_i·n_j/(n_i+n_j))·‖P_i − P_j‖: what the update
    /// reaches after first merging the duplicates (at height 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double InitialScale(double ni, double nj) => Math.Sqrt(2 * ni * nj / (ni + nj));

    /// <summary>Height from the merged cluster i∪j to every cluster k of a run: <paramref name="destination"/>[k] =
    /// Ward(hik[k], hjk[k], hij, ni, nj, nk[k]). A removed cluster has nk = 0 and hik = hjk = +∞, and stays +∞.</summary>
    /// <remarks><paramref name="destination"/> may be <paramref name="hjk"/> itself.</remarks>
    public static void WardRow(ReadOnlySpan<double> hik, ReadOnlySpan<double> hjk, ReadOnlySpan<double> nk,
                               double hij, double ni, double nj, Span<double> destination)
    {
        Debug.Assert(hjk.Length == hik.Length && nk.Length == hik.Length && destination.Length >= hik.Length);
        int k = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<double> vi = Vector256.Create(ni), vj = Vector256.Create(nj), vij = Vector256.Create(hij);
            Vector256<double> one = Vector256.Create(1.0);
            for (; k <= hik.Length - Vector256<double>.Count; k += Vector256<double>.Count)
            {
                Vector256<double> n = Vector256.Create(nk[k..]);
                Vector256<double> a = Vector256.Create(hik[k..]), b = Vector256.Create(hjk[k..]);
                Vector256<double> t = one / (vi + vj + n);
                Vector256<double> h = Vector256.Sqrt(Vector256.Max(Vector256<double>.Zero,
                                                                   (n + vi) * t * a * a + (n + vj) * t * b * b - n * t * vij * vij));
                h.CopyTo(destination[k..]);
            }
        }
        for (; k < hik.Length; k++) // scalar tail and non-SIMD fallback: the same operations in the same order
            destination[k] = Ward(hik[k], hjk[k], hij, ni, nj, nk[k]);
    }

    /// <summary>Complete linkage (Lance &amp; Williams 1967; Müllner 2011, Fig. 2): d(i∪j, k) = max(d_ik, d_jk), on
    /// Euclidean distances (scipy's scale). A max is exact, so any operation order gives scipy's heights. Removed
    /// columns hold +∞ or stale finite values and stay masked by the chain's penalty row.</summary>
    /// <remarks><paramref name="destination"/> may be <paramref name="hjk"/> itself.</remarks>
    public static void CompleteRow(ReadOnlySpan<double> hik, ReadOnlySpan<double> hjk, Span<double> destination)
    {
        Debug.Assert(hjk.Length == hik.Length && destination.Length >= hik.Length);
        System.Numerics.Tensors.TensorPrimitives.Max(hik, hjk, destination[..hik.Length]);
    }
}
