using PinnerSage.IO;
using PinnerSage.Numerics;

namespace PinnerSage.Profiles;

/// <summary>One action received after the batch run (an online event), as the online rule reads it.</summary>
/// <param name="ItemId">The engaged item.</param>
/// <param name="Action">The action type (weighted and filtered by the profile options).</param>
/// <param name="Timestamp">Unix seconds.</param>
public readonly record struct OnlineAction(string ItemId, string Action, long Timestamp);

/// <summary>Where a served cluster comes from.</summary>
public enum ClusterSource
{
    /// <summary>A batch cluster untouched by online actions (importance decayed to now).</summary>
    Batch,

    /// <summary>A new cluster formed by online actions only.</summary>
    Online,

    /// <summary>A batch cluster that online actions folded into.</summary>
    BatchAndOnline,
}

/// <summary>The profile served for one request: the batch profile updated with the user's pending online actions.</summary>
/// <param name="Profile">The served clusters, most important first (ties by ordinal medoid id).</param>
/// <param name="Sources">Source of each cluster of <see cref="Profile"/>, same order.</param>
/// <param name="Now">The time the importances refer to, Unix seconds (max of the request's now and the batch's now).</param>
/// <param name="PendingUsed">Online actions that entered the profile (after the cap, filters and unknown items).</param>
public sealed record ServedProfile(UserProfile Profile, IReadOnlyList<ClusterSource> Sources, long Now, int PendingUsed);

/// <summary>Online inference: a user's batch profile plus the user's most recent actions since that batch → the
/// profile served now (papers/PINNERSAGE.md, "Production serving").</summary>
/// <remarks>
/// <para>Pal et al., PinnerSage, KDD 2020, §4: a streaming service takes the user's most recent 20 actions since the
/// last batch entry and updates the clusters loaded from the key-value store; the daily batch later folds them in. The
/// exact online rule is not published; ours (our choice):</para>
/// <list type="number">
/// <item>now' = max(now, batch now). Every batch cluster keeps its medoid, size and members; its importance is decayed
/// to now' by the single factor exp(−λ·(now' − batch now)/86400), which is exactly the importance the batch would
/// compute at now' from the same actions (each term Σ w·exp(−λΔ) decays by the same factor).</item>
/// <item>The pending actions are filtered like batch actions (known item, included action type, window, t ≤ now'),
/// and the <see cref="MaxPending"/> most recent (by timestamp, then arrival) are kept.</item>
/// <item>They are Ward-clustered with the batch's α and λ (<see cref="UserProfileBuilder"/>, the same code as the
/// batch) with singletons kept: one fresh action must change the profile at once, so it may not be dropped by the cut.</item>
/// <item>An online cluster folds into a batch cluster when its medoid is a member of that cluster, or else into the batch
/// cluster with the smallest Ward merge distance 2·n₁·n₂/(n₁+n₂)·‖m₁ − m₂‖² (n = distinct items, m = medoids standing
/// in for the centres, unit-normalised vectors when the options normalise) when that distance is ≤ α — i.e. when Ward
/// with the batch's cut would have merged the two. Folding adds importance and
/// size, keeps the batch medoid (its neighbour list stays cached) and prepends the online members, most recent first.
/// Every other online cluster becomes an <see cref="ClusterSource.Online"/> cluster with its own medoid.</item>
/// <item>All clusters are sorted by decreasing importance (ties by ordinal medoid id), as batch profiles are.</item>
/// </list>
/// <para>The next batch run consumes the logged actions: they leave the pending set and enter the batch profile, which
/// replaces this online state. Pending actions do not push batch actions out of the window (the batch profile is taken
/// as is). Cost: O(p²·d) Ward on p ≤ 20 actions plus O(p·c·d) medoid distances for c batch clusters. Thread-safe:
/// each thread uses its own builder.</para>
/// </remarks>
public sealed class OnlineProfile
{
    /// <summary>The paper's cap on online actions: the 20 most recent.</summary>
    public const int DefaultMaxPending = 20;

    private readonly ItemEmbeddings _items;
    private readonly ProfileOptions _options;
    private readonly ThreadLocal<UserProfileBuilder> _builders;

