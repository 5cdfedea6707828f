using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace PinnerSage.Ann;

public sealed partial class HnswIndex
{
    /// <summary>Most cache lines of an unvisited neighbour's vector prefetched before its distance is computed.</summary>
    private const int MaxPrefetchLines = 32;

    /// <summary>How many unvisited neighbours ahead of the one whose distance is computed have their vector prefetched.</summary>
    internal const int PrefetchAhead = 3;

    /// <summary>K-NN-SEARCH (Alg. 5) with ef = max(<see cref="HnswOptions.Ef"/>, k).</summary>
    /// <inheritdoc/>
    public int Search(ReadOnlySpan<float> query, int k, Span<Neighbor> destination) =>
        Search(query, k, _options.Ef, destination);

    /// <summary>Filtered K-NN-SEARCH with ef = max(<see cref="HnswOptions.Ef"/>, <paramref name="breadth"/>, k).</summary>
    /// <inheritdoc/>
    public int SearchFiltered(ReadOnlySpan<float> query, int k, SearchFilter? filter, int breadth, Span<Neighbor> destination) =>
        Search(query, k, Math.Max(_options.Ef, breadth), filter, destination);

    /// <summary>K-NN-SEARCH (Malkov &amp; Yashunin 2018, Alg. 5): greedy descent from the entry point through the upper
    /// layers with ef = 1, then SEARCH-LAYER on layer 0 with ef = max(<paramref name="ef"/>, k); writes the k nearest live
    /// items to <paramref name="destination"/>, nearest first, and returns how many were written (fewer only when the
    /// index holds fewer live items, or ef is too small to reach k of them past deleted ones). Thread-safe, also during
    /// inserts; allocation-free once the calling thread has searched once.</summary>
    /// <exception cref="ArgumentException"><paramref name="query"/> length is not <see cref="Dimension"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> ≤ 0 or &gt; destination length, or ef ≤ 0.</exception>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<Neighbor> destination) =>
        Search(query, k, ef, null, destination);

    /// <summary>As <see cref="Search(ReadOnlySpan{float}, int, int, Span{Neighbor})"/>, returning only labels that
    /// <paramref name="filter"/> allows (null: all); the filter is evaluated inside the walk (see <see cref="SearchFilter"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="query"/> length is not <see cref="Dimension"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> ≤ 0 or &gt; destination length, or ef ≤ 0.</exception>
    public int Search(ReadOnlySpan<float> query, int k, int ef, SearchFilter? filter, Span<Neighbor> destination)
    {
        ValidateSearch(query.Length, Dimension, k, ef, destination.Length);
        return FilterDispatch.Search(this, query, k, ef, filter, destination);
    }

    /// <summary>Searches every row of <paramref name="queries"/> (q × <see cref="Dimension"/>, row-major) on
    /// <paramref name="threads"/> threads: row i's results go to <paramref name="destination"/>[i·k, i·k + k) and their
    /// number to <paramref name="counts"/>[i], exactly as q calls of the single-query search.</summary>
    /// <exception cref="ArgumentException">A length that does not match q, k or <see cref="Dimension"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">k, ef or threads ≤ 0.</exception>
    public void SearchBatch(ReadOnlySpan<float> queries, int k, int ef, SearchFilter? filter, Span<Neighbor> destination, Span<int> counts, int threads) =>
        BatchSearch.Run(this, Dimension, queries, k, ef, filter, destination, counts, threads);

