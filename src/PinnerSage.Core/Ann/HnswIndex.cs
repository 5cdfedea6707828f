using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PinnerSage.Numerics;

namespace PinnerSage.Ann;

/// <summary>Hierarchical Navigable Small World graph index (approximate k nearest neighbours) over float vectors.</summary>
/// <remarks>
/// Malkov &amp; Yashunin, "Efficient and robust approximate nearest neighbor search using Hierarchical Navigable Small
/// World graphs", IEEE TPAMI 2018 (arXiv:1603.09320): Alg. 1 INSERT (<c>HnswIndex.Insert.cs</c>), Alg. 2 SEARCH-LAYER and
/// Alg. 5 K-NN-SEARCH (<c>HnswIndex.Search.cs</c>), Alg. 4 SELECT-NEIGHBORS-HEURISTIC without candidate extension or kept
/// pruned connections (as hnswlib and the paper's recommended setting). Memory follows hnswlib: layer 0 is one pinned,
/// 64-byte-aligned block with a fixed stride per element, [link count | flags | MaxM0 links | padding | vector], so one hop
/// reads one region; upper layers are per-element arrays [count | M links] per layer; ids are 32-bit; labels are a separate
/// array (our choice: the label is not needed in the hot loop).
/// Concurrency (as hnswlib): inserts lock one element's link lists at a time (striped locks; never two at once, so no
/// lock order is needed); searches take no lock and read links racily: a list being rewritten may show a mix of old and
/// new ids, every one of them valid, and the visited set absorbs repeats. Growing the storage excludes inserts (a
/// reader-writer lock) but not searches, which keep reading the block they started on.
/// Deletion is a tombstone flag: deleted elements still route searches but are never returned.
/// Complexity: O(log n) expected hops per layer; memory ≈ 4·(d + MaxM0 + 2) bytes per element at layer 0 plus
/// 4·(M + 1)/(M − 1) bytes on average above.
/// </remarks>
public sealed partial class HnswIndex : IFilteredVectorIndex, IFilteredSearch, IFilterSpecialisedSearch
{
    private const int FlagDeleted = 1;
    private const int MaxLevelCap = 31;
    private const int LockStripes = 1 << 12;

    private readonly HnswOptions _options;
    private readonly int _m;
    private readonly int _maxM0;
    private readonly int _headerInts;
    private readonly int _strideBytes;
    private readonly object[] _linkLocks;
    private readonly ReaderWriterLockSlim _growLock = new(LockRecursionPolicy.NoRecursion);
    private readonly object _allocLock = new();
    private readonly object _entryLock = new();
    private readonly object _labelLock = new();
    private readonly Dictionary<int, int> _labelToId = [];
    private readonly Dictionary<int, int> _duplicateOf = [];

    private NodeStore _store;
    private int _nodeCount;
    private int _deletedCount;
    private EntryPoint? _entry;
    private IReadOnlyList<string>? _itemIds;

    /// <summary>Creates an empty index.</summary>
    /// <param name="dimension">Vector dimension d ≥ 1.</param>
    /// <param name="options">Parameters; validated here.</param>
    /// <param name="capacity">Elements to reserve room for (the storage grows by doubling beyond it).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value out of range.</exception>
    public HnswIndex(int dimension, HnswOptions options, int capacity = 1024)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Dimension = dimension;
        _options = options;
        _m = options.M;
        _maxM0 = options.MaxM0;
        // Header = [count | flags | MaxM0 links], padded to 32 bytes so every vector starts 32-byte aligned.
        _headerInts = (2 + _maxM0 + 7) & ~7;
        _strideBytes = _headerInts * 4 + ((dimension * 4 + 31) & ~31);
        _linkLocks = new object[LockStripes];
        for (int i = 0; i < _linkLocks.Length; i++) _linkLocks[i] = new object();
        _store = new NodeStore(Math.Max(capacity, 16), _strideBytes, null);
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public int Count => Volatile.Read(ref _nodeCount) - Volatile.Read(ref _deletedCount);

    /// <inheritdoc/>
    public VectorMetric Metric => _options.Metric;

    /// <summary>The parameters the index was built with.</summary>
    public HnswOptions Options => _options;

    /// <summary>Elements stored, deleted ones included.</summary>
    public int NodeCount => Volatile.Read(ref _nodeCount);

    /// <summary>Elements marked deleted.</summary>
    public int DeletedCount => Volatile.Read(ref _deletedCount);

    /// <summary>Top layer of the graph (−1 when empty).</summary>
    public int MaxLevel => Volatile.Read(ref _entry)?.Level ?? -1;