    /// <summary>The rule over <paramref name="items"/> with the batch's <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPending"/> ≤ 0 or an option out of range.</exception>
    public OnlineProfile(ItemEmbeddings items, ProfileOptions options, int maxPending = DefaultMaxPending)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPending);
        options.Validate();
        _items = items;
        _options = options;
        MaxPending = maxPending;
        ProfileOptions online = options with { KeepSingletons = true, MaxActions = Math.Min(options.MaxActions, maxPending) };
        _builders = new ThreadLocal<UserProfileBuilder>(() => new UserProfileBuilder(items, online));
    }

    /// <summary>At most this many pending actions count (the most recent).</summary>
    public int MaxPending { get; }

    /// <summary>The batch options the rule uses (α, λ, window, weights).</summary>
    public ProfileOptions Options => _options;

    /// <summary>The profile of <paramref name="userId"/> served at <paramref name="now"/>.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="batch">The batch profile, or null when the batch has none (online clusters only).</param>
    /// <param name="batchNow">The batch run's now, Unix seconds.</param>
    /// <param name="pending">The user's actions since the batch, oldest first (arrival order breaks timestamp ties).</param>
    /// <param name="now">The request's now, Unix seconds.</param>
    public ServedProfile Apply(string userId, UserProfile? batch, long batchNow, ReadOnlySpan<OnlineAction> pending, long now)
    {
        ArgumentNullException.ThrowIfNull(userId);
        long at = Math.Max(now, batchNow);
        double decay = Math.Exp(-_options.DecayLambda * ((at - batchNow) / (double)UnixTime.SecondsPerDay));
        IReadOnlyList<ProfileCluster> batchClusters = batch?.Clusters ?? [];

        var clusters = new List<Working>(batchClusters.Count + 4);
        for (int c = 0; c < batchClusters.Count; c++)
        {
            ProfileCluster b = batchClusters[c];
            clusters.Add(new Working(b.Medoid, b.Importance * decay, b.Size, [], b.Members, ClusterSource.Batch));
        }

        int used = 0;
        if (!pending.IsEmpty)
        {
            UserProfile online = ClusterPending(userId, pending, at, out used, out Dictionary<string, long> latest);
            Fold(clusters, batchClusters.Count, online, latest);
        }

        clusters.Sort(static (a, b) =>
        {
            int c = b.Importance.CompareTo(a.Importance);
            return c != 0 ? c : string.CompareOrdinal(a.Medoid, b.Medoid);
        });
        var result = new ProfileCluster[clusters.Count];
        var sources = new ClusterSource[clusters.Count];
        for (int i = 0; i < clusters.Count; i++)
        {
            Working w = clusters[i];
            result[i] = new ProfileCluster(w.Medoid, w.Importance, w.Size, w.MembersList());
            sources[i] = w.Source;
        }
        return new ServedProfile(new UserProfile(userId, result), sources, at, used);
    }

    private UserProfile ClusterPending(string userId, ReadOnlySpan<OnlineAction> pending, long at, out int used,
                                       out Dictionary<string, long> latest)
    {
        long windowStart = ProfileOptions.WindowStart(at, _options.WindowDays);
        // Most recent MaxPending eligible actions: stable by timestamp, so arrival order breaks ties.
        var eligible = new List<(long Time, int Order, int Row, double Weight)>(pending.Length);
        for (int i = 0; i < pending.Length; i++)
        {
            OnlineAction a = pending[i];
            if (a.Timestamp > at || a.Timestamp <= windowStart) continue;
            if (_options.IncludeActions is not null && !_options.IncludeActions.Contains(a.Action)) continue;
            if (!_items.TryGetRow(a.ItemId, out int row)) continue;
            double w = _options.TryGetActionWeight(a.Action, out double weight) ? weight : 1.0;
            eligible.Add((a.Timestamp, i, row, w));
        }
        eligible.Sort(static (x, y) => x.Time != y.Time ? x.Time.CompareTo(y.Time) : x.Order.CompareTo(y.Order));
        int skip = Math.Max(0, eligible.Count - MaxPending);
        used = eligible.Count - skip;
        var rows = new int[used];
        var times = new long[used];
        var weights = new double[used];
        latest = new Dictionary<string, long>(used, StringComparer.Ordinal);
        for (int i = 0; i < used; i++)
        {
            (long t, _, int row, double w) = eligible[skip + i];
            rows[i] = row;
            times[i] = t;
            weights[i] = w;
            string id = _items.Id(row);
            latest[id] = latest.TryGetValue(id, out long seen) ? Math.Max(seen, t) : t;
        }
        return _builders.Value!.Build(userId, rows, times, weights, at, out _);
    }

    private void Fold(List<Working> clusters, int batchCount, UserProfile online, Dictionary<string, long> latest)
    {
        int d = _items.Dimension;
        Span<float> a = d <= 1024 ? stackalloc float[d] : new float[d];
        Span<float> b = d <= 1024 ? stackalloc float[d] : new float[d];
        foreach (ProfileCluster o in online.Clusters)
        {
            int target = -1;
            for (int c = 0; c < batchCount && target < 0; c++)
                if (Contains(clusters[c].BatchMembers, o.Medoid)) target = c;
            if (target < 0 && batchCount > 0 && _items.TryGetRow(o.Medoid, out int orow))
            {
                Load(orow, a);
                double best = double.PositiveInfinity;
                int onlineItems = o.Members.Count;
                for (int c = 0; c < batchCount; c++)
                {
                    if (!_items.TryGetRow(clusters[c].Medoid, out int brow)) continue;
                    Load(brow, b);
                    double cost = WardMergeCost(onlineItems, clusters[c].BatchMembers.Count, PairwiseDistances.SquaredEuclidean(a, b));
                    if (cost < best)
                    {
                        best = cost;
                        target = c;
                    }
                }
                if (!(best <= _options.Alpha)) target = -1;
            }
            if (target < 0)
            {
                clusters.Add(new Working(o.Medoid, o.Importance, o.Size, [.. o.Members], [], ClusterSource.Online));
                continue;
            }
            Working t = clusters[target];
            t.Importance += o.Importance;
            t.Size += o.Size;
            t.Online.AddRange(o.Members);
            t.Source = ClusterSource.BatchAndOnline;
        }
        // Online members of a folded cluster: most recent first (they may come from several online clusters).
        foreach (Working w in clusters)
        {
            if (w.Source != ClusterSource.BatchAndOnline || w.Online.Count < 2) continue;
            w.Online.Sort((x, y) =>
            {
                int c = latest[y].CompareTo(latest[x]);
                return c != 0 ? c : string.CompareOrdinal(x, y);
            });
        }
    }

    /// <summary>Ward's merge distance, on the α scale (squared scipy height), of two clusters of n₁ and n₂ distinct items
    /// whose centres are <paramref name="squaredDistance"/> apart: 2·n₁·n₂/(n₁+n₂)·‖c₁ − c₂‖². The medoids stand in for
    /// the centres (our choice: the served profile keeps medoids, not centroids). Two singletons give the plain squared
    /// distance; a large batch cluster asks a single online item to lie within α/2, as Ward itself would.</summary>
    internal static double WardMergeCost(int n1, int n2, double squaredDistance)
        => 2.0 * n1 * n2 / (n1 + n2) * squaredDistance;

    private void Load(int row, Span<float> destination)
    {
        _items.Vector(row).CopyTo(destination);
        if (_options.NormalizeVectors) VectorNorms.Normalize(destination, destination);
    }

    private static bool Contains(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++)
            if (string.Equals(list[i], value, StringComparison.Ordinal)) return true;
        return false;
    }

    private sealed class Working(string medoid, double importance, int size, List<string> online,
                                 IReadOnlyList<string> batchMembers, ClusterSource source)
    {
        public string Medoid { get; } = medoid;
        public double Importance { get; set; } = importance;
        public int Size { get; set; } = size;
        public List<string> Online { get; } = online;
        public IReadOnlyList<string> BatchMembers { get; } = batchMembers;
        public ClusterSource Source { get; set; } = source;

        /// <summary>Online members first (most recent first), then the batch members not among them.</summary>
        public IReadOnlyList<string> MembersList()
        {
            if (Online.Count == 0) return BatchMembers;
            if (BatchMembers.Count == 0) return Online;
            var seen = new HashSet<string>(Online, StringComparer.Ordinal);
            var all = new List<string>(Online.Count + BatchMembers.Count);
            all.AddRange(Online);
            for (int i = 0; i < BatchMembers.Count; i++)
                if (seen.Add(BatchMembers[i])) all.Add(BatchMembers[i]);
            return all;
        }
    }
}
