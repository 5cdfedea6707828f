using System.Diagnostics.CodeAnalysis;
using System.IO.Hashing;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Numerics;

namespace PinnerSage.Retrieval;

/// <summary>PinnerSage candidate retrieval: a user's profile → K recommended items, each with its reason (the
/// cluster and medoid that retrieved it); and item-to-item similar items through the same index.</summary>
/// <remarks>
/// <para>Pal et al., PinnerSage, KDD 2020, §3.3 and §5 (papers/PINNERSAGE.md, "Retrieval"): sample e = 3 medoids ∝
/// importance (<see cref="MedoidSampler"/>), query the ANN index with each medoid's vector, take ⌊K/e⌋ neighbours per
/// medoid and their union (K = 400 in the offline protocol). Our choices: sampling without replacement and all medoids
/// when a user has ≤ e; the seed from the user id and the day; the user's engaged items (cluster members) excluded;
/// duplicates across lists attributed to the list that reaches them first; blending round-robin over the lists in
/// decreasing cluster importance (or by distance); filling up to K from deeper in the lists
/// (<see cref="RecommenderOptions.FillToK"/>). Medoid ids without a row in the embedding table are skipped and
/// counted (<see cref="RecommendationSummary.MedoidsWithoutVector"/>), as are medoids whose vector is zero. With a refined
/// <see cref="HnswIndex"/>, an engaged item dropped as a near-duplicate excludes its representative too.</para>
/// <para>Cost: e index searches of ~⌊K/e⌋·OverFetch + |cluster| neighbours (served by <see cref="NeighborCache"/>
/// when given), O(members) hash lookups for the engaged set, O(K·d) for the cosine of each result. Thread-safe: any
/// number of threads may call <see cref="RecommendWithSeed(UserProfile, ulong, Span{Recommendation})"/> concurrently.
/// Allocation: nothing once warm: lists, hash sets and sort buffers are per-thread scratch that grows to the largest
/// request seen; only a <see cref="NeighborCache"/> miss may allocate (the cached list's array, until evicted slots
/// are reused), and the convenience overloads returning arrays allocate their result.</para>
/// </remarks>
public sealed class Recommender
{

    [ThreadStatic] private static Scratch? t_scratch;

    private readonly int _indexLabelLimit;
    private readonly HnswIndex? _hnsw;
    private readonly IFilteredVectorIndex? _filtered;

    /// <summary>Retrieval over <paramref name="index"/>, whose labels are rows of <paramref name="items"/>.</summary>
    /// <param name="index">The ANN (or exact) index over the item vectors.</param>
    /// <param name="items">Item ids ↔ rows and the vectors: medoid vectors are looked up here.</param>
    /// <param name="options">Options (default <see cref="RecommenderOptions.Default"/>); validated.</param>
    /// <param name="cache">Optional cache of neighbour lists by medoid; must wrap <paramref name="index"/>.</param>
    /// <exception cref="ArgumentException">Dimensions differ, or the cache wraps another index.</exception>
    /// <param name="centreCache">Optional cache of the mixture policy's centre lists, keyed by a hash of the centre
    /// vector (a user's centre changes only when their profile does); must wrap <paramref name="index"/>.</param>
    public Recommender(IVectorIndex index, ItemEmbeddings items, RecommenderOptions? options = null, NeighborCache? cache = null,
                       NeighborCache? centreCache = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(items);
        options ??= RecommenderOptions.Default;
        options.Validate();
        if (index.Dimension != items.Dimension)
            throw new ArgumentException($"The index has dimension {index.Dimension} but the embeddings have {items.Dimension}.", nameof(index));
        if (cache is not null && !ReferenceEquals(cache.Index, index))
            throw new ArgumentException("The cache wraps a different index.", nameof(cache));
        if (centreCache is not null && (!ReferenceEquals(centreCache.Index, index) || ReferenceEquals(centreCache, cache)))
            throw new ArgumentException("The centre cache must wrap the same index and be another cache than the medoid lists'.", nameof(centreCache));
        CentreCache = centreCache;
        Index = index;
        Items = items;
        Options = options;
        Cache = cache;
        _indexLabelLimit = items.Count;
        _hnsw = index as HnswIndex;
        _filtered = options.ExcludeEngaged && options.FilterInSearch ? index as IFilteredVectorIndex : null;
    }

