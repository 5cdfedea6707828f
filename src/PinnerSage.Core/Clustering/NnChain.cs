using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PinnerSage.Clustering;

/// <summary>One merge of the nearest-neighbour chain, in the order it happened: clusters in slots
/// <see cref="X"/> &lt; <see cref="Y"/> merged at height <see cref="Height"/> (√ of the Ward distance); the union lives
/// on in slot Y and slot X is removed (fastcluster's and scipy's convention).</summary>
internal readonly record struct NnChainMerge(int X, int Y, double Height, double Size);

/// <summary>One Lance–Williams update, as a struct operator so the chain specialises per linkage (no delegate or virtual
/// call per merge): row k of the destination = height from the merged cluster i∪j to cluster k.</summary>
internal interface ILanceWilliamsUpdate
{
    /// <summary>destination[k] = h(i∪j, k) from hik[k], hjk[k], the sizes nk[k], hij and the merged sizes ni, nj;
    /// <paramref name="destination"/> may be <paramref name="hjk"/>.</summary>
    static abstract void Row(ReadOnlySpan<double> hik, ReadOnlySpan<double> hjk, ReadOnlySpan<double> nk, double hij,
                             double ni, double nj, Span<double> destination);
}

/// <summary>Ward's update (<see cref="LanceWilliams.WardRow"/>).</summary>
internal readonly struct WardUpdate : ILanceWilliamsUpdate
{
    public static void Row(ReadOnlySpan<double> hik, ReadOnlySpan<double> hjk, ReadOnlySpan<double> nk, double hij,
                           double ni, double nj, Span<double> destination)
        => LanceWilliams.WardRow(hik, hjk, nk, hij, ni, nj, destination);
}

/// <summary>Complete linkage's update (<see cref="LanceWilliams.CompleteRow"/>).</summary>
internal readonly struct CompleteUpdate : ILanceWilliamsUpdate
{
    public static void Row(ReadOnlySpan<double> hik, ReadOnlySpan<double> hjk, ReadOnlySpan<double> nk, double hij,
                           double ni, double nj, Span<double> destination)
        => LanceWilliams.CompleteRow(hik, hjk, destination);
}

/// <summary>Ward (and complete-linkage) clustering by the nearest-neighbour chain.</summary>
/// <remarks>
/// <para>Murtagh, "Multidimensional clustering algorithms", COMPSTAT Lectures 4 (1985), p. 86; Müllner, "Modern
/// hierarchical, agglomerative clustering algorithms", arXiv:1109.2378 (2011), Fig. 4 (NN-chain-linkage); papers/PINNERSAGE.md,
/// Model step 1. Grow a chain of nearest neighbours until its top two are reciprocal nearest neighbours, merge them,
/// update distances with <see cref="LanceWilliams.WardRow"/>. Ward is reducible, so the chain below the merged pair stays
/// valid and no cluster is pushed twice: O(n²) time, the same dendrogram as the greedy "merge the closest pair"
/// algorithm.</para>
/// <para>The update is a type parameter: complete linkage (<see cref="CompleteUpdate"/>, max of the two heights) is
/// reducible too (Müllner 2011, §3.2), so the same chain gives its exact dendrogram, as scipy's
/// <c>linkage(method='complete')</c>, which runs the same <c>nn_chain</c>.</para>
/// <para>Ties follow scipy's <c>_hierarchy.nn_chain</c> exactly (our choice, so Z matches scipy's): a new chain starts
/// at the lowest active slot; among equally near neighbours the previous chain element wins, otherwise the lowest
/// slot.</para>
/// <para>Layout (our choice, for speed): the working heights are a full symmetric n × n matrix rather than scipy's
/// condensed triangle. Every nearest-neighbour search is then one contiguous SIMD arg-min over a row (removed slots are
/// masked by adding +∞ from a penalty row), and the update is one contiguous SIMD pass building row y from rows x and y;
/// only the mirrored column y is written with a stride, once per active slot. The condensed layout instead reads a strided
/// column on every search, and at n = 2000 (16 MB) each of those reads misses the cache. The price is 8·n² bytes
/// instead of 4·n². Once half the rows are removed the matrix is compacted in place to the active rows (order kept),
/// so the passes shrink with the number of clusters left.</para>
/// </remarks>
internal static class NnChain
{
    /// <summary>Compact once no more than this share of the matrix's slots is active (our choice: halving keeps the
    /// copying geometric, ≤ n²/3 moves in all, while searches and updates then touch only ≈ 1.5× the active slots).</summary>
    private const int CompactBelowOneIn = 2;

