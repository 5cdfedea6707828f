using System.Runtime.CompilerServices;

namespace PinnerSage.Ann;

/// <summary>A (distance, element id) pair in the HNSW heaps.</summary>
internal struct Candidate(float distance, int id)
{
    public float Distance = distance;
    public int Id = id;
}

/// <summary>Per-thread search scratch (hnswlib's VisitedList + the two priority queues of Alg. 2): an epoch-tagged
/// visited array ("cleared" by bumping the epoch, zeroed only when it wraps), a min-heap C of candidates, a max-heap W
/// of results, and buffers for the query and neighbour selection. Grows once and is then reused: searches allocate
/// nothing when warm.</summary>
internal sealed class SearchScratch
{
    [ThreadStatic] private static SearchScratch? t_current;

    private int[] _visited = [];
    private int _epoch;

    public Candidate[] Candidates = new Candidate[256];
    public int CandidateCount;
    public Candidate[] Results = new Candidate[256];
    public int ResultCount;
    public float[] Query = [];
    public float[] Folded = [];
    public sbyte[] QueryCodes = [];
    public Candidate[] Selection = new Candidate[256];
    public int[] Chosen = new int[256];
    public int[] Pending = new int[512];
    public int[] ChosenCounts = new int[32];
    private int[][] _chosenPerLayer = [];

    /// <summary>This thread's scratch (searches and inserts on one thread run one at a time).</summary>
    public static SearchScratch ForThread() => t_current ??= new SearchScratch();

    /// <summary>Starts a new visited generation over ids &lt; <paramref name="capacity"/>; returns the epoch to tag with.</summary>
    public int NewEpoch(int capacity)
    {
        if (_visited.Length < capacity)
        {
            _visited = new int[Math.Max(capacity, _visited.Length * 2)];
            _epoch = 0;
        }
        if (++_epoch == int.MaxValue)
        {
            Array.Clear(_visited);
            _epoch = 1;
        }
        return _epoch;
    }

    public int[] Visited => _visited;

    public float[] QueryBuffer(int dimension)
    {
        if (Query.Length < dimension) Query = new float[dimension];
        return Query;
    }

    /// <summary>Buffers of the quantized index's query encoding: d folded floats and <paramref name="codeBytes"/> codes
    /// (bytes past d may hold anything: the elements' padding codes are zero).</summary>
    public sbyte[] QueryCodeBuffer(int dimension, int codeBytes)
    {
        if (Folded.Length < dimension) Folded = new float[dimension];
        if (QueryCodes.Length < codeBytes) QueryCodes = new sbyte[codeBytes];
        return QueryCodes;
    }

    /// <summary><paramref name="layers"/> buffers of ≥ <paramref name="m"/> ids each, for INSERT's per-layer choices.</summary>
    public int[][] ChosenPerLayer(int layers, int m)
    {
        if (_chosenPerLayer.Length < layers || _chosenPerLayer[0].Length < m)
        {
            _chosenPerLayer = new int[Math.Max(layers, 32)][];
            for (int i = 0; i < _chosenPerLayer.Length; i++) _chosenPerLayer[i] = new int[m];
        }
        if (ChosenCounts.Length < layers) ChosenCounts = new int[layers];
        return _chosenPerLayer;
    }

    public void EnsureSelection(int size)
    {
        if (Selection.Length < size) Selection = new Candidate[size * 2];
        if (Chosen.Length < size) Chosen = new int[size * 2];
    }

    // C is a min-heap and W a max-heap on distance: one binary heap (CLRS 3rd ed. §6.5) ordered by a struct operator.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushCandidate(float distance, int id) => BinaryHeap.Push<NearestFirst>(ref Candidates, ref CandidateCount, new Candidate(distance, id));

    public Candidate PopCandidate() => BinaryHeap.Pop<NearestFirst>(Candidates, ref CandidateCount);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushResult(float distance, int id) => BinaryHeap.Push<FarthestFirst>(ref Results, ref ResultCount, new Candidate(distance, id));

    public Candidate PopResult() => BinaryHeap.Pop<FarthestFirst>(Results, ref ResultCount);

    /// <summary>Empties W into <paramref name="destination"/> nearest first (heap order reversed); returns the count.</summary>
    public int DrainResultsAscending(Span<Candidate> destination)
    {
        int n = ResultCount;
        for (int i = n - 1; i >= 0; i--) destination[i] = PopResult();
        return n;
    }
}

/// <summary>Heap order as a static struct operator: <c>Before(a, b)</c> is true when a belongs nearer the root.</summary>
internal interface IHeapOrder
{
    static abstract bool Before(float a, float b);
}

internal readonly struct NearestFirst : IHeapOrder
{
    public static bool Before(float a, float b) => a < b;
}

internal readonly struct FarthestFirst : IHeapOrder
{
    public static bool Before(float a, float b) => a > b;
}

/// <summary>Binary heap over a growable <see cref="Candidate"/> array (grows by doubling; never shrinks, so warm
/// searches allocate nothing).</summary>
internal static class BinaryHeap
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Push<TOrder>(ref Candidate[] heap, ref int count, Candidate item) where TOrder : struct, IHeapOrder
    {
        if (count == heap.Length) Array.Resize(ref heap, heap.Length * 2);
        Candidate[] h = heap;
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!TOrder.Before(item.Distance, h[parent].Distance)) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = item;
    }

    public static Candidate Pop<TOrder>(Candidate[] h, ref int count) where TOrder : struct, IHeapOrder
    {
        Candidate top = h[0];
        Candidate last = h[--count];
        int n = count, i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && TOrder.Before(h[child + 1].Distance, h[child].Distance)) child++;
            if (!TOrder.Before(h[child].Distance, last.Distance)) break;
            h[i] = h[child];
            i = child;
        }
        if (n > 0) h[i] = last;
        return top;
    }
}
