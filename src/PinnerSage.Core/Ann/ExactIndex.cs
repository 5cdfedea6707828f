using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PinnerSage.Numerics;

namespace PinnerSage.Ann;

/// <summary>Exact k-nearest-neighbour search by a full scan: the reference that approximate indexes are measured
/// against (recall@k) and the index of choice for small catalogues, where a scan is fast and needs no build.</summary>
/// <remarks>
/// <para>Brute force over one contiguous row-major table: O(n·d) per query, O(n·d) memory. Distances follow
/// <see cref="IVectorIndex"/>: 1 − x·y for <see cref="VectorMetric.InnerProduct"/>, 1 − cos for
/// <see cref="VectorMetric.Cosine"/> (rows and query are L2-normalised, so it is 1 − x·y of unit vectors) and ‖x − y‖²
/// for <see cref="VectorMetric.L2"/>, computed by the HNSW index's own kernels (<see cref="DistanceKernels"/>, so exact
/// and approximate distances agree bit for bit). Top-k uses a bounded max-heap kept in the caller's destination (CLRS §6.5), so a
/// search touches no other memory; ties are broken by the smaller label (our choice: results are deterministic).</para>
/// <para>Concurrency (our choice): searches read an immutable snapshot (table, tombstones, row count) published through
/// a volatile field, so any number of threads search without locks while one thread at a time adds or deletes. A row
/// is written before the snapshot that makes it visible; a delete sets a tombstone that searches see at once or at
/// their next snapshot. A search allocates nothing (Cosine normalises the query into a per-thread buffer).</para>
/// </remarks>
public sealed class ExactIndex : IFilteredVectorIndex
{
    private readonly Lock _writeLock = new();
    private volatile Snapshot _snapshot;

    [ThreadStatic] private static float[]? t_query;

    /// <summary>Creates an empty index of <paramref name="dimension"/>-dimensional vectors.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> ≤ 0, an unknown metric, or a
    /// negative <paramref name="capacity"/>.</exception>
    public ExactIndex(int dimension, VectorMetric metric, int capacity = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        if (!Enum.IsDefined(metric)) throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric.");
        Dimension = dimension;
        Metric = metric;
        _snapshot = new Snapshot(new float[(long)capacity * dimension], new bool[capacity], 0, 0);
    }

    /// <summary>An index over the <paramref name="vectors"/> table (n × <paramref name="dimension"/>, row-major); the
    /// label of row i is i, so labels are rows of the item embedding table.</summary>
    /// <exception cref="ArgumentException">The table length is not a multiple of <paramref name="dimension"/>, or a
    /// value is not finite.</exception>
    public static ExactIndex Build(ReadOnlySpan<float> vectors, int dimension, VectorMetric metric)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (vectors.Length % dimension != 0)
            throw new ArgumentException($"Table length {vectors.Length} is not a multiple of the dimension {dimension}.", nameof(vectors));
        int n = vectors.Length / dimension;
        var index = new ExactIndex(dimension, metric, n);
        for (int i = 0; i < n; i++) index.Add(vectors.Slice(i * dimension, dimension));
        return index;
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public int Count => _snapshot.Live;

    /// <inheritdoc/>
    public VectorMetric Metric { get; }

    /// <summary>Labels handed out so far (deleted ones included): the next <see cref="Add"/> returns this value.</summary>
    public int LabelCount => _snapshot.Rows;

    /// <summary>The stored vector of <paramref name="label"/> (unit-normalised under <see cref="VectorMetric.Cosine"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such label.</exception>
    public ReadOnlySpan<float> Vector(int label)
    {
        Snapshot s = _snapshot;
        if ((uint)label >= (uint)s.Rows) throw new ArgumentOutOfRangeException(nameof(label), label, $"Label must be in [0, {s.Rows}).");
        return s.Data.AsSpan((int)((long)label * Dimension), Dimension);
    }

    /// <summary>True when <paramref name="label"/> was added and not deleted.</summary>
    public bool Contains(int label)
    {
        Snapshot s = _snapshot;
        return (uint)label < (uint)s.Rows && !s.Deleted[label];
    }

    /// <summary>Appends <paramref name="vector"/> and returns its label (the next row number).</summary>
    /// <exception cref="ArgumentException">Wrong length or a non-finite value.</exception>
    public int Add(ReadOnlySpan<float> vector)
    {
        if (vector.Length != Dimension)
            throw new ArgumentException($"Vector has {vector.Length} values, expected {Dimension}.", nameof(vector));
        if (!float.IsFinite(TensorPrimitives.Sum(vector)) && HasNonFinite(vector))
            throw new ArgumentException("Vector has a NaN or infinite value.", nameof(vector));
        lock (_writeLock)
        {
            Snapshot s = _snapshot;
            float[] data = s.Data;
            bool[] deleted = s.Deleted;
            if (s.Rows == deleted.Length)
            {
                // Grow into new arrays: searches holding the old snapshot keep reading the old ones undisturbed.
                int capacity = Math.Max(16, checked(deleted.Length * 2));
                data = new float[(long)capacity * Dimension];
                deleted = new bool[capacity];
                s.Data.AsSpan(0, s.Rows * Dimension).CopyTo(data);
                s.Deleted.AsSpan(0, s.Rows).CopyTo(deleted);
            }
            Span<float> row = data.AsSpan(s.Rows * Dimension, Dimension);
            if (Metric == VectorMetric.Cosine) VectorNorms.Normalize(vector, row);
            else vector.CopyTo(row);
            _snapshot = new Snapshot(data, deleted, s.Rows + 1, s.Live + 1);
            return s.Rows;
        }
    }