    /// <summary>Smallest matrix worth compacting; below it the whole chain runs in cache anyway.</summary>
    private const int CompactMinimum = 64;

    /// <summary>Runs the chain on <paramref name="heights"/> and writes the n − 1 merges in the order they happen.</summary>
    /// <param name="heights">n × n Ward heights (√ of the squared-scale distances), symmetric, diagonal +∞; destroyed.</param>
    /// <param name="n">Number of items.</param>
    /// <param name="size">Initial cluster sizes; destroyed.</param>
    /// <param name="penalty">n doubles of scratch (0 for an active slot, +∞ for a removed one).</param>
    /// <param name="chain">n ints of scratch.</param>
    /// <param name="slotOf">n ints of scratch: the item slot of each matrix row.</param>
    /// <param name="newIndex">n ints of scratch for compaction.</param>
    /// <param name="merges">n − 1 merges out, in chain order, in item slots.</param>
    public static void Run(Span<double> heights, int n, Span<double> size, Span<double> penalty, Span<int> chain,
                           Span<int> slotOf, Span<int> newIndex, Span<NnChainMerge> merges)
        => Run<WardUpdate>(heights, n, size, penalty, chain, slotOf, newIndex, merges);

    /// <summary>The chain with the Lance–Williams update <typeparamref name="TUpdate"/>; parameters as for the Ward
    /// overload (heights on the scale of that linkage).</summary>
    public static void Run<TUpdate>(Span<double> heights, int n, Span<double> size, Span<double> penalty, Span<int> chain,
                                    Span<int> slotOf, Span<int> newIndex, Span<NnChainMerge> merges)
        where TUpdate : struct, ILanceWilliamsUpdate
    {
        Debug.Assert(heights.Length >= (long)n * n && size.Length >= n && penalty.Length >= n && chain.Length >= n);
        Debug.Assert(slotOf.Length >= n && newIndex.Length >= n && merges.Length >= n - 1);
        penalty[..n].Clear();
        for (int i = 0; i < n; i++) slotOf[i] = i;
        int dim = n; // rows (and the row stride) of the matrix; shrinks when compacted
        int active = n;
        int lowestActive = 0;
        int chainLength = 0;
        for (int step = 0; step < n - 1; step++)
        {
            if (active * CompactBelowOneIn <= dim && dim >= CompactMinimum)
            {
                Compact(heights, dim, size, penalty, chain[..chainLength], slotOf, newIndex);
                dim = active;
                lowestActive = 0;
            }
            if (chainLength == 0)
            {
                while (penalty[lowestActive] != 0) lowestActive++;
                chain[chainLength++] = lowestActive;
            }
            int x, y;
            double hxy;
            // Invariant: chain[t+1] is a nearest neighbour of chain[t] among the active clusters, so heights along the
            // chain strictly decrease and it ends at a reciprocal pair within n pushes.
            while (true)
            {
                x = chain[chainLength - 1];
                Span<double> rowX = heights.Slice(x * dim, dim);
                (y, hxy) = ArgMin(rowX, penalty[..dim]);
                if (chainLength > 1)
                {
                    int previous = chain[chainLength - 2];
                    if (rowX[previous] <= hxy)
                    {
                        y = previous;
                        hxy = rowX[previous];
                        break;
                    }
                }
                chain[chainLength++] = y;
            }
            chainLength -= 2;
            if (x > y) (x, y) = (y, x);
            double nx = size[x], ny = size[y];
            merges[step] = new NnChainMerge(slotOf[x], slotOf[y], hxy, nx + ny);
            penalty[x] = double.PositiveInfinity;
            Update<TUpdate>(heights, dim, x, y, hxy, nx, ny, size, penalty);
            size[x] = 0;
            size[y] = nx + ny;
            active--;
        }
    }