    /// <summary>Bytes of index memory: layer 0 block, upper layers, labels (not the optional item-id strings).</summary>
    public long MemoryBytes
    {
        get
        {
            NodeStore s = _store;
            int n = NodeCount;
            long bytes = (long)s.Capacity * (_strideBytes + 4 + IntPtr.Size);
            for (int i = 0; i < n; i++)
                if (s.Upper[i] is { } u) bytes += 16 + 4L * u.Length;
            return bytes;
        }
    }

    /// <summary>Item ids by label (set with <see cref="SetItemIds"/> or loaded with the index), or null.</summary>
    public IReadOnlyList<string>? ItemIds => _itemIds;

    /// <summary>Attaches item ids by label, saved with the index so a loaded index can name its results.</summary>
    /// <exception cref="ArgumentException">Fewer ids than the largest label + 1.</exception>
    public void SetItemIds(IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        int maxLabel = -1;
        lock (_labelLock)
            foreach (int label in _labelToId.Keys) maxLabel = Math.Max(maxLabel, label);
        if (ids.Count <= maxLabel) throw new ArgumentException($"'{nameof(ids)}' has {ids.Count} ids; labels go up to {maxLabel}", nameof(ids));
        _itemIds = ids;
    }

    /// <summary>Whether <paramref name="label"/> is in the index and not deleted.</summary>
    public bool Contains(int label)
    {
        lock (_labelLock)
            return _labelToId.TryGetValue(label, out int id) && !IsDeleted(_store, id);
    }

    /// <summary>Marks <paramref name="label"/> deleted: it is never returned again, but the graph still routes through it.</summary>
    /// <returns>False when the label is absent or already deleted.</returns>
    public bool Delete(int label)
    {
        // The grow lock (read mode) keeps the flag from landing in a block that is being copied away.
        _growLock.EnterReadLock();
        try
        {
            lock (_labelLock)
            {
                if (!_labelToId.TryGetValue(label, out int id)) return false;
                ref int flags = ref Header(_store, id, 1);
                if ((Volatile.Read(ref flags) & FlagDeleted) != 0) return false;
                Interlocked.Or(ref flags, FlagDeleted);
                Interlocked.Increment(ref _deletedCount);
                return true;
            }
        }
        finally { _growLock.ExitReadLock(); }
    }

    /// <summary>The label an item dropped as a near-duplicate was mapped to (see <see cref="HnswRefinement"/>).</summary>
    public bool TryGetRepresentative(int droppedLabel, out int representative)
    {
        lock (_labelLock) return _duplicateOf.TryGetValue(droppedLabel, out representative);
    }

    /// <summary>Number of items dropped as near-duplicates and mapped to a representative.</summary>
    public int DuplicateCount
    {
        get { lock (_labelLock) return _duplicateOf.Count; }
    }

