using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using PinnerSage.Numerics;

namespace PinnerSage.Clustering;

/// <summary>Builds the chain's working matrix: the full symmetric n × n matrix of initial Ward heights from the
/// condensed squared distances.</summary>
/// <remarks>
/// h_ij = √(2·k_i·k_j/(k_i+k_j)·d_ij) for items of multiplicities k_i, k_j (√d_ij when both are 1; see
/// <see cref="LanceWilliams.InitialScale"/>), diagonal +∞ (never a neighbour of itself). (our choice) Tiles of
/// <see cref="Tile"/> × <see cref="Tile"/>: the upper tile is written row by row from contiguous condensed rows, then
/// mirrored into the lower tile while both are in L1, so every cache line of the matrix is written whole and once. At
/// n = 2000 the matrix is 32 MB; writing its mirror half column by column instead costs as much again as computing
/// the distances. O(n²) time.
/// </remarks>
internal static class HeightMatrix
{
    private const int Tile = 32;

    /// <summary>Fills <paramref name="heights"/> (n × n) from <paramref name="condensed"/> (n(n−1)/2) and the
    /// items' multiplicities <paramref name="size"/> (as doubles; ignored when <paramref name="allOnes"/>).</summary>
    public static void Build(ReadOnlySpan<double> condensed, int n, ReadOnlySpan<double> size, bool allOnes,
                             Span<double> heights)
    {
        Debug.Assert(condensed.Length >= PairwiseDistances.PairCount(n) && heights.Length >= (long)n * n);
        for (int i0 = 0; i0 < n; i0 += Tile)
        {
            int i1 = Math.Min(i0 + Tile, n);
            for (int j0 = i0; j0 < n; j0 += Tile)
            {
                int j1 = Math.Min(j0 + Tile, n);
                for (int i = i0; i < i1; i++)
                {
                    int from = Math.Max(j0, i + 1);
                    if (from >= j1) continue;
                    Span<double> row = heights.Slice(i * n + from, j1 - from);
                    TensorPrimitives.Sqrt(condensed.Slice((int)(PairwiseDistances.RowOffset(n, i) + from), j1 - from), row);
                    if (!allOnes) Scale(row, size[i], size.Slice(from, row.Length));
                }
                for (int j = j0; j < j1; j++)
                {
                    Span<double> mirror = heights.Slice(j * n + i0, i1 - i0);
                    for (int i = i0; i < i1 && i < j; i++) mirror[i - i0] = heights[i * n + j];
                }
            }
            for (int i = i0; i < i1; i++) heights[i * n + i] = double.PositiveInfinity;
        }
    }

    /// <summary>row[j] *= √(2·n_i·n_j/(n_i+n_j)), vectorised (most users repeat some items, so this runs on every pair).</summary>
    private static void Scale(Span<double> row, double ni, ReadOnlySpan<double> nj)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<double> twoNi = Vector256.Create(2 * ni), vi = Vector256.Create(ni);
            for (; j <= row.Length - Vector256<double>.Count; j += Vector256<double>.Count)
            {
                Vector256<double> n = Vector256.Create(nj[j..]);
                (Vector256.Create(row[j..]) * Vector256.Sqrt(twoNi * n / (vi + n))).CopyTo(row[j..]);
            }
        }
        for (; j < row.Length; j++) row[j] *= LanceWilliams.InitialScale(ni, nj[j]); // same operations, same order
    }
}
