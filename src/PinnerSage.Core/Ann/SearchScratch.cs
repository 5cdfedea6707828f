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
    public Candidate[] Selection = new Candidate[256];
    public int[] Chosen = new int[256];

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

    public void EnsureSelection(int size)
    {
        if (Selection.Length < size) Selection = new Candidate[size * 2];
        if (Chosen.Length < size) Chosen = new int[size * 2];
    }

    // ---- C: min-heap on distance ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushCandidate(float distance, int id)
    {
        if (CandidateCount == Candidates.Length) Array.Resize(ref Candidates, Candidates.Length * 2);
        Candidate[] h = Candidates;
        int i = CandidateCount++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (h[parent].Distance <= distance) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = new Candidate(distance, id);
    }

    public Candidate PopCandidate()
    {
        Candidate[] h = Candidates;
        Candidate top = h[0];
        Candidate last = h[--CandidateCount];
        int n = CandidateCount, i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && h[child + 1].Distance < h[child].Distance) child++;
            if (h[child].Distance >= last.Distance) break;
            h[i] = h[child];
            i = child;
        }
        if (n > 0) h[i] = last;
        return top;
    }

    // ---- W: max-heap on distance ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushResult(float distance, int id)
    {
        if (ResultCount == Results.Length) Array.Resize(ref Results, Results.Length * 2);
        Candidate[] h = Results;
        int i = ResultCount++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (h[parent].Distance >= distance) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = new Candidate(distance, id);
    }

    public Candidate PopResult()
    {
        Candidate[] h = Results;
        Candidate top = h[0];
        Candidate last = h[--ResultCount];
        int n = ResultCount, i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && h[child + 1].Distance > h[child].Distance) child++;
            if (h[child].Distance <= last.Distance) break;
            h[i] = h[child];
            i = child;
        }
        if (n > 0) h[i] = last;
        return top;
    }

    /// <summary>Empties W into <paramref name="destination"/> nearest first (heap order reversed); returns the count.</summary>
    public int DrainResultsAscending(Span<Candidate> destination)
    {
        int n = ResultCount;
        for (int i = n - 1; i >= 0; i--) destination[i] = PopResult();
        return n;
    }
}
