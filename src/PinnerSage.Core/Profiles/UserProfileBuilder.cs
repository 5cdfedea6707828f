using PinnerSage.Clustering;
using PinnerSage.Numerics;
using PinnerSage.IO;

namespace PinnerSage.Profiles;

/// <summary>Builds one user's PinnerSage profile from the user's actions: window and cap the actions, merge repeated
/// items, cluster the distinct items with Ward (α cut, medoids) and score each cluster's importance.</summary>
/// <remarks>
/// Reference: Pal et al., "PinnerSage: Multi-Modal User Embedding Framework for Recommendations at Pinterest",
/// KDD 2020, §3 (papers/PINNERSAGE.md, "Model"): Ward clustering of the user's last 90 days of actions, a medoid per
/// cluster, importance Σ exp(−λ·(T_now − T_i)) with λ = 0.01.
/// Our choices: Δ is in days; each action's term is multiplied by its action type's weight; only the most recent
/// <see cref="ProfileOptions.MaxActions"/> actions are kept; each distinct item enters Ward once with size 1 and
/// medoid weight 1 (<see cref="ProfileOptions.CountRepeats"/> off, the default), or, with CountRepeats, an item engaged
/// k times enters once with size k and medoid weight k (identical points merge at distance 0 first, so this is the
/// dendrogram of the k copies above 0 at a fraction of the cost); a cluster's importance and size always count every
/// action; vectors are unit-normalised by default.
/// Determinism: the actions are first sorted by (timestamp, item row, weight), so the profile depends only on the
/// multiset of actions, never on their input order; all sums run in a fixed order.
/// Cost: O(m log m) for the sort plus the clusterer's O(n²·d) for n distinct items. Not thread-safe: it owns its
/// clusterer and scratch, so use one builder per thread (the batch job does).
/// </remarks>
public sealed class UserProfileBuilder
{
    private readonly ItemEmbeddings _items;
    private readonly ProfileOptions _options;
    private readonly UserClusterer _clusterer;
    private readonly int _dimension;

    private ActionKey[] _actions = new ActionKey[256];
    private int[] _distinctRows = new int[256];
    private int[] _multiplicity = new int[256];
    private int[] _ones = [];
    private long[] _latest = new long[256];
    private double[] _itemImportance = new double[256];
    private int[] _labels = new int[256];
    private int[] _medoids = new int[256];
    private float[] _vectors = [];

