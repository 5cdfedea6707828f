using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace PinnerSage.Ann;

public sealed partial class HnswIndex
{
    /// <summary>INSERT (Malkov &amp; Yashunin 2018, Alg. 1) of <paramref name="label"/>, reordered in three phases
    /// (our choice; the result is Alg. 1's): (A) descend and run SEARCH-LAYER + SELECT-NEIGHBORS-HEURISTIC on every layer
    /// ≤ l with the query alone, (B) if refinement is on and the nearest element found is a near-duplicate, stop here and
    /// map the label to it, (C) only then reserve an id, write the vector and its own links, and finally link the
    /// neighbours back (shrinking their lists with the heuristic when over Mmax). An element is unreachable until (C)'s
    /// back-links, so a concurrent search never sees a half-written element.</summary>
    /// <returns>True when inserted, false when dropped as a duplicate.</returns>
    private bool Insert(int label, ReadOnlySpan<float> vector, float? duplicateCosine) =>
        _options.Metric == VectorMetric.L2
            ? Insert<SquaredL2Distance>(label, vector, duplicateCosine)
            : Insert<InnerProductDistance>(label, vector, duplicateCosine);

    private bool Insert<TDistance>(int label, ReadOnlySpan<float> vector, float? duplicateCosine) where TDistance : struct, IDistance
    {
        SearchScratch scratch = SearchScratch.ForThread();
        float[] q = scratch.QueryBuffer(Dimension);
        Span<float> qSpan = q.AsSpan(0, Dimension);
        PrepareVector(vector, qSpan);
        ref float q0 = ref MemoryMarshal.GetArrayDataReference(q);
        int level = RandomLevel(label);

        _growLock.EnterReadLock();
        try
        {
            EntryPoint? entry = Volatile.Read(ref _entry);
            if (entry is null)
            {
                lock (_entryLock)
                {
                    if (Volatile.Read(ref _entry) is null)
                    {
                        int first = ReserveId();
                        WriteElement(first, label, level, qSpan);
                        Volatile.Write(ref _entry, new EntryPoint(first, level));
                        return true;
                    }
                }
                entry = Volatile.Read(ref _entry)!;
            }

            // (A) Alg. 1 lines 5–15 with the query alone.
            NodeStore s = Volatile.Read(ref _store);
            int top = Math.Min(level, entry.Level);
            // chosen[layer] = the ≤ M neighbours selected on that layer, kept in the thread's scratch.
            int[][] chosen = scratch.ChosenPerLayer(top + 1, _m);
            int[] chosenCount = scratch.ChosenCounts;
            int ep = entry.Id;
            float epDistance = TDistance.Compute(ref q0, ref VectorRef(s, ep), Dimension);
            for (int layer = entry.Level; layer > level; layer--)
                (ep, epDistance) = GreedyClosest<TDistance>(s, ref q0, ep, epDistance, layer);
            for (int layer = top; layer >= 0; layer--)
            {
                SearchLayer<TDistance, NoFilter>(s, ref q0, ep, epDistance, layer, _options.EfConstruction, skipDeleted: false, default, scratch);
                scratch.EnsureSelection(scratch.ResultCount + 1);
                int found = scratch.DrainResultsAscending(scratch.Selection);
                Span<Candidate> w = scratch.Selection.AsSpan(0, found);
                chosenCount[layer] = SelectNeighborsHeuristic<TDistance>(s, w, _m, chosen[layer]);
                // Alg. 1 line 14: ep ← W; hnswlib (and we) continue from the nearest element only.
                (ep, epDistance) = (w[0].Id, w[0].Distance);
                if (layer == 0 && duplicateCosine is { } threshold && FindDuplicate(s, qSpan, w, threshold) is int twin)
                {
                    lock (_labelLock) _duplicateOf[label] = s.Labels[twin];
                    return false;
                }
            }

            // (C) Alg. 1 lines 9–13 and 16–17.
            int id = ReserveId();
            s = Volatile.Read(ref _store);
            WriteElement(id, label, level, qSpan);
            for (int layer = top; layer >= 0; layer--)
            {
                Span<int> own = LinkList(s, id, layer);
                int start = LinksStart(layer);
                chosen[layer].AsSpan(0, chosenCount[layer]).CopyTo(own[start..]);
                Volatile.Write(ref own[0], chosenCount[layer]);
            }
            for (int layer = top; layer >= 0; layer--)
                for (int j = 0; j < chosenCount[layer]; j++)
                    ConnectBack<TDistance>(s, chosen[layer][j], id, layer, scratch);

            if (level > entry.Level)
                lock (_entryLock)
                    if (level > Volatile.Read(ref _entry)!.Level) Volatile.Write(ref _entry, new EntryPoint(id, level));
            return true;
        }
        finally { _growLock.ExitReadLock(); }
    }