    /// <summary>The public search's argument checks, shared with the quantized index.</summary>
    internal static void ValidateSearch(int queryLength, int dimension, int k, int ef, int destinationLength)
    {
        if (queryLength != dimension) throw new ArgumentException($"'query' has length {queryLength}; expected {dimension}", "query");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, destinationLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ef);
    }

    int IFilterSpecialisedSearch.SearchWith<TFilter>(ReadOnlySpan<float> query, int k, int ef, TFilter filter, Span<Neighbor> destination) =>
        _options.Metric == VectorMetric.L2
            ? SearchCore<SquaredL2Distance, TFilter>(query, k, Math.Max(ef, k), filter, destination)
            : SearchCore<InnerProductDistance, TFilter>(query, k, Math.Max(ef, k), filter, destination);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int SearchCore<TDistance, TFilter>(ReadOnlySpan<float> query, int k, int ef, TFilter filter, Span<Neighbor> destination)
        where TDistance : struct, IDistance where TFilter : struct, ILabelFilter
    {
        // Snapshot order matters: entry point first, then the store, so the store always covers the entry point's id.
        EntryPoint? entry = Volatile.Read(ref _entry);
        if (entry is null) return 0;
        NodeStore s = Volatile.Read(ref _store);
        SearchScratch scratch = SearchScratch.ForThread();
        float[] q = scratch.QueryBuffer(Dimension);
        PrepareVector(query, q.AsSpan(0, Dimension));
        ref float q0 = ref MemoryMarshal.GetArrayDataReference(q);

        int ep = entry.Id;
        float epDistance = TDistance.Compute(ref q0, ref VectorRef(s, ep), Dimension);
        for (int layer = entry.Level; layer > 0; layer--)
            (ep, epDistance) = GreedyClosest<TDistance>(s, ref q0, ep, epDistance, layer);

        // The tombstone test reads another cache line per candidate: only pay for it when something is deleted.
        SearchLayer<TDistance, TFilter>(s, ref q0, ep, epDistance, 0, ef, skipDeleted: Volatile.Read(ref _deletedCount) > 0, filter, scratch);
        while (scratch.ResultCount > k) scratch.PopResult();
        int found = scratch.ResultCount;
        for (int i = found - 1; i >= 0; i--)
        {
            Candidate c = scratch.PopResult();
            destination[i] = new Neighbor(s.Labels[c.Id], c.Distance);
        }
        GC.KeepAlive(s);
        return found;
    }

    /// <summary>SEARCH-LAYER with ef = 1 (Alg. 2 as used in Alg. 5 lines 4–6): move to the closest neighbour while one is
    /// closer. Upper layers hold few elements, so no visited set is needed: the walk strictly decreases the distance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (int Id, float Distance) GreedyClosest<TDistance>(NodeStore s, ref float q0, int ep, float epDistance, int layer)
        where TDistance : struct, IDistance
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            int[]? upper = s.Upper[ep];
            if (upper is null || upper.Length < layer * (_m + 1)) break;
            int start = (layer - 1) * (_m + 1);
            int count = Math.Min(Volatile.Read(ref upper[start]), _m);
            for (int j = 1; j <= count; j++)
            {
                int candidate = upper[start + j];
                float d = TDistance.Compute(ref q0, ref VectorRef(s, candidate), Dimension);
                if (d < epDistance)
                {
                    epDistance = d;
                    ep = candidate;
                    changed = true;
                }
            }
        }
        return (ep, epDistance);
    }

    /// <summary>SEARCH-LAYER (Alg. 2) from one entry point: leaves the ef nearest elements found in the scratch's W
    /// (max-heap). With <paramref name="skipDeleted"/>, deleted elements are expanded (they still route) but never enter W
    /// (hnswlib's rule); inserts pass false, so the graph keeps linking through tombstones. Elements whose label
    /// <paramref name="filter"/> rejects are treated as deleted (filtered search).</summary>
    /// <remarks>Invariant of the loop: C holds every visited element not yet expanded; W holds the ef nearest visited
    /// (eligible) elements, and lowerBound is the distance of W's farthest once W is full (+∞ before). The search stops
    /// when C's nearest is farther than lowerBound with W full: no unexpanded element can improve W.</remarks>
    // Fully optimised from the first call (our choice): a CLI run or a freshly started server would otherwise spend its
    // first thousands of queries in tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void SearchLayer<TDistance, TFilter>(NodeStore s, ref float q0, int ep, float epDistance, int layer, int ef,
                                                        bool skipDeleted, TFilter filter, SearchScratch scratch)
        where TDistance : struct, IDistance where TFilter : struct, ILabelFilter
    {
        int epoch = scratch.NewEpoch(s.Capacity);
        ref int visited = ref MemoryMarshal.GetArrayDataReference(scratch.Visited);
        scratch.CandidateCount = 0;
        scratch.ResultCount = 0;
        int dim = Dimension;
        float lowerBound = float.PositiveInfinity;
        if ((!skipDeleted || !IsDeleted(s, ep)) && filter.Allows(s.Labels[ep]))
        {
            scratch.PushResult(epDistance, ep);
            lowerBound = epDistance;
        }
        scratch.PushCandidate(epDistance, ep);
        Unsafe.Add(ref visited, ep) = epoch;
        byte* baseP = s.Base;
        nint stride = _strideBytes;
        nint vectorOffset = _headerInts * 4;
        // One line more than dim * 4 / 64: the stride is not a multiple of 64 bytes, so every other vector straddles one
        // more line (the last line was never prefetched before).
        int prefetchLines = Math.Min((dim * 4 + 63) / 64 + 1, MaxPrefetchLines);

        while (scratch.CandidateCount > 0)
        {
            Candidate c = scratch.Candidates[0];
            if (c.Distance > lowerBound && scratch.ResultCount == ef) break;
            scratch.PopCandidate();

            ref int links = ref Unsafe.NullRef<int>();
            int count;
            if (layer == 0)
            {
                links = ref Unsafe.AsRef<int>(baseP + c.Id * stride + 8);
                count = Math.Min(Volatile.Read(ref Unsafe.AsRef<int>(baseP + c.Id * stride)), _maxM0);
            }
            else
            {
                int[]? upper = s.Upper[c.Id];
                if (upper is null || upper.Length < layer * (_m + 1)) continue;
                int start = (layer - 1) * (_m + 1);
                count = Math.Min(Volatile.Read(ref upper[start]), _m);
                links = ref upper[start + 1];
            }
            // Two passes over the links (our choice; hnswlib prefetches one neighbour's first line, one ahead): first
            // mark the unvisited neighbours, then compute their distances while the whole vectors of the next
            // PrefetchAhead of them stream in (software pipelining). Measured on the benchmark's synthetic 100k × 256
            // (ef 32 / 80, wall time, best of 12): prefetching every unvisited neighbour's vector up front (~500 lines,
            // far more than the line-fill buffers hold) 12.7k / 8.4k q/s; 3 ahead 16.3–17.0k / 10.3–10.5k; 1 ahead
            // 16.0k / 9.8k; 8 ahead 15.3k / 9.3k. Earlier, whole vectors had given +43% over hnswlib's first line one ahead.
            int pendingCount = 0;
            ref int pending = ref MemoryMarshal.GetArrayDataReference(scratch.Pending);
            for (int j = 0; j < count; j++)
            {
                int candidate = Unsafe.Add(ref links, j);
                ref int tag = ref Unsafe.Add(ref visited, candidate);
                if (tag == epoch) continue;
                tag = epoch;
                Unsafe.Add(ref pending, pendingCount++) = candidate;
                if (pendingCount <= PrefetchAhead) PrefetchLines(baseP + candidate * stride + vectorOffset, prefetchLines);
            }
            for (int j = 0; j < pendingCount; j++)
            {
                int candidate = Unsafe.Add(ref pending, j);
                if (j + PrefetchAhead < pendingCount)
                    PrefetchLines(baseP + Unsafe.Add(ref pending, j + PrefetchAhead) * stride + vectorOffset, prefetchLines);
                float d = TDistance.Compute(ref q0, ref Unsafe.AsRef<float>(baseP + candidate * stride + vectorOffset), dim);
                if (scratch.ResultCount < ef || d < lowerBound)
                {
                    scratch.PushCandidate(d, candidate);
                    if (skipDeleted && (Unsafe.AsRef<int>(baseP + candidate * stride + 4) & FlagDeleted) != 0) continue;
                    if (typeof(TFilter) != typeof(NoFilter) && !filter.Allows(s.Labels[candidate])) continue;
                    scratch.PushResult(d, candidate);
                    if (scratch.ResultCount > ef) scratch.PopResult();
                    lowerBound = scratch.Results[0].Distance;
                }
            }
            // The next node to expand is C's top: fetch its link list while the heap work above retires (as hnswlib).
            if (Sse.IsSupported && layer == 0 && scratch.CandidateCount > 0)
                Sse.Prefetch0(baseP + scratch.Candidates[0].Id * stride);
        }
    }

    /// <summary>Prefetches <paramref name="lines"/> cache lines from the line holding <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void PrefetchLines(byte* p, int lines)
    {
        if (!Sse.IsSupported) return;
        byte* line = (byte*)((nint)p & ~(nint)63);
        for (byte* end = line + 64 * lines; line < end; line += 64) Sse.Prefetch0(line);
    }
}