    /// <summary>Copies the stored vector of <paramref name="label"/> (normalised for cosine) to <paramref name="destination"/>.</summary>
    /// <returns>False when the label is absent.</returns>
    public bool TryGetVector(int label, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Dimension, nameof(destination));
        int id;
        lock (_labelLock)
            if (!_labelToId.TryGetValue(label, out id)) return false;
        NodeStore s = _store;
        MemoryMarshal.CreateReadOnlySpan(ref VectorRef(s, id), Dimension).CopyTo(destination);
        GC.KeepAlive(s);
        return true;
    }

    /// <summary>Inserts one item (Alg. 1); it is searchable as soon as this returns, also while other threads search.</summary>
    /// <exception cref="ArgumentException">Wrong length, non-finite values, or a label already present.</exception>
    public void Add(int label, ReadOnlySpan<float> vector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        ValidateVector(vector, nameof(vector));
        lock (_labelLock)
            if (_labelToId.TryGetValue(label, out int old) && !IsDeleted(_store, old))
                throw new ArgumentException($"label {label} is already in the index", nameof(label));
        Insert(label, vector, null);
    }

    private void ValidateVector(ReadOnlySpan<float> vector, string name)
    {
        if (vector.Length != Dimension) throw new ArgumentException($"'{name}' has length {vector.Length}; expected {Dimension}", name);
        foreach (float x in vector)
            if (!float.IsFinite(x)) throw new ArgumentException($"'{name}' contains a non-finite value", name);
    }

    /// <summary>Writes <paramref name="vector"/> as stored: unit length for cosine, unchanged otherwise.</summary>
    private void PrepareVector(ReadOnlySpan<float> vector, Span<float> destination)
    {
        if (_options.Metric == VectorMetric.Cosine) VectorNorms.Normalize(vector, destination);
        else vector.CopyTo(destination);
    }

    // ---- storage accessors (all callers hold a NodeStore snapshot; ids are < its capacity) ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe ref int Header(NodeStore s, int id, int offset) =>
        ref Unsafe.AsRef<int>(s.Base + (nint)id * _strideBytes + offset * 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe ref float VectorRef(NodeStore s, int id) =>
        ref Unsafe.AsRef<float>(s.Base + (nint)id * _strideBytes + _headerInts * 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsDeleted(NodeStore s, int id) => (Volatile.Read(ref Header(s, id, 1)) & FlagDeleted) != 0;

    /// <summary>Link list of element <paramref name="id"/> on <paramref name="layer"/>: element 0 is the count,
    /// then the capacity's worth of link slots.</summary>
    private Span<int> LinkList(NodeStore s, int id, int layer)
    {
        if (layer == 0) return MemoryMarshal.CreateSpan(ref Header(s, id, 0), _headerInts);
        int[] upper = s.Upper[id]!;
        return upper.AsSpan((layer - 1) * (_m + 1), _m + 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LinksStart(int layer) => layer == 0 ? 2 : 1;

    private int MaxLinks(int layer) => layer == 0 ? _maxM0 : _m;

    /// <summary>Level of a new element, ⌊−ln U · m_L⌋ (Alg. 1 line 4) with U drawn from a hash of (seed, label).</summary>
    private int RandomLevel(int label)
    {
        // SplitMix64's label-th output for this seed: a well-mixed, independent U per label.
        ulong z = SplitMix64.Mix((ulong)_options.Seed + ((ulong)(uint)label + 1) * SplitMix64.Gamma);
        double u = SplitMix64.ToDoubleNonZero(z);
        return Math.Min(MaxLevelCap, (int)(-Math.Log(u) * _options.LevelMultiplier));
    }

    /// <summary>Reserves the next element id, growing the storage (doubling) when full. The caller holds the grow lock
    /// in read mode; growth drops it and takes it in write mode, so no insert writes into a block being copied.</summary>
    private int ReserveId()
    {
        while (true)
        {
            lock (_allocLock)
            {
                if (_nodeCount < _store.Capacity)
                {
                    int id = _nodeCount;
                    Volatile.Write(ref _nodeCount, id + 1);
                    return id;
                }
            }
            _growLock.ExitReadLock();
            try
            {
                _growLock.EnterWriteLock();
                try
                {
                    if (_nodeCount >= _store.Capacity) Grow(_store.Capacity * 2);
                }
                finally { _growLock.ExitWriteLock(); }
            }
            finally { _growLock.EnterReadLock(); }
        }
    }

    /// <summary>Replaces the store with a larger copy. Caller excludes inserts (write lock); searches keep the old one.</summary>
    private void Grow(int capacity)
    {
        NodeStore old = _store;
        var grown = new NodeStore(capacity, _strideBytes, old);
        Volatile.Write(ref _store, grown);
    }

    private sealed class EntryPoint(int id, int level)
    {
        public int Id { get; } = id;
        public int Level { get; } = level;
    }

    /// <summary>Element storage: the layer-0 block (pinned so raw pointers stay valid; freed by the GC when no search
    /// holds it any more), labels and the upper-layer link arrays.</summary>
    internal sealed unsafe class NodeStore
    {
        public NodeStore(int capacity, int strideBytes, NodeStore? copyFrom)
        {
            Capacity = capacity;
            long bytes = (long)capacity * strideBytes + 64;
            if (bytes > Array.MaxLength) throw new OutOfMemoryException($"HNSW layer 0 of {capacity} elements exceeds one array");
            Block = GC.AllocateArray<byte>((int)bytes, pinned: true);
            byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Block));
            AlignOffset = (int)((64 - ((nint)p & 63)) & 63);
            Base = p + AlignOffset;
            Labels = new int[capacity];
            Upper = new int[]?[capacity];
            if (copyFrom is null) return;
            Debug.Assert(copyFrom.Capacity <= capacity);
            new ReadOnlySpan<byte>(copyFrom.Base, checked(copyFrom.Capacity * strideBytes)).CopyTo(new Span<byte>(Base, checked(copyFrom.Capacity * strideBytes)));
            copyFrom.Labels.CopyTo(Labels, 0);
            copyFrom.Upper.CopyTo(Upper, 0);
        }

        public int Capacity { get; }
        public byte[] Block { get; }
        public int AlignOffset { get; }
        public byte* Base { get; }
        public int[] Labels { get; }
        public int[]?[] Upper { get; }

        public Span<byte> Level0(int count, int strideBytes) => new(Base, checked(count * strideBytes));
    }
}
