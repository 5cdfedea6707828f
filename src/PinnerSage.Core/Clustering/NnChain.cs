using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using PinnerSage.Numerics;

namespace PinnerSage.Clustering;

/// <summary>One merge of the nearest-neighbour chain, in the order it happened: clusters in slots
/// <see cref="X"/> &lt; <see cref="Y"/> merged at height <see cref="Height"/> (√ of the Ward distance); the union lives
/// on in slot Y and slot X is removed (fastcluster's and scipy's convention).</summary>
internal readonly record struct NnChainMerge(int X, int Y, double Height, double Size);

/// <summary>Ward clustering by the nearest-neighbour chain.</summary>
/// <remarks>
/// <para>Murtagh, "Multidimensional clustering algorithms", COMPSTAT Lectures 4 (1985), p. 86; Müllner, "Modern
/// hierarchical, agglomerative clustering algorithms", arXiv:1109.2378 (2011), Fig. 4 (NN-chain-linkage); papers/PINNERSAGE.md,
/// Model step 1. Grow a chain of nearest neighbours until its top two are reciprocal nearest neighbours, merge them,
/// update distances with <see cref="LanceWilliams.WardRow"/>. Ward is reducible, so the chain below the merged pair stays
/// valid and no cluster is pushed twice: O(n²) time, O(n²) memory (one condensed matrix), exact same dendrogram as the
/// greedy "merge the closest pair" algorithm.</para>
/// <para>Ties follow scipy's <c>_hierarchy.nn_chain</c> exactly (our choice, so Z matches scipy's when it can): a new
/// chain starts at the lowest active slot; among equally near neighbours the previous chain element wins, otherwise the
/// lowest slot.</para>
/// <para>Layout (our choice, for speed): a removed cluster's column is overwritten with +∞ while the update reads it
/// anyway, so a row's part right of the diagonal is scanned as one contiguous SIMD arg-min with no liveness test; the
/// part left of the diagonal (a strided column) walks only the sorted list of active slots.</para>
/// </remarks>
internal static class NnChain
{
    /// <summary>Runs the chain on <paramref name="distances"/> (condensed, n(n−1)/2 Ward heights, destroyed) with
    /// initial cluster sizes <paramref name="size"/> (destroyed), writing the n − 1 merges in the order they happen.</summary>
    /// <param name="distances">Condensed Ward heights (√ of the squared-scale distances), destroyed.</param>
    /// <param name="n">Number of items.</param>
    /// <param name="size">Initial cluster sizes, destroyed.</param>
    /// <param name="merges">n − 1 merges out, in chain order.</param>
    /// <param name="rowOffset">n entries, <see cref="PairwiseDistances.RowOffset"/> of each row.</param>
    /// <param name="chain">n ints of scratch.</param>
    /// <param name="active">n ints of scratch.</param>
    public static void Run(Span<double> distances, int n, Span<double> size, ReadOnlySpan<nint> rowOffset,
                           Span<int> chain, Span<int> active, Span<NnChainMerge> merges)
    {
        Debug.Assert(size.Length >= n && rowOffset.Length >= n && chain.Length >= n && active.Length >= n);
        Debug.Assert(merges.Length >= n - 1 && distances.Length >= PairwiseDistances.PairCount(n));
        ref double d0 = ref MemoryMarshal.GetReference(distances);
        for (int i = 0; i < n; i++) active[i] = i;
        int activeCount = n;
        int chainLength = 0;
        for (int step = 0; step < n - 1; step++)
        {
            if (chainLength == 0) chain[chainLength++] = active[0];
            int x, y;
            double dxy;
            // Invariant: chain[t+1] is a nearest neighbour of chain[t] among the active clusters, so distances along
            // the chain strictly decrease and it ends at a reciprocal pair within n steps.
            while (true)
            {
                x = chain[chainLength - 1];
                int xPos = active[..activeCount].BinarySearch(x);
                (y, dxy) = NearestNeighbour(ref d0, n, x, xPos, active[..activeCount], rowOffset);
                if (chainLength > 1)
                {
                    int previous = chain[chainLength - 2];
                    double dPrevious = Distance(ref d0, rowOffset, x, previous);
                    if (dPrevious <= dxy)
                    {
                        y = previous;
                        dxy = dPrevious;
                        break;
                    }
                }
                chain[chainLength++] = y;
            }
            chainLength -= 2;
            if (x > y) (x, y) = (y, x);
            double nx = size[x], ny = size[y];
            merges[step] = new NnChainMerge(x, y, dxy, nx + ny);
            Update(ref d0, distances, n, x, y, dxy, size, rowOffset, active[..activeCount]);
            size[x] = 0;
            size[y] = nx + ny;
            int removeAt = active[..activeCount].BinarySearch(x);
            active.Slice(removeAt + 1, activeCount - removeAt - 1).CopyTo(active[removeAt..]);
            activeCount--;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Distance(ref double d0, ReadOnlySpan<nint> rowOffset, int a, int b)
        => a < b ? Unsafe.Add(ref d0, rowOffset[a] + b) : Unsafe.Add(ref d0, rowOffset[b] + a);

    /// <summary>Nearest active neighbour of x: the lowest slot at the minimum distance.</summary>
    private static (int Slot, double Distance) NearestNeighbour(ref double d0, int n, int x, int xPos,
                                                               ReadOnlySpan<int> active, ReadOnlySpan<nint> rowOffset)
    {
        int best = -1;
        double bestDistance = double.PositiveInfinity;
        // Left of the diagonal: column x of the active rows above it (strided).
        for (int p = 0; p < xPos; p++)
        {
            int i = active[p];
            double d = Unsafe.Add(ref d0, rowOffset[i] + x);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = i;
            }
        }
        // Right of the diagonal: row x, contiguous; removed columns hold +∞. Strict < keeps the lower slot on ties.
        if (x < n - 1)
        {
            ReadOnlySpan<double> row = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref d0, rowOffset[x] + x + 1), n - x - 1);
            (int k, double d) = ArgMin(row);
            if (d < bestDistance || best < 0)
            {
                bestDistance = d;
                best = x + 1 + k;
            }
        }
        return (best, bestDistance);
    }

    /// <summary>First index of the minimum of a non-empty span (NaN-free input).</summary>
    internal static (int Index, double Value) ArgMin(ReadOnlySpan<double> values)
    {
        Debug.Assert(values.Length > 0);
        int k = 0;
        int bestIndex = 0;
        double best = values[0];
        if (Vector256.IsHardwareAccelerated && values.Length >= 2 * Vector256<double>.Count)
        {
            ref double v0 = ref MemoryMarshal.GetReference(values);
            Vector256<double> bestV = Vector256.LoadUnsafe(ref v0);
            Vector256<long> index = Vector256.Create(0L, 1, 2, 3);
            Vector256<long> bestI = index;
            Vector256<long> four = Vector256.Create((long)Vector256<double>.Count);
            // Per lane, strict < keeps the first occurrence of that lane's minimum.
            for (k = Vector256<double>.Count; k <= values.Length - Vector256<double>.Count; k += Vector256<double>.Count)
            {
                Vector256<double> v = Vector256.LoadUnsafe(ref v0, (nuint)k);
                index += four;
                Vector256<double> less = Vector256.LessThan(v, bestV);
                bestV = Vector256.ConditionalSelect(less, v, bestV);
                bestI = Vector256.ConditionalSelect(less.AsInt64(), index, bestI);
            }
            best = bestV.GetElement(0);
            bestIndex = (int)bestI.GetElement(0);
            for (int lane = 1; lane < Vector256<double>.Count; lane++)
            {
                double v = bestV.GetElement(lane);
                int i = (int)bestI.GetElement(lane);
                if (v < best || (v == best && i < bestIndex))
                {
                    best = v;
                    bestIndex = i;
                }
            }
        }
        for (; k < values.Length; k++)
        {
            if (values[k] < best)
            {
                best = values[k];
                bestIndex = k;
            }
        }
        return (bestIndex, best);
    }

    /// <summary>Lance–Williams update after merging x &lt; y into slot y; also writes +∞ over column x of the active rows
    /// above x (row x itself is never read again).</summary>
    private static void Update(ref double d0, Span<double> distances, int n, int x, int y, double dxy, Span<double> size,
                               ReadOnlySpan<nint> rowOffset, ReadOnlySpan<int> active)
    {
        double nx = size[x], ny = size[y];
        foreach (int i in active)
        {
            if (i >= y) break;
            if (i == x) continue;
            if (i < x)
            {
                ref double dix = ref Unsafe.Add(ref d0, rowOffset[i] + x);
                ref double diy = ref Unsafe.Add(ref d0, rowOffset[i] + y);
                diy = LanceWilliams.Ward(dix, diy, dxy, nx, ny, size[i]);
                dix = double.PositiveInfinity;
            }
            else
            {
                ref double diy = ref Unsafe.Add(ref d0, rowOffset[i] + y);
                diy = LanceWilliams.Ward(Unsafe.Add(ref d0, rowOffset[x] + i), diy, dxy, nx, ny, size[i]);
            }
        }
        // Right of y, rows x and y are contiguous: one vectorised pass over every column (removed ones stay +∞).
        int count = n - y - 1;
        if (count > 0)
        {
            Span<double> rowY = distances.Slice((int)(rowOffset[y] + y + 1), count);
            ReadOnlySpan<double> rowX = distances.Slice((int)(rowOffset[x] + y + 1), count);
            LanceWilliams.WardRow(rowX, rowY, size.Slice(y + 1, count), dxy, nx, ny, rowY);
        }
    }
}
