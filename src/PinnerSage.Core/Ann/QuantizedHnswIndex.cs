using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace PinnerSage.Ann;

/// <summary>An HNSW graph searched on 8-bit codes, with the final candidates re-ranked on the float vectors: the float
/// index's memory cut to about a third, the float copy kept in the file and memory-mapped (page cache, not heap).</summary>
/// <remarks>
/// Malkov &amp; Yashunin 2018 (TPAMI, arXiv:1603.09320) Alg. 5 K-NN-SEARCH and Alg. 2 SEARCH-LAYER on the graph of a
/// built <see cref="HnswIndex"/> (<see cref="HnswIndex.Quantize"/>; links, levels, entry point and labels unchanged),
/// with distances estimated from per-dimension int8 codes (<see cref="ScalarQuantizer"/>; FAISS's
/// <c>IndexHNSWSQ</c>, Lucene's int8 HNSW). Layer 0 is one 64-byte-aligned block with a fixed stride per element,
/// [link count | flags | ‖x‖² | MaxM0 links | padding | codes], as the float index's but with d bytes of codes in place
/// of 4·d bytes of floats. The estimated distance is 1 − x·q for ip and cosine and ‖x‖² − 2x·q + ‖q‖² for l2 (‖x‖²
/// exact, stored per element), with x·q from the integer kernel (<see cref="Int8Kernels"/>). Re-ranking (our choice,
/// as FAISS's <c>IndexRefine</c>): the nearest elements of W by estimate (<see cref="RerankFactor"/>) get their exact float distance, the same kernel and value
/// as <see cref="HnswIndex"/>'s, and the k nearest are returned, so distances are exact and the order errors of the
/// codes only cost recall where a true neighbour never entered W.
/// The index is immutable: searches take no lock. Elements deleted in the source index stay tombstoned. Memory per
/// element ≈ 4·(MaxM0 + 3) + d bytes at layer 0 plus the upper layers and the label, against 4·(MaxM0 + 2) + 4·d.
/// </remarks>
public sealed partial class QuantizedHnswIndex : IFilteredVectorIndex, IFilteredSearch, IFilterSpecialisedSearch, IDisposable
{
    /// <summary>Largest dimension the int32 code dot product cannot overflow at: 255·127·d &lt; 2³¹.</summary>
    public const int MaxDimension = 65_536;

    private const int FlagDeleted = 1;
    /// <summary>Byte offset of the first link in an element's layer-0 record (after count, flags and ‖x‖²).</summary>
    private const int LinksOffset = 12;

    private readonly HnswOptions _options;
    private readonly int _m;
    private readonly int _maxM0;
    private readonly int _headerInts;
    private readonly int _codeBytes;
    private readonly int _strideBytes;
    private readonly HnswIndex.NodeStore _store;
    private readonly ScalarQuantizer _quantizer;
    private readonly FloatRows _floats;
    private readonly int _nodeCount;
    private readonly int _deletedCount;
    private readonly int _entryId;
    private readonly int _entryLevel;
    private int _rerankFactor = 2;