    /// <summary>Creates a builder over the item embeddings; validates <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public UserProfileBuilder(ItemEmbeddings items, ProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _items = items;
        _options = options;
        _dimension = items.Dimension;
        _clusterer = new UserClusterer(_dimension);
    }

    /// <summary>The options in use.</summary>
    public ProfileOptions Options => _options;

    /// <summary>Builds the profile of <paramref name="userId"/> from its actions relative to <paramref name="now"/>
    /// (Unix seconds; <see cref="ProfileOptions.Now"/> is not consulted here, the caller resolves it).</summary>
    /// <param name="userId">The user id, copied into the result.</param>
    /// <param name="itemRows">Item of each action, as a row of the embeddings.</param>
    /// <param name="timestamps">Unix seconds of each action.</param>
    /// <param name="weights">Weight of each action (its action type's weight, finite and ≥ 0).</param>
    /// <param name="now">The profile's now, Unix seconds.</param>
    /// <param name="stats">How many actions were excluded and why.</param>
    /// <returns>The profile; its cluster list is empty when no action is in the window or no cluster survives the
    /// α cut (see <paramref name="stats"/>).</returns>
    /// <exception cref="ArgumentException">Spans of different lengths, a row out of range or a bad weight.</exception>
    public UserProfile Build(string userId, ReadOnlySpan<int> itemRows, ReadOnlySpan<long> timestamps,
                             ReadOnlySpan<double> weights, long now, out ProfileBuildStats stats)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (timestamps.Length != itemRows.Length || weights.Length != itemRows.Length)
            throw new ArgumentException(
                $"itemRows, timestamps and weights must have the same length ({itemRows.Length}, {timestamps.Length}, {weights.Length}).");
        int count = _items.Count;
        for (int i = 0; i < itemRows.Length; i++)
        {
            if ((uint)itemRows[i] >= (uint)count)
                throw new ArgumentException($"item row {itemRows[i]} is outside 0…{count - 1}.", nameof(itemRows));
            if (!double.IsFinite(weights[i]) || weights[i] < 0)
                throw new ArgumentException($"weight {weights[i]} must be finite and >= 0.", nameof(weights));
        }
        return BuildCore(userId, itemRows, timestamps, weights, now, out stats);
    }

    /// <summary>Same as <see cref="Build"/> for inputs the caller has validated (the batch job).</summary>
    internal UserProfile BuildCore(string userId, ReadOnlySpan<int> itemRows, ReadOnlySpan<long> timestamps,
                                   ReadOnlySpan<double> weights, long now, out ProfileBuildStats stats)
    {
        long windowStart = ProfileOptions.WindowStart(now, _options.WindowDays);
        EnsureCapacity(ref _actions, itemRows.Length);
        int afterNow = 0, beforeWindow = 0, m = 0;
        for (int i = 0; i < itemRows.Length; i++)
        {
            long t = timestamps[i];
            if (t > now) afterNow++;
            else if (t <= windowStart) beforeWindow++;
            else _actions[m++] = new ActionKey(t, itemRows[i], weights[i]);
        }

        // Most recent MaxActions: sort by (t, row, w) so that ties at the cut are broken the same way whatever the
        // input order, then keep the tail.
        Span<ActionKey> actions = _actions.AsSpan(0, m);
        actions.Sort();
        int overMax = Math.Max(0, m - _options.MaxActions);
        actions = actions[overMax..];
        m = actions.Length;
        if (m == 0)
        {
            stats = new ProfileBuildStats(afterNow, beforeWindow, overMax, 0, 0, 0);
            return new UserProfile(userId, []);
        }

        // Merge repeated items: sorting by row groups them; each sum then runs in (row, t, w) order.
        actions.Sort(static (a, b) =>
        {
            int c = a.Row.CompareTo(b.Row);
            if (c != 0) return c;
            c = a.Time.CompareTo(b.Time);
            return c != 0 ? c : a.Weight.CompareTo(b.Weight);
        });
        EnsureCapacity(ref _distinctRows, m);
        EnsureCapacity(ref _multiplicity, m);
        EnsureCapacity(ref _latest, m);
        EnsureCapacity(ref _itemImportance, m);
        double lambda = _options.DecayLambda;
        int n = -1;
        int previousRow = -1;
        foreach (ActionKey a in actions)
        {
            if (a.Row != previousRow)
            {
                n++;
                previousRow = a.Row;
                _distinctRows[n] = a.Row;
                _multiplicity[n] = 0;
                _itemImportance[n] = 0;
            }
            _multiplicity[n]++;
            _latest[n] = a.Time; // ascending within the row, so the last one is the latest
            _itemImportance[n] += a.Weight * Math.Exp(-lambda * ((now - a.Time) / (double)UnixTime.SecondsPerDay));
        }
        n++;

        int d = _dimension;
        EnsureCapacity(ref _vectors, n * d);
        EnsureCapacity(ref _labels, n);
        EnsureCapacity(ref _medoids, n);
        Span<float> vectors = _vectors.AsSpan(0, n * d);
        for (int i = 0; i < n; i++)
        {
            Span<float> v = vectors.Slice(i * d, d);
            _items.Vector(_distinctRows[i]).CopyTo(v);
            if (_options.NormalizeVectors) VectorNorms.Normalize(v, v);
        }

        // Ward sizes and medoid weights: the action counts, or 1 per distinct item (importance and size below count
        // every action in both modes).
        ReadOnlySpan<int> wardSizes = _options.CountRepeats ? _multiplicity.AsSpan(0, n) : Ones(n);
        int clusters = _clusterer.Cluster(vectors, wardSizes, _options.Alpha, _options.KeepSingletons,
                                          _labels.AsSpan(0, n), _medoids);
        ProfileCluster[] result = BuildClusters(n, clusters, out int unclustered);
        stats = new ProfileBuildStats(afterNow, beforeWindow, overMax, m, unclustered, n);
        return new UserProfile(userId, result);
    }

    private ProfileCluster[] BuildClusters(int n, int clusters, out int unclustered)
    {
        unclustered = 0;
        if (clusters == 0)
        {
            for (int i = 0; i < n; i++) unclustered += _multiplicity[i];
            return [];
        }
        var importance = new double[clusters];
        var size = new int[clusters];
        var memberCount = new int[clusters];
        for (int i = 0; i < n; i++)
        {
            int k = _labels[i];
            if (k < 0)
            {
                unclustered += _multiplicity[i];
                continue;
            }
            importance[k] += _itemImportance[i];
            size[k] += _multiplicity[i];
            memberCount[k]++;
        }

        // Members of each cluster as distinct-item indices, then ordered most recently engaged first.
        var members = new int[clusters][];
        for (int k = 0; k < clusters; k++) members[k] = new int[memberCount[k]];
        Array.Clear(memberCount);
        for (int i = 0; i < n; i++)
        {
            int k = _labels[i];
            if (k >= 0) members[k][memberCount[k]++] = i;
        }

        var result = new ProfileCluster[clusters];
        for (int k = 0; k < clusters; k++)
        {
            int[] idx = members[k];
            Array.Sort(idx, (a, b) =>
            {
                int c = _latest[b].CompareTo(_latest[a]);
                return c != 0 ? c : string.CompareOrdinal(_items.Id(_distinctRows[a]), _items.Id(_distinctRows[b]));
            });
            var ids = new string[idx.Length];
            for (int j = 0; j < idx.Length; j++) ids[j] = _items.Id(_distinctRows[idx[j]]);
            result[k] = new ProfileCluster(_items.Id(_distinctRows[_medoids[k]]), importance[k], size[k], ids);
        }
        Array.Sort(result, static (a, b) =>
        {
            int c = b.Importance.CompareTo(a.Importance);
            return c != 0 ? c : string.CompareOrdinal(a.Medoid, b.Medoid);
        });
        return result;
    }

    private ReadOnlySpan<int> Ones(int n)
    {
        if (_ones.Length < n)
        {
            _ones = new int[Math.Max(n, _ones.Length * 2)];
            Array.Fill(_ones, 1);
        }
        return _ones.AsSpan(0, n);
    }

    private static void EnsureCapacity<T>(ref T[] array, int length)
    {
        if (array.Length < length) array = new T[Math.Max(length, array.Length * 2)];
    }

    /// <summary>One action, ordered by (time, item row, weight).</summary>
    private readonly record struct ActionKey(long Time, int Row, double Weight) : IComparable<ActionKey>
    {
        public int CompareTo(ActionKey other)
        {
            int c = Time.CompareTo(other.Time);
            if (c != 0) return c;
            c = Row.CompareTo(other.Row);
            return c != 0 ? c : Weight.CompareTo(other.Weight);
        }
    }
}
