using PinnerSage.Ann;

namespace PinnerSage.Retrieval;

/// <summary>Nearest-neighbour lists of item vectors, cached by item row in front of one <see cref="IVectorIndex"/>:
/// PinnerSage queries the index with medoids, which are real items shared by many users, so their lists are reused
/// (papers/PINNERSAGE.md: centroid → cacheable medoid cut serving cost by 75%).</summary>
/// <remarks>
/// <para>Bounded to <see cref="Capacity"/> lists with least-recently-used eviction (our choice; a doubly linked list
/// over slot arrays, O(1) per operation). One list per row: the longest fetched so far, so a request for k entries is
/// served from a cached list of at least k (or a complete list: the index held fewer), never from a shorter one; a
/// longer request replaces it. Thread-safe: one lock around lookups and inserts (a copy of a few hundred entries); the
/// index search on a miss runs outside it. Once warm (evicted slots' arrays are reused) a lookup allocates nothing.</para>
/// <para>Cached lists do not see later changes to the index: call <see cref="Clear"/> after inserts, deletes or a
/// change of search parameters (ef).</para>
/// </remarks>
public sealed class NeighborCache
{
    private const int None = -1;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, int> _slotOf;
    private readonly long[] _key;
    private readonly int[] _prev, _next, _length, _requested;
    private readonly Neighbor[]?[] _lists;
    private int _head = None, _tail = None, _used;
    private long _hits, _misses, _evictions;

    /// <summary>A cache of up to <paramref name="capacity"/> neighbour lists over <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="index"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> ≤ 0.</exception>
    public NeighborCache(IVectorIndex index, int capacity)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Index = index;
        Capacity = capacity;
        _slotOf = new Dictionary<long, int>(Math.Min(capacity, 1 << 16));
        _key = new long[capacity];
        _prev = new int[capacity];
        _next = new int[capacity];
        _length = new int[capacity];
        _requested = new int[capacity];
        _lists = new Neighbor[]?[capacity];
    }

    /// <summary>The index whose results are cached.</summary>
    public IVectorIndex Index { get; }

    /// <summary>Maximum number of cached lists.</summary>
    public int Capacity { get; }

    /// <summary>Lists currently cached.</summary>
    public int Count { get { lock (_lock) return _used; } }

    /// <summary>Requests served from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Requests that searched the index.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Lists dropped to make room.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Hits / (hits + misses), 0 before the first request.</summary>
    public double HitRate
    {
        get
        {
            long h = Hits, m = Misses;
            return h + m == 0 ? 0 : (double)h / (h + m);
        }
    }

    /// <summary>The <paramref name="k"/> nearest neighbours of item row <paramref name="row"/>, whose vector is
    /// <paramref name="query"/>: from the cache when it holds a list for the row at least that long, else from
    /// <see cref="Index"/> (and then cached). Same contract as <see cref="IVectorIndex.Search"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> ≤ 0 or larger than the destination.</exception>
    public int Search(int row, ReadOnlySpan<float> query, int k, Span<Neighbor> destination) =>
        Search((long)row, query, k, destination);

    /// <summary>As <see cref="Search(int, ReadOnlySpan{float}, int, Span{Neighbor})"/> for any 64-bit key that
    /// identifies <paramref name="query"/> (e.g. a hash of a user's query vector; keep item rows and hashes in separate
    /// caches).</summary>
    public int Search(long key, ReadOnlySpan<float> query, int k, Span<Neighbor> destination) => Search(key, query, k, null, k, destination);

    /// <summary>As <see cref="Search(long, ReadOnlySpan{float}, int, Span{Neighbor})"/>, a miss searching with
    /// <paramref name="filter"/> (null: none) and <paramref name="breadth"/>
    /// (<see cref="IFilteredVectorIndex.SearchFiltered"/>); <paramref name="key"/> must then identify the query, the
    /// filter and the breadth.</summary>
    /// <exception cref="ArgumentException">A filter, and the index does not filter inside its search.</exception>
    public int Search(long key, ReadOnlySpan<float> query, int k, SearchFilter? filter, int breadth, Span<Neighbor> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, destination.Length);
        if (filter is not null && Index is not IFilteredVectorIndex)
            throw new ArgumentException($"{Index.GetType().Name} does not filter inside its search.", nameof(filter));
        if (TryGet(key, k, destination, out int count)) return count;
        count = filter is null ? Index.Search(query, k, destination) : ((IFilteredVectorIndex)Index).SearchFiltered(query, k, filter, breadth, destination);
        Add(key, k, destination[..count]);
        return count;
    }

    /// <summary>Drops every cached list (counters are kept).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _slotOf.Clear();
            _head = _tail = None;
            _used = 0;
        }
    }

    private bool TryGet(long row, int k, Span<Neighbor> destination, out int count)
    {
        lock (_lock)
        {
            // Servable: the cached list has ≥ k entries, or it is complete (the index returned fewer than were asked).
            if (_slotOf.TryGetValue(row, out int slot) && (_length[slot] >= k || _length[slot] < _requested[slot]))
            {
                count = Math.Min(k, _length[slot]);
                _lists[slot].AsSpan(0, count).CopyTo(destination);
                MoveToFront(slot);
                _hits++;
                return true;
            }
            _misses++;
            count = 0;
            return false;
        }
    }

    private void Add(long row, int requested, ReadOnlySpan<Neighbor> list)
    {
        lock (_lock)
        {
            if (_slotOf.TryGetValue(row, out int slot))
            {
                // Another thread may have cached a longer list meanwhile: keep the longer.
                if (_requested[slot] >= requested) return;
                Unlink(slot);
            }
            else if (_used < Capacity)
            {
                slot = _used++;
            }
            else
            {
                slot = _tail;
                Unlink(slot);
                _slotOf.Remove(_key[slot]);
                _evictions++;
            }
            Neighbor[]? array = _lists[slot];
            if (array is null || array.Length < list.Length) _lists[slot] = array = new Neighbor[Math.Max(list.Length, 16)];
            list.CopyTo(array);
            _key[slot] = row;
            _length[slot] = list.Length;
            _requested[slot] = requested;
            _slotOf[row] = slot;
            LinkFront(slot);
        }
    }

    private void MoveToFront(int slot)
    {
        if (_head == slot) return;
        Unlink(slot);
        LinkFront(slot);
    }

    private void Unlink(int slot)
    {
        int p = _prev[slot], n = _next[slot];
        if (p != None) _next[p] = n; else _head = n;
        if (n != None) _prev[n] = p; else _tail = p;
    }

    private void LinkFront(int slot)
    {
        _prev[slot] = None;
        _next[slot] = _head;
        if (_head != None) _prev[_head] = slot;
        _head = slot;
        if (_tail == None) _tail = slot;
    }
}