    private QuantizedHnswIndex(int dimension, HnswOptions options, int nodeCount, int deletedCount, int entryId, int entryLevel,
                               ScalarQuantizer quantizer, FloatRows floats, IReadOnlyList<string>? itemIds)
    {
        Dimension = dimension;
        _options = options;
        _m = options.M;
        _maxM0 = options.MaxM0;
        // [count | flags | ‖x‖² | MaxM0 links], padded to 16 bytes; codes padded to 32 bytes (zeros), so the kernel runs
        // over whole 32-byte vectors without a tail for d a multiple of 32.
        _headerInts = (3 + _maxM0 + 3) & ~3;
        _codeBytes = (dimension + 31) & ~31;
        _strideBytes = _headerInts * 4 + _codeBytes;
        _store = new HnswIndex.NodeStore(Math.Max(nodeCount, 1), _strideBytes, null);
        _quantizer = quantizer;
        _floats = floats;
        _nodeCount = nodeCount;
        _deletedCount = deletedCount;
        _entryId = entryId;
        _entryLevel = entryLevel;
        ItemIds = itemIds;
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public int Count => _nodeCount - _deletedCount;

    /// <inheritdoc/>
    public VectorMetric Metric => _options.Metric;

    /// <summary>The parameters the graph was built with.</summary>
    public HnswOptions Options => _options;

    /// <summary>Top layer of the graph (−1 when empty).</summary>
    public int MaxLevel => _nodeCount > 0 ? _entryLevel : -1;

    /// <summary>Item ids by label, or null.</summary>
    public IReadOnlyList<string>? ItemIds { get; private set; }

    /// <summary>Bytes of heap: layer-0 block (codes and links), upper layers, labels and the quantizer; not the float
    /// copy (<see cref="FloatBytes"/>).</summary>
    public long MemoryBytes
    {
        get
        {
            long bytes = (long)_store.Capacity * (_strideBytes + 4 + IntPtr.Size) + 8L * Dimension;
            for (int i = 0; i < _nodeCount; i++)
                if (_store.Upper[i] is { } u) bytes += 16 + 4L * u.Length;
            return bytes;
        }
    }

    /// <summary>Copies the float vector of <paramref name="label"/> (normalised for cosine) from the re-ranking copy to
    /// <paramref name="destination"/>; false when the label is absent. The first call builds a label → element map.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="destination"/> is shorter than <see cref="Dimension"/>.</exception>
    public unsafe bool TryGetVector(int label, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Dimension, nameof(destination));
        Dictionary<int, int> map = LazyInitializer.EnsureInitialized(ref _idOfLabel, () =>
        {
            var m = new Dictionary<int, int>(_nodeCount);
            for (int i = 0; i < _nodeCount; i++) m[_store.Labels[i]] = i;
            return m;
        });
        if (!map.TryGetValue(label, out int id)) return false;
        new ReadOnlySpan<float>(_floats.Rows + (long)id * Dimension, Dimension).CopyTo(destination);
        return true;
    }

    private Dictionary<int, int>? _idOfLabel;

    /// <summary>Bytes of the float copy used for re-ranking (memory-mapped when the index was loaded from a file).</summary>
    public long FloatBytes => 4 * _floats.Count;

    /// <summary>Whether the float copy is a memory-mapped file section.</summary>
    public bool FloatsMapped => _floats.IsMapped;

    /// <summary>The integer kernel in use on this machine (for reports).</summary>
    public static string KernelPath => Int8Kernels.Path;