    /// <summary>Writes element <paramref name="id"/>'s vector, label and empty link lists, and registers its label.</summary>
    private void WriteElement(int id, int label, int level, ReadOnlySpan<float> prepared)
    {
        NodeStore s = _store;
        prepared.CopyTo(MemoryMarshal.CreateSpan(ref VectorRef(s, id), Dimension));
        Header(s, id, 0) = 0;
        Header(s, id, 1) = 0;
        s.Labels[id] = label;
        s.Upper[id] = level > 0 ? new int[level * (_m + 1)] : null;
        lock (_labelLock)
        {
            if (_labelToId.TryGetValue(label, out int old) && old != id && !IsDeleted(s, old))
            {
                // A concurrent Add of the same label won the race: this copy is tombstoned at once.
                Header(s, id, 1) = FlagDeleted;
                Interlocked.Increment(ref _deletedCount);
                return;
            }
            _labelToId[label] = id;
        }
    }

    /// <summary>The first element among the nearest found whose cosine with the query is ≥ the threshold, if any.
    /// Only the M nearest by the metric are checked (for ip/L2 the metric's order is not cosine's; our choice).</summary>
    private int? FindDuplicate(NodeStore s, ReadOnlySpan<float> q, ReadOnlySpan<Candidate> w, float threshold)
    {
        int limit = Math.Min(w.Length, _m);
        for (int i = 0; i < limit; i++)
        {
            float cosine = _options.Metric == VectorMetric.Cosine
                ? 1f - w[i].Distance
                : TensorPrimitives.CosineSimilarity(q, MemoryMarshal.CreateReadOnlySpan(ref VectorRef(s, w[i].Id), Dimension));
            if (cosine >= threshold && !IsDeleted(s, w[i].Id)) return w[i].Id;
        }
        return null;
    }

    /// <summary>SELECT-NEIGHBORS-HEURISTIC (Alg. 4, extendCandidates = keepPrunedConnections = false): walking the
    /// candidates nearest first, keep e only if it is closer to the base element than to every element kept so far, so
    /// links spread over directions instead of piling into one cluster. <paramref name="candidates"/> must be sorted
    /// ascending by distance to the base; writes ≤ <paramref name="m"/> ids to <paramref name="destination"/>.</summary>
    private int SelectNeighborsHeuristic<TDistance>(NodeStore s, ReadOnlySpan<Candidate> candidates, int m, Span<int> destination)
        where TDistance : struct, IDistance
    {
        if (candidates.Length <= m)
        {
            for (int i = 0; i < candidates.Length; i++) destination[i] = candidates[i].Id;
            return candidates.Length;
        }
        int kept = 0;
        foreach (Candidate e in candidates)
        {
            if (kept >= m) break;
            ref float ev = ref VectorRef(s, e.Id);
            bool good = true;
            for (int r = 0; r < kept; r++)
                if (TDistance.Compute(ref ev, ref VectorRef(s, destination[r]), Dimension) < e.Distance)
                {
                    good = false;
                    break;
                }
            if (good) destination[kept++] = e.Id;
        }
        return kept;
    }

    /// <summary>Insertion sort by distance: the pools are ≤ MaxM0 + 1 long and mostly sorted already.</summary>
    private static void SortByDistance(Span<Candidate> pool)
    {
        for (int i = 1; i < pool.Length; i++)
        {
            Candidate x = pool[i];
            int j = i - 1;
            while (j >= 0 && pool[j].Distance > x.Distance)
            {
                pool[j + 1] = pool[j];
                j--;
            }
            pool[j + 1] = x;
        }
    }

    /// <summary>Adds <paramref name="newId"/> to <paramref name="neighbor"/>'s list on <paramref name="layer"/> (Alg. 1
    /// lines 11–13): append while below Mmax, else re-select Mmax links from the old ones plus the new one with the
    /// heuristic (as hnswlib). Holds only the neighbour's lock.</summary>
    private void ConnectBack<TDistance>(NodeStore s, int neighbor, int newId, int layer, SearchScratch scratch)
        where TDistance : struct, IDistance
    {
        int maxLinks = MaxLinks(layer);
        int start = LinksStart(layer);
        lock (_linkLocks[neighbor & (LockStripes - 1)])
        {
            Span<int> list = LinkList(s, neighbor, layer);
            int count = list[0];
            for (int j = 0; j < count; j++)
                if (list[start + j] == newId) return;
            if (count < maxLinks)
            {
                list[start + count] = newId;
                Volatile.Write(ref list[0], count + 1);
                return;
            }
            ref float nv = ref VectorRef(s, neighbor);
            scratch.EnsureSelection(maxLinks + 1);
            Span<Candidate> pool = scratch.Selection.AsSpan(0, count + 1);
            pool[0] = new Candidate(TDistance.Compute(ref nv, ref VectorRef(s, newId), Dimension), newId);
            for (int j = 0; j < count; j++)
            {
                int other = list[start + j];
                pool[j + 1] = new Candidate(TDistance.Compute(ref nv, ref VectorRef(s, other), Dimension), other);
            }
            SortByDistance(pool);
            Span<int> kept = scratch.Chosen.AsSpan(0, maxLinks);
            int keptCount = SelectNeighborsHeuristic<TDistance>(s, pool, maxLinks, kept);
            kept[..keptCount].CopyTo(list[start..]);
            Volatile.Write(ref list[0], keptCount);
        }
    }
}