    /// <summary>Moves the active rows and columns, in order, to the front of a smaller matrix (stride = active count),
    /// in place. Order is kept, so "lowest slot" tie-breaking is unchanged; chain entries are renumbered.</summary>
    private static void Compact(Span<double> heights, int dim, Span<double> size, Span<double> penalty, Span<int> chain,
                                Span<int> slotOf, Span<int> newIndex)
    {
        int m = 0;
        for (int k = 0; k < dim; k++) newIndex[k] = penalty[k] == 0 ? m++ : -1;
        for (int c = 0; c < chain.Length; c++) chain[c] = newIndex[chain[c]];
        // Forward pass in place: new row r (stride m) is read from old row k ≥ r (stride dim > m) at column j ≥ the
        // written column, so every read precedes any write that could reach its address.
        int r = 0;
        for (int k = 0; k < dim; k++)
        {
            if (newIndex[k] < 0) continue;
            ReadOnlySpan<double> oldRow = heights.Slice(k * dim, dim);
            Span<double> newRow = heights.Slice(r * m, m);
            int c = 0;
            for (int j = 0; j < dim; j++)
                if (newIndex[j] >= 0) newRow[c++] = oldRow[j];
            size[r] = size[k];
            slotOf[r] = slotOf[k];
            r++;
        }
        penalty[..m].Clear();
    }

    /// <summary>Row y ← Lance–Williams(row x, row y) over every column (removed columns get harmless finite values and
    /// stay masked), then the mirror: column y of every active row.</summary>
    private static void Update<TUpdate>(Span<double> heights, int n, int x, int y, double hxy, double nx, double ny,
                                        ReadOnlySpan<double> size, ReadOnlySpan<double> penalty)
        where TUpdate : struct, ILanceWilliamsUpdate
    {
        Span<double> rowY = heights.Slice(y * n, n);
        TUpdate.Row(heights.Slice(x * n, n), rowY, size[..n], hxy, nx, ny, rowY);
        rowY[y] = double.PositiveInfinity;
        ref double h0 = ref MemoryMarshal.GetReference(heights);
        for (int k = 0; k < n; k++)
            if (penalty[k] == 0) Unsafe.Add(ref h0, (nint)k * n + y) = rowY[k];
    }

    /// <summary>First index of the minimum of values[k] + penalty[k] (penalty 0 or +∞; NaN never wins).</summary>
    internal static (int Index, double Value) ArgMin(ReadOnlySpan<double> values, ReadOnlySpan<double> penalty)
    {
        Debug.Assert(values.Length > 0 && penalty.Length == values.Length);
        int k = 0;
        int bestIndex = -1;
        double best = double.PositiveInfinity;
        if (Vector256.IsHardwareAccelerated && values.Length >= 2 * Vector256<double>.Count)
        {
            ref double v0 = ref MemoryMarshal.GetReference(values);
            ref double p0 = ref MemoryMarshal.GetReference(penalty);
            Vector256<double> bestV = Vector256.Create(double.PositiveInfinity);
            Vector256<long> index = Vector256.Create(0L, 1, 2, 3);
            Vector256<long> bestI = Vector256.Create(-1L);
            Vector256<long> step = Vector256.Create((long)Vector256<double>.Count);
            // Per lane, strict < keeps the first occurrence of that lane's minimum.
            for (; k <= values.Length - Vector256<double>.Count; k += Vector256<double>.Count)
            {
                Vector256<double> v = Vector256.LoadUnsafe(ref v0, (nuint)k) + Vector256.LoadUnsafe(ref p0, (nuint)k);
                Vector256<double> less = Vector256.LessThan(v, bestV);
                bestV = Vector256.ConditionalSelect(less, v, bestV);
                bestI = Vector256.ConditionalSelect(less.AsInt64(), index, bestI);
                index += step;
            }
            for (int lane = 0; lane < Vector256<double>.Count; lane++)
            {
                double v = bestV.GetElement(lane);
                int i = (int)bestI.GetElement(lane);
                if (i >= 0 && (v < best || (v == best && i < bestIndex) || bestIndex < 0))
                {
                    best = v;
                    bestIndex = i;
                }
            }
        }
        for (; k < values.Length; k++)
        {
            double v = values[k] + penalty[k];
            if (v < best)
            {
                best = v;
                bestIndex = k;
            }
        }
        return (bestIndex, best);
    }
}