    /// <summary>How many of W's candidates are re-ranked exactly: the <c>RerankFactor·k</c> nearest by estimated distance
    /// (at most ef), or all ef when 0. Default 2 (our choice): on the benchmark's data recall@10 at 2·k equals recall at all
    /// ef candidates (the codes' order errors are local), and each skipped float row is a 1 KiB random read at d = 256.
    /// Read once per search; set it before searching.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
    public int RerankFactor
    {
        get => _rerankFactor;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _rerankFactor = value;
        }
    }

    /// <summary>Unmaps the float copy; no search may run on the index afterwards.</summary>
    public void Dispose() => _floats.Dispose();

    /// <summary>The quantized copy of a graph: codes from the stored (for cosine, normalised) vectors, links copied.</summary>
    internal static unsafe QuantizedHnswIndex FromGraph(int dimension, HnswOptions options, int n, int deleted, int entryId, int entryLevel,
                                                        ReadOnlySpan<int> level0, int[] labels, int[]?[] upper, float[] pinnedFloats,
                                                        IReadOnlyList<string>? itemIds)
    {
        ScalarQuantizer quantizer = ScalarQuantizer.Train(pinnedFloats, n, dimension);
        var index = new QuantizedHnswIndex(dimension, options, n, deleted, entryId, entryLevel, quantizer, FloatRows.Pinned(pinnedFloats), itemIds);
        int words = 2 + options.MaxM0;
        for (int i = 0; i < n; i++)
        {
            byte* node = index.Node(i);
            ReadOnlySpan<int> source = level0.Slice(i * words, words);
            *(int*)node = source[0];
            *(int*)(node + 4) = source[1];
            ReadOnlySpan<float> x = pinnedFloats.AsSpan(i * dimension, dimension);
            *(float*)(node + 8) = DistanceKernels.Dot(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(x), dimension);
            source[2..].CopyTo(new Span<int>(node + LinksOffset, options.MaxM0));
            quantizer.Encode(x, new Span<byte>(node + index._headerInts * 4, dimension));
            index._store.Labels[i] = labels[i];
            index._store.Upper[i] = upper[i];
        }
        return index;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe byte* Node(int id) => _store.Base + (nint)id * _strideBytes;

    /// <summary>K-NN-SEARCH with ef = max(<see cref="HnswOptions.Ef"/>, k).</summary>
    /// <inheritdoc/>
    public int Search(ReadOnlySpan<float> query, int k, Span<Neighbor> destination) => Search(query, k, _options.Ef, null, destination);

    /// <summary>Filtered K-NN-SEARCH with ef = max(<see cref="HnswOptions.Ef"/>, <paramref name="breadth"/>, k).</summary>
    /// <inheritdoc/>
    public int SearchFiltered(ReadOnlySpan<float> query, int k, SearchFilter? filter, int breadth, Span<Neighbor> destination) =>
        Search(query, k, Math.Max(_options.Ef, breadth), filter, destination);

    /// <summary>K-NN-SEARCH (Alg. 5) on the codes with ef = max(<paramref name="ef"/>, k), then the exact re-ranking of
    /// the nearest found (<see cref="RerankFactor"/>); writes the k nearest live items that <paramref name="filter"/> allows (null: all) to
    /// <paramref name="destination"/>, nearest first, with exact distances; returns how many. Thread-safe and
    /// allocation-free once the calling thread has searched once.</summary>
    /// <exception cref="ArgumentException"><paramref name="query"/> length is not <see cref="Dimension"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> ≤ 0 or &gt; destination length, or ef ≤ 0.</exception>
    public int Search(ReadOnlySpan<float> query, int k, int ef, SearchFilter? filter, Span<Neighbor> destination)
    {
        HnswIndex.ValidateSearch(query.Length, Dimension, k, ef, destination.Length);
        return FilterDispatch.Search(this, query, k, ef, filter, destination);
    }

    /// <summary>Searches every row of <paramref name="queries"/> on <paramref name="threads"/> threads, as
    /// <see cref="HnswIndex.SearchBatch"/>.</summary>
    /// <exception cref="ArgumentException">A length that does not match q, k or <see cref="Dimension"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">k, ef or threads ≤ 0.</exception>
    public void SearchBatch(ReadOnlySpan<float> queries, int k, int ef, SearchFilter? filter, Span<Neighbor> destination, Span<int> counts, int threads) =>
        BatchSearch.Run(this, Dimension, queries, k, ef, filter, destination, counts, threads);

    int IFilterSpecialisedSearch.SearchWith<TFilter>(ReadOnlySpan<float> query, int k, int ef, TFilter filter, Span<Neighbor> destination) =>
        _options.Metric == VectorMetric.L2
            ? SearchCore<SquaredL2Distance, TFilter>(query, k, Math.Max(ef, k), filter, destination)
            : SearchCore<InnerProductDistance, TFilter>(query, k, Math.Max(ef, k), filter, destination);

    /// <summary>The encoded query: codes r in the scratch, and x·q ≈ Offset + Scale·Σ c·r; ‖q‖² for l2.</summary>
    private readonly struct QueryCode(float scale, float offset, float norm2)
    {
        public readonly float Scale = scale;
        public readonly float Offset = offset;
        public readonly float Norm2 = norm2;
    }

    /// <summary>Estimated distance of element <paramref name="node"/> in the metric of <typeparamref name="TDistance"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe float Estimate<TDistance>(byte* node, ref sbyte r0, in QueryCode code) where TDistance : struct, IDistance
    {
        float dot = code.Offset + code.Scale * Int8Kernels.Dot(ref Unsafe.AsRef<byte>(node + _headerInts * 4), ref r0, _codeBytes);
        return typeof(TDistance) == typeof(SquaredL2Distance) ? *(float*)(node + 8) - 2 * dot + code.Norm2 : 1f - dot;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe int SearchCore<TDistance, TFilter>(ReadOnlySpan<float> query, int k, int ef, TFilter filter, Span<Neighbor> destination)
        where TDistance : struct, IDistance where TFilter : struct, ILabelFilter
    {
        if (_nodeCount == 0) return 0;
        SearchScratch scratch = SearchScratch.ForThread();
        float[] q = scratch.QueryBuffer(Dimension);
        Span<float> qs = q.AsSpan(0, Dimension);
        if (_options.Metric == VectorMetric.Cosine) Numerics.VectorNorms.Normalize(query, qs);
        else query.CopyTo(qs);
        ref float q0 = ref MemoryMarshal.GetArrayDataReference(q);
        sbyte[] r = scratch.QueryCodeBuffer(Dimension, _codeBytes);
        (float scale, float offset) = _quantizer.EncodeQuery(qs, scratch.Folded, r);
        var code = new QueryCode(scale, offset, DistanceKernels.Dot(ref q0, ref q0, Dimension));
        ref sbyte r0 = ref MemoryMarshal.GetArrayDataReference(r);

        int ep = _entryId;
        float epDistance = Estimate<TDistance>(Node(ep), ref r0, code);
        for (int layer = _entryLevel; layer > 0; layer--)
            (ep, epDistance) = GreedyClosest<TDistance>(ref r0, code, ep, epDistance, layer);
        SearchLayer0<TDistance, TFilter>(ref r0, code, ep, epDistance, ef, filter, scratch);

        // Re-rank exactly: the nearest estimates of W go through W again with float distances, capped at k.
        scratch.EnsureSelection(scratch.ResultCount + 1);
        int found = scratch.DrainResultsAscending(scratch.Selection);
        int factor = RerankFactor;
        if (factor > 0) found = (int)Math.Min(found, (long)factor * k);
        float* rows = _floats.Rows;
        for (int i = 0; i < found; i++)
        {
            int id = scratch.Selection[i].Id;
            if (i + 1 < found) HnswIndex.PrefetchLines((byte*)(rows + (long)scratch.Selection[i + 1].Id * Dimension), (Dimension * 4 + 63) / 64);
            float d = TDistance.Compute(ref q0, ref Unsafe.AsRef<float>(rows + (long)id * Dimension), Dimension);
            if (scratch.ResultCount < k || d < scratch.Results[0].Distance)
            {
                scratch.PushResult(d, id);
                if (scratch.ResultCount > k) scratch.PopResult();
            }
        }
        int kept = scratch.ResultCount;
        for (int i = kept - 1; i >= 0; i--)
        {
            Candidate c = scratch.PopResult();
            destination[i] = new Neighbor(_store.Labels[c.Id], c.Distance);
        }
        return kept;
    }

    /// <summary>SEARCH-LAYER with ef = 1 on an upper layer (Alg. 5 lines 4–6), on estimated distances.</summary>
    private unsafe (int Id, float Distance) GreedyClosest<TDistance>(ref sbyte r0, in QueryCode code, int ep, float epDistance, int layer)
        where TDistance : struct, IDistance
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            int[]? upper = _store.Upper[ep];
            if (upper is null || upper.Length < layer * (_m + 1)) break;
            int start = (layer - 1) * (_m + 1);
            int count = Math.Min(upper[start], _m);
            for (int j = 1; j <= count; j++)
            {
                int candidate = upper[start + j];
                float d = Estimate<TDistance>(Node(candidate), ref r0, code);
                if (d < epDistance)
                {
                    (ep, epDistance) = (candidate, d);
                    changed = true;
                }
            }
        }
        return (ep, epDistance);
    }

    /// <summary>SEARCH-LAYER (Alg. 2) on layer 0 with estimated distances; leaves the ef nearest allowed live elements in
    /// the scratch's W. The loop, its invariant and the prefetching are <see cref="HnswIndex"/>'s (see its SearchLayer);
    /// a code vector is d bytes, so all of it is prefetched for the next PrefetchAhead unvisited neighbours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void SearchLayer0<TDistance, TFilter>(ref sbyte r0, in QueryCode code, int ep, float epDistance, int ef, TFilter filter,
                                                         SearchScratch scratch)
        where TDistance : struct, IDistance where TFilter : struct, ILabelFilter
    {
        int epoch = scratch.NewEpoch(_store.Capacity);
        ref int visited = ref MemoryMarshal.GetArrayDataReference(scratch.Visited);
        scratch.CandidateCount = 0;
        scratch.ResultCount = 0;
        bool skipDeleted = _deletedCount > 0;
        byte* baseP = _store.Base;
        nint stride = _strideBytes;
        nint codeOffset = _headerInts * 4;
        int prefetchLines = _codeBytes / 64 + 1;
        float lowerBound = float.PositiveInfinity;
        if ((!skipDeleted || (*(int*)(baseP + ep * stride + 4) & FlagDeleted) == 0) && filter.Allows(_store.Labels[ep]))
        {
            scratch.PushResult(epDistance, ep);
            lowerBound = epDistance;
        }
        scratch.PushCandidate(epDistance, ep);
        Unsafe.Add(ref visited, ep) = epoch;
        while (scratch.CandidateCount > 0)
        {
            Candidate c = scratch.Candidates[0];
            if (c.Distance > lowerBound && scratch.ResultCount == ef) break;
            scratch.PopCandidate();
            byte* node = baseP + c.Id * stride;
            int count = Math.Min(*(int*)node, _maxM0);
            int* links = (int*)(node + LinksOffset);
            int pendingCount = 0;
            ref int pending = ref MemoryMarshal.GetArrayDataReference(scratch.Pending);
            for (int j = 0; j < count; j++)
            {
                int candidate = links[j];
                ref int tag = ref Unsafe.Add(ref visited, candidate);
                if (tag == epoch) continue;
                tag = epoch;
                Unsafe.Add(ref pending, pendingCount++) = candidate;
                if (pendingCount <= HnswIndex.PrefetchAhead) HnswIndex.PrefetchLines(baseP + candidate * stride + codeOffset, prefetchLines);
            }
            for (int j = 0; j < pendingCount; j++)
            {
                int candidate = Unsafe.Add(ref pending, j);
                if (j + HnswIndex.PrefetchAhead < pendingCount)
                    HnswIndex.PrefetchLines(baseP + Unsafe.Add(ref pending, j + HnswIndex.PrefetchAhead) * stride + codeOffset, prefetchLines);
                float d = Estimate<TDistance>(baseP + candidate * stride, ref r0, code);
                if (scratch.ResultCount < ef || d < lowerBound)
                {
                    scratch.PushCandidate(d, candidate);
                    if (skipDeleted && (*(int*)(baseP + candidate * stride + 4) & FlagDeleted) != 0) continue;
                    if (typeof(TFilter) != typeof(NoFilter) && !filter.Allows(_store.Labels[candidate])) continue;
                    scratch.PushResult(d, candidate);
                    if (scratch.ResultCount > ef) scratch.PopResult();
                    lowerBound = scratch.Results[0].Distance;
                }
            }
            if (Sse.IsSupported && scratch.CandidateCount > 0) Sse.Prefetch0(baseP + scratch.Candidates[0].Id * stride);
        }
    }
}