    /// <summary>Marks <paramref name="label"/> deleted (a tombstone: it is never returned again); false when it was
    /// unknown or already deleted.</summary>
    public bool Delete(int label)
    {
        lock (_writeLock)
        {
            Snapshot s = _snapshot;
            if ((uint)label >= (uint)s.Rows || s.Deleted[label]) return false;
            s.Deleted[label] = true;
            _snapshot = s with { Live = s.Live - 1 };
            return true;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="query"/> length is not <see cref="Dimension"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> ≤ 0 or larger than the destination.</exception>
    public int Search(ReadOnlySpan<float> query, int k, Span<Neighbor> destination) => SearchFiltered(query, k, null, k, destination);

    /// <summary>The exact k nearest live rows that <paramref name="filter"/> allows (null: all), nearest first
    /// (<paramref name="breadth"/> is unused: the scan sees every row).</summary>
    /// <exception cref="ArgumentException"><paramref name="query"/> length is not <see cref="Dimension"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> ≤ 0 or larger than the destination.</exception>
    public int SearchFiltered(ReadOnlySpan<float> query, int k, SearchFilter? filter, int breadth, Span<Neighbor> destination)
    {
        if (query.Length != Dimension)
            throw new ArgumentException($"Query has {query.Length} values, expected {Dimension}.", nameof(query));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, destination.Length);
        Snapshot s = _snapshot;
        if (Metric == VectorMetric.Cosine)
        {
            float[] buffer = t_query is { } b && b.Length >= Dimension ? b : (t_query = new float[Dimension]);
            Span<float> unit = buffer.AsSpan(0, Dimension);
            VectorNorms.Normalize(query, unit);
            query = unit;
        }
        return Metric == VectorMetric.L2
            ? Scan<SquaredL2Distance>(s, query, filter, destination[..k])
            : Scan<InnerProductDistance>(s, query, filter, destination[..k]);
    }

    /// <summary>One pass over every live row: the heap holds the best <c>count</c> so far with the worst at the root.</summary>
    private int Scan<TDistance>(Snapshot s, ReadOnlySpan<float> query, SearchFilter? filter, Span<Neighbor> heap)
        where TDistance : struct, IDistance
    {
        ref float q = ref MemoryMarshal.GetReference(query);
        int d = Dimension, count = 0;
        // The shared HNSW kernels take refs: row i starts at row0 + i·d, inside Data (Rows·d ≤ Data.Length).
        ref float row0 = ref MemoryMarshal.GetArrayDataReference(s.Data);
        ReadOnlySpan<bool> deleted = s.Deleted.AsSpan(0, s.Rows);
        // Invariant: heap[0..count) is a max-heap by (distance, label); once full, a row enters only when it beats the root.
        for (int i = 0; i < deleted.Length; i++)
        {
            if (deleted[i] || (filter is not null && !filter.Allows(i))) continue;
            float distance = TDistance.Compute(ref q, ref Unsafe.Add(ref row0, i * d), d);
            if (float.IsNaN(distance)) continue;
            var candidate = new Neighbor(i, distance);
            if (count < heap.Length)
            {
                heap[count] = candidate;
                NeighborHeap.SiftUp(heap, count++);
            }
            else if (NeighborHeap.Before(candidate, heap[0]))
            {
                heap[0] = candidate;
                NeighborHeap.SiftDown(heap, 0, count);
            }
        }
        NeighborHeap.SortAscending(heap[..count]);
        return count;
    }

    private static bool HasNonFinite(ReadOnlySpan<float> v)
    {
        foreach (float x in v)
        {
            if (!float.IsFinite(x)) return true;
        }
        return false;
    }

    private sealed record Snapshot(float[] Data, bool[] Deleted, int Rows, int Live);
}

/// <summary>Binary max-heap of neighbours ordered by (distance, label): the worst candidate sits at the root.</summary>
internal static class NeighborHeap
{
    /// <summary>True when <paramref name="a"/> is closer than <paramref name="b"/> (ties: smaller label).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Before(Neighbor a, Neighbor b) =>
        a.Distance < b.Distance || (a.Distance == b.Distance && a.Label < b.Label);

    public static void SiftUp(Span<Neighbor> heap, int i)
    {
        Neighbor x = heap[i];
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(heap[parent], x)) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = x;
    }

    public static void SiftDown(Span<Neighbor> heap, int i, int count)
    {
        Neighbor x = heap[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && Before(heap[child], heap[child + 1])) child++;
            if (!Before(x, heap[child])) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = x;
    }

    /// <summary>Heap-sorts a max-heap in place into nearest-first order (CLRS §6.4).</summary>
    public static void SortAscending(Span<Neighbor> heap)
    {
        for (int end = heap.Length - 1; end > 0; end--)
        {
            (heap[0], heap[end]) = (heap[end], heap[0]);
            SiftDown(heap, 0, end);
        }
    }
}