    /// <summary>The index queried.</summary>
    public IVectorIndex Index { get; }

    /// <summary>The item table (ids, rows, vectors).</summary>
    public ItemEmbeddings Items { get; }

    /// <summary>The options.</summary>
    public RecommenderOptions Options { get; }

    /// <summary>The neighbour-list cache, if any.</summary>
    public NeighborCache? Cache { get; }

    /// <summary>The mixture policy's centre-list cache, if any.</summary>
    public NeighborCache? CentreCache { get; }

    /// <summary>The default per-request seed: a stable 64-bit hash (FNV-1a over the UTF-16 code units, SplitMix64
    /// finalised) of <paramref name="userId"/> and the UTC day of <paramref name="now"/> (Unix seconds). Identical on
    /// every process and machine, unlike <see cref="string.GetHashCode()"/>.</summary>
    public static ulong DefaultSeed(string userId, long now)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ulong h = SplitMix64.Fnv1a(userId);
        long day = UnixTime.FloorToDay(now) / UnixTime.SecondsPerDay;
        return SplitMix64.Mix(h ^ SplitMix64.Mix(unchecked((ulong)day) + SplitMix64.Gamma));
    }

    /// <summary>Recommends <see cref="RecommenderOptions.K"/> items for <paramref name="profile"/> into
    /// <paramref name="destination"/>, seeded by <see cref="RecommenderOptions.Seed"/> or else
    /// <see cref="DefaultSeed"/>(user, <paramref name="now"/>).</summary>
    /// <inheritdoc cref="RecommendWithSeed(UserProfile, ulong, Span{Recommendation})"/>
    public RecommendationSummary Recommend(UserProfile profile, long now, Span<Recommendation> destination)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return RecommendWithSeed(profile, Options.Seed ?? DefaultSeed(profile.UserId, now), destination);
    }

    /// <summary>Recommends up to <see cref="RecommenderOptions.K"/> items for <paramref name="profile"/>, sampling
    /// medoids with <paramref name="seed"/>. The results are in blending order (round-robin: the best of each sampled
    /// interest first); none is an engaged item (unless <see cref="RecommenderOptions.ExcludeEngaged"/> is off), none
    /// repeats. Fewer than K come back only when the index cannot supply more (or <see cref="RecommenderOptions.FillToK"/>
    /// is off).</summary>
    /// <returns>How many were written, and what was sampled, skipped and dropped.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="profile"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than K.</exception>
    /// <exception cref="InvalidOperationException">The index returned a label that is not a row of the item table.</exception>
    public RecommendationSummary RecommendWithSeed(UserProfile profile, ulong seed, Span<Recommendation> destination)
    {
        ArgumentNullException.ThrowIfNull(profile);
        int k = Options.K;
        if (destination.Length < k)
            throw new ArgumentException($"Destination has room for {destination.Length} results, K is {k}.", nameof(destination));
        Scratch s = t_scratch ??= new Scratch();
        IReadOnlyList<ProfileCluster> clusters = profile.Clusters;
        if (Options.Policy == RetrievalPolicy.Mixture) return RecommendMixture(s, clusters, destination[..k]);

        // Clusters whose medoid has a vector: only those can be queried, so only those are sampled.
        s.EnsureClusters(clusters.Count);
        int eligible = 0;
        for (int c = 0; c < clusters.Count; c++)
        {
            if (!HasVector(clusters[c].Medoid, out int row)) continue;
            s.ClusterOf[eligible] = c;
            s.MedoidRow[eligible] = row;
            s.Weights[eligible] = clusters[c].Importance;
            eligible++;
        }
        int missing = clusters.Count - eligible;
        int e = MedoidSampler.Sample(s.Weights.AsSpan(0, eligible), Options.Medoids, Options.Sampling, seed,
                                     s.Keys, s.Picked);
        // More medoids than K: keep the K most important sampled ones (Picked is in decreasing importance).
        e = Math.Min(e, k);
        if (e == 0) return new RecommendationSummary(0, 0, missing, 0, 0, 0);
        int perMedoid = k / e;

        CollectEngaged(s, clusters);

        s.EnsureLists(e);
        int cap = Math.Min(Options.MaxFetchPerMedoid, Index.Count);
        int baseFetch = (int)Math.Min(cap, Math.Ceiling(perMedoid * Options.OverFetch));
        for (int i = 0; i < e; i++)
        {
            int members = Options.ExcludeEngaged ? clusters[s.ClusterOf[s.Picked[i]]].Members.Count : 0;
            // Filtered: Want counts kept neighbours, the over-fetch's depth stays as the search's breadth.
            s.Extra[i] = _filtered is null ? 0 : members;
            s.Want[i] = (int)Math.Min(cap, (long)baseFetch + members - s.Extra[i]);
            FetchList(s, i, perMedoid, cap);
        }
        int count, duplicates;
        while (true)
        {
            count = Options.Blending == CandidateBlending.RoundRobin
                ? BlendRoundRobin(s, clusters, e, perMedoid, k, destination, out duplicates)
                : BlendBySimilarity(s, clusters, e, perMedoid, k, destination, out duplicates);
            if (count == k || !Options.FillToK) break;
            // Overlapping lists left the union short of K: lengthen every list the index can still extend, blend again.
            bool grew = false;
            for (int i = 0; i < e; i++)
            {
                if (s.Exhausted[i]) continue;
                s.Want[i] = (int)Math.Min(cap, 2L * s.Want[i]);
                FetchList(s, i, perMedoid, cap);
                grew = true;
            }
            if (!grew) break;
        }
        int engagedExcluded = 0;
        for (int i = 0; i < e; i++) engagedExcluded += s.Dropped[i];
        return new RecommendationSummary(count, e, missing, perMedoid, engagedExcluded, duplicates);
    }

    /// <summary>The rows of every member of every cluster (when <see cref="RecommenderOptions.ExcludeEngaged"/>), and of
    /// the refined index's representatives of members it dropped as near-duplicates.</summary>
    /// <remarks>With filtered search the same rows are set in the thread's exclusion bitset, whose filter goes into
    /// the searches; the previous request's bits are cleared first (also after an exception left them set).</remarks>
    private void CollectEngaged(Scratch s, IReadOnlyList<ProfileCluster> clusters)
    {
        s.ClearExclusion();
        s.Engaged.Clear();
        s.EngagedHash = 0;
        if (!Options.ExcludeEngaged) return;
        // Indexed loops: foreach over IReadOnlyList would allocate an enumerator per list.
        for (int c = 0; c < clusters.Count; c++)
        {
            IReadOnlyList<string> members = clusters[c].Members;
            for (int m = 0; m < members.Count; m++)
            {
                if (!Items.TryGetRow(members[m], out int row)) continue;
                s.Engaged.Add(row);
                // An engaged item the refined index dropped as a near-duplicate: its representative is engaged too.
                if (_hnsw is not null && _hnsw.TryGetRepresentative(row, out int representative)) s.Engaged.Add(representative);
            }
        }
        if (_filtered is null) return;
        s.EnsureExclusion(Items.Count);
        foreach (int row in s.Engaged)
        {
            s.ExclusionBits[row >> 6] |= 1UL << row;
            // Order-independent, so the centre cache's key names the set, not the order it was collected in.
            s.EngagedHash += SplitMix64.Mix(unchecked((ulong)row + SplitMix64.Gamma));
        }
    }

    /// <summary>The first <paramref name="want"/> neighbours of item <paramref name="row"/> that are not engaged, into
    /// list <paramref name="slot"/> of the scratch; <paramref name="dropped"/> counts engaged ones fetched and dropped.
    /// Without a medoid-list cache: one filtered search as broad as an unfiltered one for <paramref name="breadth"/>.
    /// With one (its lists are shared by every user, so they cannot carry one user's filter): the cached list
    /// <paramref name="breadth"/> deep, engaged items dropped, fetched twice as deep until <paramref name="want"/>
    /// remain or the index has no more. On the exact index both give the same list.</summary>
    private int FetchAllowed(Scratch s, int slot, int row, int want, int breadth, out int dropped)
    {
        ReadOnlySpan<float> vector = Items.Vector(row);
        dropped = 0;
        if (Cache is null)
        {
            Span<Neighbor> found = s.List(slot, want);
            int count = _filtered!.SearchFiltered(vector, want, s.Exclusion, breadth, found);
            for (int r = 0; r < count; r++) CheckLabel(found[r].Label);
            return count;
        }
        int limit = Math.Max(1, Index.Count);
        int fetch = Math.Min(limit, Math.Max(want, breadth));
        while (true)
        {
            Span<Neighbor> list = s.List(slot, fetch);
            int n = Cache.Search(row, vector, fetch, list);
            int kept = 0;
            dropped = 0;
            for (int r = 0; r < n && kept < want; r++)
            {
                Neighbor nb = list[r];
                CheckLabel(nb.Label);
                if (s.Engaged.Contains(nb.Label)) dropped++;
                else list[kept++] = nb;
            }
            if (kept >= want || n < fetch || fetch >= limit) return kept;
            fetch = (int)Math.Min(limit, 2L * fetch);
        }
    }

    /// <summary>The mixture policy (<see cref="MixtureRanker"/>): every cluster whose medoid has a vector is a component,
    /// anchored at the mean of its members' unit vectors, weighted by its importance.</summary>
    private RecommendationSummary RecommendMixture(Scratch s, IReadOnlyList<ProfileCluster> clusters, Span<Recommendation> destination)
    {
        int d = Items.Dimension;
        s.EnsureClusters(clusters.Count);
        s.EnsureMeans(clusters.Count * d);
        int eligible = 0;
        for (int c = 0; c < clusters.Count; c++)
        {
            if (!HasVector(clusters[c].Medoid, out int row)) continue;
            Span<float> mean = s.Means.AsSpan(eligible * d, d);
            mean.Clear();
            int members = 0;
            IReadOnlyList<string> ids = clusters[c].Members;
            for (int m = 0; m < ids.Count; m++)
            {
                if (!Items.TryGetRow(ids[m], out int member)) continue;
                ReadOnlySpan<float> v = Items.Vector(member);
                float norm = TensorPrimitives.Norm(v);
                if (!(norm > 0)) continue;
                TensorPrimitives.MultiplyAdd(v, 1 / norm, mean, mean);
                members++;
            }
            if (members == 0) continue;
            TensorPrimitives.Multiply(mean, 1f / members, mean);
            s.ClusterOf[eligible] = c;
            s.MedoidRow[eligible] = row;
            s.Weights[eligible] = clusters[c].Importance;
            eligible++;
        }
        int missing = clusters.Count - eligible;
        // Per-thread scratch is shared by every recommender on the thread, whatever its item table's dimension.
        if (s.Ranker is null || s.Ranker.Dimension != d) s.Ranker = new MixtureRanker(d);
        if (eligible == 0 || !s.Ranker.Load(s.Means.AsSpan(0, eligible * d), s.Weights.AsSpan(0, eligible),
                                            s.MedoidRow.AsSpan(0, eligible), Options.Mixture))
            return new RecommendationSummary(0, 0, missing, 0, 0, 0);
        CollectEngaged(s, clusters);
        // The scratch is per thread, shared by every recommender on it: point the source at this one.
        s.Source ??= new CandidateSource(s);
        s.Source.Owner = this;
        s.Source.Dropped = 0;
        Span<RankedItem> ranked = s.Ranked(destination.Length);
        int n = s.Ranker.Rank(s.Source, ranked);
        for (int i = 0; i < n; i++)
        {
            RankedItem r = ranked[i];
            int medoid = s.MedoidRow[r.Cluster];
            ProfileCluster cluster = clusters[s.ClusterOf[r.Cluster]];
            float similarity = TensorPrimitives.CosineSimilarity(Items.Vector(medoid), Items.Vector(r.Item));
            destination[i] = new Recommendation(r.Item, similarity, 1 - similarity, s.ClusterOf[r.Cluster], medoid,
                                                cluster.Importance, cluster.Size, i, r.Contribution);
        }
        return new RecommendationSummary(n, Math.Min(eligible, Options.Mixture.PoolClusters), missing, 0, s.Source.Dropped, 0);
    }

    /// <summary>The recommender's index, cache and engaged set as the mixture ranker's candidate source.</summary>
    private sealed class CandidateSource(Scratch s) : ICandidateSource
    {
        public int Dropped;
        public Recommender Owner = null!;

        public ReadOnlySpan<Neighbor> Neighbours(ReadOnlySpan<float> query, int row, int fetch)
        {
            fetch = Math.Min(fetch, Math.Max(1, Owner.Index.Count));
            s.EnsureLists(1);
            Span<Neighbor> list = s.List(0, fetch);
            if (Owner._filtered is { } filtered)
            {
                int count;
                if (row >= 0)
                {
                    // A medoid list: not deepened by the excluded count, as before filtering.
                    count = Owner.FetchAllowed(s, 0, row, fetch, fetch, out int dropped);
                    Dropped += dropped;
                    return s.List(0, count);
                }
                // The centre list is the user's own: filtered inside the walk as broadly as the over-fetch of fetch +
                // |engaged| it replaces (cached under the centre and the engaged set).
                int breadth = (int)Math.Min(int.MaxValue, (long)fetch + s.Engaged.Count);
                count = Owner.CentreCache is { } cc
                    ? cc.Search(unchecked((long)(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(query)) ^ SplitMix64.Mix(s.EngagedHash))), query, fetch, s.Exclusion, breadth, list)
                    : filtered.SearchFiltered(query, fetch, s.Exclusion, breadth, list);
                for (int i = 0; i < count; i++) Owner.CheckLabel(list[i].Label);
                return list[..count];
            }
            int n = row >= 0 ? Owner.Fetch(row, fetch, list)
                  : Owner.CentreCache is { } centres ? centres.Search(unchecked((long)XxHash3.HashToUInt64(MemoryMarshal.AsBytes(query))), query, fetch, list)
                  : Owner.Index.Search(query, fetch, list);
            for (int i = 0; i < n; i++)
            {
                Owner.CheckLabel(list[i].Label);
                if (s.Engaged.Contains(list[i].Label)) Dropped++;
            }
            return list[..n];
        }

        public bool Excluded(int row) => s.Engaged.Contains(row);

        /// <summary>The engaged items the centre list may contain: none when the search filters them (the breadth of
        /// the over-fetch is kept inside the filtered search instead).</summary>
        public int ExcludedCount => Owner._filtered is null ? s.Engaged.Count : 0;

        public ReadOnlySpan<float> Vector(int row) => Owner.Items.Vector(row);
    }

    /// <summary>Convenience form of <see cref="Recommend(UserProfile, long, Span{Recommendation})"/> that allocates
    /// and returns the result array.</summary>
    public Recommendation[] Recommend(UserProfile profile, long now, out RecommendationSummary summary)
    {
        var buffer = new Recommendation[Options.K];
        summary = Recommend(profile, now, buffer);
        return buffer[..summary.Count];
    }

    /// <summary>Medoid ids of <paramref name="profile"/> that have no row in the item table (skipped by
    /// <see cref="RecommendWithSeed(UserProfile, ulong, Span{Recommendation})"/>).</summary>
    public IReadOnlyList<string> MissingMedoids(UserProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var missing = new List<string>();
        foreach (ProfileCluster c in profile.Clusters)
        {
            if (!HasVector(c.Medoid, out _)) missing.Add(c.Medoid);
        }
        return missing;
    }

    /// <summary>The <paramref name="k"/> items nearest to item row <paramref name="item"/> (item-to-item), excluding
    /// the item itself, nearest first, through the same index and cache as recommendations.</summary>
    /// <returns>How many were written (fewer only when the index holds fewer other items).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="item"/> is not a row, or <paramref name="k"/> ≤ 0
    /// or larger than the destination.</exception>
    public int Similar(int item, int k, Span<SimilarItem> destination)
    {
        if ((uint)item >= (uint)Items.Count)
            throw new ArgumentOutOfRangeException(nameof(item), item, $"Item row must be in [0, {Items.Count}).");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, destination.Length);
        Scratch s = t_scratch ??= new Scratch();
        // Two extra: the item itself and its refinement twin, each usually its own nearest neighbour.
        int want = Math.Min(k + 2, Math.Max(1, Index.Count));
        s.EnsureLists(1);
        Span<Neighbor> list = s.List(0, want);
        int n = Fetch(item, want, list);
        ReadOnlySpan<float> query = Items.Vector(item);
        // A refined index may have dropped the item as a near-duplicate of another: that one is the item too.
        int twin = _hnsw is not null && _hnsw.TryGetRepresentative(item, out int representative) ? representative : item;
        int written = 0;
        for (int r = 0; r < n && written < k; r++)
        {
            Neighbor nb = list[r];
            if (nb.Label == item || nb.Label == twin) continue;
            CheckLabel(nb.Label);
            destination[written++] = new SimilarItem(nb.Label, TensorPrimitives.CosineSimilarity(query, Items.Vector(nb.Label)), nb.Distance);
        }
        return written;
    }

    /// <summary>Convenience form of <see cref="Similar(int, int, Span{SimilarItem})"/> by item id; null when the id
    /// has no row in the item table.</summary>
    public SimilarItem[]? Similar(string itemId, int k)
    {
        ArgumentNullException.ThrowIfNull(itemId);
        if (!Items.TryGetRow(itemId, out int row)) return null;
        var buffer = new SimilarItem[k];
        return buffer[..Similar(row, k, buffer)];
    }

    /// <summary>Fills list i with the sampled medoid's first Want[i] neighbours minus engaged items (Dropped[i] counts
    /// those), doubling Want[i] while fewer than perMedoid survive and the index has more; marks the list exhausted when
    /// the index (or the fetch cap) can give no more. With filtered search: the first Want[i] neighbours that are not
    /// engaged, searched as broadly as the over-fetch of Want[i] + Extra[i] (the cluster's size) was.</summary>
    private void FetchList(Scratch s, int i, int perMedoid, int cap)
    {
        int medoid = s.MedoidRow[s.Picked[i]];
        while (true)
        {
            int want = s.Want[i];
            if (want <= 0)
            {
                s.Length[i] = s.Dropped[i] = 0;
                s.Exhausted[i] = true;
                return;
            }
            if (_filtered is not null)
            {
                // Filtered: want kept neighbours in one fetch (breadth: the over-fetch's depth), fewer only when exhausted.
                s.Length[i] = FetchAllowed(s, i, medoid, want, (int)Math.Min(int.MaxValue, (long)want + s.Extra[i]), out s.Dropped[i]);
                s.Exhausted[i] = s.Length[i] < want || want >= cap;
                return;
            }
            Span<Neighbor> list = s.List(i, want);
            int n = Fetch(medoid, want, list);
            int kept = 0, dropped = 0;
            for (int r = 0; r < n; r++)
            {
                Neighbor nb = list[r];
                CheckLabel(nb.Label);
                if (s.Engaged.Contains(nb.Label)) dropped++;
                else list[kept++] = nb;
            }
            s.Length[i] = kept;
            s.Dropped[i] = dropped;
            s.Exhausted[i] = n < want || want >= cap;
            // Too few left after filtering, and the index could give more: ask again for twice as many.
            if (kept >= perMedoid || s.Exhausted[i]) return;
            s.Want[i] = (int)Math.Min(cap, 2L * want);
        }
    }

    private int Fetch(int row, int want, Span<Neighbor> destination)
    {
        ReadOnlySpan<float> vector = Items.Vector(row);
        return Cache is not null ? Cache.Search(row, vector, want, destination) : Index.Search(vector, want, destination);
    }

    /// <summary>Round r takes entry r of each list in turn (lists in decreasing importance); rounds below ⌊K/e⌋ come
    /// first, so each medoid's first ⌊K/e⌋ neighbours are placed before any list goes deeper.</summary>
    private int BlendRoundRobin(Scratch s, IReadOnlyList<ProfileCluster> clusters, int e, int perMedoid, int k,
                                Span<Recommendation> destination, out int duplicates)
    {
        s.Taken.Clear();
        int longest = 0;
        for (int i = 0; i < e; i++) longest = Math.Max(longest, s.Length[i]);
        int rounds = Options.FillToK ? longest : Math.Min(perMedoid, longest);
        int count = 0;
        duplicates = 0;
        for (int r = 0; r < rounds && count < k; r++)
        {
            for (int i = 0; i < e && count < k; i++)
            {
                if (r >= s.Length[i]) continue;
                Neighbor nb = s.Lists[i]![r];
                if (!s.Taken.Add(nb.Label))
                {
                    duplicates++;
                    continue;
                }
                destination[count++] = Make(s, clusters, i, nb, r);
            }
        }
        return count;
    }

    /// <summary>All candidates ordered by (within the first ⌊K/e⌋ of their list or not, distance, list, rank): the
    /// closest neighbourhoods first, each medoid's share before any filling.</summary>
    private int BlendBySimilarity(Scratch s, IReadOnlyList<ProfileCluster> clusters, int e, int perMedoid, int k,
                                  Span<Recommendation> destination, out int duplicates)
    {
        int total = 0;
        for (int i = 0; i < e; i++) total += Options.FillToK ? s.Length[i] : Math.Min(perMedoid, s.Length[i]);
        Span<Candidate> candidates = s.Candidates(total);
        int c = 0;
        for (int i = 0; i < e; i++)
        {
            int limit = Options.FillToK ? s.Length[i] : Math.Min(perMedoid, s.Length[i]);
            for (int r = 0; r < limit; r++)
                candidates[c++] = new Candidate(r < perMedoid ? 0 : 1, s.Lists[i]![r].Distance, i, r);
        }
        candidates.Sort(); // Candidate is IComparable<Candidate>: the generic sort helper, no comparer allocated
        s.Taken.Clear();
        int count = 0;
        duplicates = 0;
        foreach (Candidate cand in candidates)
        {
            if (count == k) break;
            Neighbor nb = s.Lists[cand.List]![cand.Rank];
            if (!s.Taken.Add(nb.Label))
            {
                duplicates++;
                continue;
            }
            destination[count++] = Make(s, clusters, cand.List, nb, cand.Rank);
        }
        return count;
    }

    private Recommendation Make(Scratch s, IReadOnlyList<ProfileCluster> clusters, int list, Neighbor nb, int rank)
    {
        int pick = s.Picked[list];
        int medoid = s.MedoidRow[pick];
        ProfileCluster cluster = clusters[s.ClusterOf[pick]];
        float similarity = TensorPrimitives.CosineSimilarity(Items.Vector(medoid), Items.Vector(nb.Label));
        return new Recommendation(nb.Label, similarity, nb.Distance, s.ClusterOf[pick], medoid, cluster.Importance,
                                  cluster.Size, rank);
    }

    /// <summary>True when the item has a row with a non-zero vector (a zero vector has no direction to search).</summary>
    private bool HasVector(string itemId, out int row)
    {
        if (!Items.TryGetRow(itemId, out row)) return false;
        ReadOnlySpan<float> v = Items.Vector(row);
        return TensorPrimitives.Dot(v, v) > 0;
    }

    private void CheckLabel(int label)
    {
        if ((uint)label >= (uint)_indexLabelLimit) ThrowBadLabel(label, _indexLabelLimit);
    }

    [DoesNotReturn]
    private static void ThrowBadLabel(int label, int rows) =>
        throw new InvalidOperationException(
            $"The index returned label {label}, which is not a row of the item table ({rows} rows): was it built from other embeddings?");

    /// <summary>A position in the merged order of <see cref="BlendBySimilarity"/>.</summary>
    private readonly record struct Candidate(int Phase, float Distance, int List, int Rank) : IComparable<Candidate>
    {
        public int CompareTo(Candidate other)
        {
            int c = Phase.CompareTo(other.Phase);
            if (c != 0) return c;
            c = Distance.CompareTo(other.Distance);
            if (c != 0) return c;
            c = List.CompareTo(other.List);
            return c != 0 ? c : Rank.CompareTo(other.Rank);
        }
    }

    /// <summary>Per-thread buffers, grown to the largest request seen and reused (the hot path allocates nothing).</summary>
    private sealed class Scratch
    {
        public int[] ClusterOf = [], MedoidRow = [], Picked = [];
        public double[] Weights = [], Keys = [];
        public Neighbor[]?[] Lists = [];
        public int[] Length = [], Want = [], Dropped = [], Extra = [];
        public bool[] Exhausted = [];
        public readonly HashSet<int> Engaged = [];
        /// <summary>The engaged rows as an exclusion bitset (filtered search), its filter, and the set's hash.</summary>
        public ulong[] ExclusionBits = [];
        public SearchFilter Exclusion = SearchFilter.OverBits([], allowSet: false);
        public ulong EngagedHash;
        public readonly HashSet<int> Taken = [];
        private Candidate[] _candidates = [];
        public float[] Means = [];
        public MixtureRanker? Ranker;
        public CandidateSource? Source;
        private RankedItem[] _ranked = [];

        public void EnsureExclusion(int rows)
        {
            int words = (rows >> 6) + 1;
            if (ExclusionBits.Length >= words) return;
            ExclusionBits = new ulong[Math.Max(words, 2 * ExclusionBits.Length)];
            Exclusion = SearchFilter.OverBits(ExclusionBits, allowSet: false);
        }

        /// <summary>Clears the bits of the engaged set collected last (O(|set|), not O(rows)).</summary>
        public void ClearExclusion()
        {
            foreach (int row in Engaged)
                if ((row >> 6) < ExclusionBits.Length) ExclusionBits[row >> 6] &= ~(1UL << row);
        }

        public void EnsureMeans(int n)
        {
            if (Means.Length < n) Means = new float[Math.Max(n, 2 * Means.Length)];
        }

        public Span<RankedItem> Ranked(int n)
        {
            if (_ranked.Length < n) _ranked = new RankedItem[Math.Max(n, 2 * _ranked.Length)];
            return _ranked.AsSpan(0, n);
        }

        public void EnsureClusters(int n)
        {
            if (ClusterOf.Length >= n) return;
            int size = Math.Max(n, 2 * ClusterOf.Length);
            ClusterOf = new int[size];
            MedoidRow = new int[size];
            Picked = new int[size];
            Weights = new double[size];
            Keys = new double[size];
        }

        public void EnsureLists(int e)
        {
            if (Lists.Length >= e) return;
            int size = Math.Max(e, 2 * Lists.Length);
            Array.Resize(ref Lists, size);
            Array.Resize(ref Length, size);
            Array.Resize(ref Want, size);
            Array.Resize(ref Dropped, size);
            Array.Resize(ref Extra, size);
            Array.Resize(ref Exhausted, size);
        }

        public Span<Neighbor> List(int i, int length)
        {
            Neighbor[]? list = Lists[i];
            if (list is null || list.Length < length) Lists[i] = list = new Neighbor[Math.Max(length, 2 * (list?.Length ?? 0))];
            return list.AsSpan(0, length);
        }

        public Span<Candidate> Candidates(int n)
        {
            if (_candidates.Length < n) _candidates = new Candidate[Math.Max(n, 2 * _candidates.Length)];
            return _candidates.AsSpan(0, n);
        }
    }
}
