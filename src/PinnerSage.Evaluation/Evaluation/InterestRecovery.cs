using PinnerSage.IO;
using PinnerSage.Numerics;
using PinnerSage.Profiles;
using PinnerSage.Synthetic;

namespace PinnerSage.Evaluation;

/// <summary>How well a user's PinnerSage clusters recover the user's ground-truth interests (e.g. the topics of a
/// synthetic world): the adjusted Rand index between the two partitions of the user's distinct window items.</summary>
/// <remarks>
/// Our choices, since the paper evaluates only downstream retrieval: the elements are the user's distinct items in the
/// profile window (one vote per item, not per action, because Ward clusters distinct items); an item the α cut left in
/// no cluster counts as its own singleton cluster, so dropping a lone item of a minor interest is correct while
/// dropping part of a larger interest is penalised; the per-user indices are averaged over users whose window holds
/// ≥ 2 true interests (against a one-group truth the ARI is degenerate: 1 for a single cluster, else 0); users with one
/// interest are reported separately as the share kept whole (one cluster, nothing dropped).
/// </remarks>
public static class InterestRecovery
{
    /// <summary>ARI between ground-truth labels and cluster labels, where a negative cluster label means "in no
    /// cluster" and is replaced by a fresh singleton label.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static double Ari(ReadOnlySpan<int> truth, ReadOnlySpan<int> clusters)
    {
        if (truth.Length != clusters.Length)
            throw new ArgumentException($"truth and clusters must have the same length ({truth.Length} ≠ {clusters.Length}).", nameof(clusters));
        int[] relabelled = new int[clusters.Length];
        int max = -1;
        foreach (int c in clusters) max = Math.Max(max, c);
        for (int i = 0; i < clusters.Length; i++) relabelled[i] = clusters[i] >= 0 ? clusters[i] : ++max;
        return AdjustedRandIndex.Compute(truth, relabelled);
    }

    /// <summary>ARI of one profile: <paramref name="windowItems"/> are the user's distinct items that the profile
    /// builder saw (window and action cap applied), <paramref name="truthOf"/> gives an item's true interest.
    /// Profile members outside <paramref name="windowItems"/> are included too.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static double ProfileAri(UserProfile profile, IEnumerable<string> windowItems, Func<string, int> truthOf)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(windowItems);
        ArgumentNullException.ThrowIfNull(truthOf);
        var clusterOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < profile.Clusters.Count; c++)
            foreach (string member in profile.Clusters[c].Members) clusterOf[member] = c;
        var items = new HashSet<string>(windowItems, StringComparer.Ordinal);
        items.UnionWith(clusterOf.Keys);
        string[] ordered = items.Order(StringComparer.Ordinal).ToArray();
        int[] truth = new int[ordered.Length], clusters = new int[ordered.Length];
        for (int i = 0; i < ordered.Length; i++)
        {
            truth[i] = truthOf(ordered[i]);
            clusters[i] = clusterOf.TryGetValue(ordered[i], out int c) ? c : -1;
        }
        return Ari(truth, clusters);
    }

    /// <summary>The distinct items a profile builder clusters for one user: actions with now − window &lt; t ≤ now,
    /// at most the <paramref name="maxActions"/> most recent (as <see cref="ProfileOptions"/> defines them).
    /// Returned in increasing item order.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static int[] WindowItems(ReadOnlySpan<int> items, ReadOnlySpan<long> timestamps, long now, double windowDays,
                                    int maxActions)
    {
        if (items.Length != timestamps.Length)
            throw new ArgumentException("items and timestamps must have the same length.", nameof(timestamps));
        long start = ProfileOptions.WindowStart(now, windowDays);
        var inWindow = new List<(long Time, int Item)>();
        for (int i = 0; i < items.Length; i++)
            if (timestamps[i] > start && timestamps[i] <= now) inWindow.Add((timestamps[i], items[i]));
        inWindow.Sort();
        var distinct = new SortedSet<int>();
        for (int i = Math.Max(0, inWindow.Count - maxActions); i < inWindow.Count; i++) distinct.Add(inWindow[i].Item);
        return [.. distinct];
    }

    /// <summary>Scores one user of a synthetic world: the user's window items (as <paramref name="options"/> select
    /// them relative to <paramref name="now"/>), the ARI of <paramref name="profile"/> against the items' topics, and a
    /// random baseline: the same cluster labels shuffled over the same items (same cluster sizes, no information).</summary>
    /// <param name="world">The world.</param>
    /// <param name="user">User index.</param>
    /// <param name="actions">The user's actions (from <see cref="SyntheticWorld.GenerateUser"/>).</param>
    /// <param name="profile">The user's profile (null or empty: nothing was clustered).</param>
    /// <param name="options">The profile options used (window and action cap).</param>
    /// <param name="now">The profiles' now, Unix seconds.</param>
    /// <param name="seed">Seed of the random baseline.</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    public static UserRecovery EvaluateUser(SyntheticWorld world, int user, IReadOnlyList<SyntheticAction> actions,
                                            UserProfile? profile, ProfileOptions options, long now, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(options);
        int[] itemIndex = new int[actions.Count];
        long[] times = new long[actions.Count];
        for (int i = 0; i < actions.Count; i++) (itemIndex[i], times[i]) = (actions[i].Item, actions[i].Timestamp);
        int[] window = WindowItems(itemIndex, times, now, options.WindowDays, options.MaxActions);
        int interests = window.Select(world.ItemTopic).Distinct().Count();

        var clusterOf = new Dictionary<string, int>(StringComparer.Ordinal);
        int clusterCount = profile?.Clusters.Count ?? 0;
        for (int c = 0; c < clusterCount; c++)
            foreach (string member in profile!.Clusters[c].Members) clusterOf[member] = c;
        int[] truth = new int[window.Length], clusters = new int[window.Length];
        int unclustered = 0;
        for (int i = 0; i < window.Length; i++)
        {
            truth[i] = world.ItemTopic(window[i]);
            clusters[i] = clusterOf.TryGetValue(world.ItemId(window[i]), out int c) ? c : -1;
            if (clusters[i] < 0) unclustered++;
        }
        if (interests < 2)
            return new UserRecovery(user, window.Length, interests, clusterCount, unclustered, double.NaN, double.NaN);

        double ari = Ari(truth, clusters);
        var rng = new SplitRandom(seed, 7, (ulong)user);
        for (int i = clusters.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (clusters[i], clusters[j]) = (clusters[j], clusters[i]);
        }
        return new UserRecovery(user, window.Length, interests, clusterCount, unclustered, ari, Ari(truth, clusters));
    }

    /// <summary>Builds every user's profile of <paramref name="world"/> in memory once per entry of
    /// <paramref name="options"/> (e.g. an α sweep) with <see cref="UserProfileBuilder"/>, and scores each against the
    /// ground truth. Users run in parallel (one builder per thread and options); results do not depend on threads.</summary>
    /// <param name="world">The world.</param>
    /// <param name="options">Profile options to compare.</param>
    /// <param name="now">The profiles' now, Unix seconds (the world's <see cref="SyntheticWorld.EndTime"/> is natural).</param>
    /// <param name="maxThreads">Worker threads; ≤ 0 = all cores.</param>
    /// <returns>Per options entry, one result per user (index = user).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static UserRecovery[][] EvaluateWorld(SyntheticWorld world, IReadOnlyList<ProfileOptions> options, long now,
                                                 int maxThreads = 0)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(options);
        foreach (ProfileOptions o in options) o.Validate();
        string[] ids = new string[world.ItemCount];
        for (int i = 0; i < ids.Length; i++) ids[i] = world.ItemId(i);
        using ItemEmbeddings items = ItemEmbeddings.FromArray(ids, world.ItemVectors.ToArray(), world.Dimension);
        var results = new UserRecovery[options.Count][];
        for (int k = 0; k < options.Count; k++) results[k] = new UserRecovery[world.UserCount];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxThreads > 0 ? maxThreads : Environment.ProcessorCount };
        Parallel.For(0, world.BlockCount, parallel,
            () => (Builders: options.Select(o => new UserProfileBuilder(items, o)).ToArray(), Actions: new List<SyntheticAction>()),
            (block, state, local) =>
            {
                int end = Math.Min(world.UserCount, (block + 1) * SyntheticWorld.UsersPerBlock);
                for (int u = block * SyntheticWorld.UsersPerBlock; u < end; u++)
                {
                    local.Actions.Clear();
                    world.GenerateUser(u, local.Actions);
                    int[] rows = local.Actions.Select(a => a.Item).ToArray();
                    long[] times = local.Actions.Select(a => a.Timestamp).ToArray();
                    double[] weights = new double[rows.Length];
                    Array.Fill(weights, 1.0);
                    string userId = world.UserId(u);
                    for (int k = 0; k < options.Count; k++)
                    {
                        UserProfile profile = local.Builders[k].Build(userId, rows, times, weights, now, out _);
                        results[k][u] = EvaluateUser(world, u, local.Actions, profile, options[k], now);
                    }
                }
                return local;
            },
            _ => { });
        return results;
    }

    /// <summary>Averages per-user results: ARI over the users with ≥ 2 true interests in the window, the share kept
    /// whole over users with exactly one.</summary>
    public static RecoverySummary Summarize(IEnumerable<UserRecovery> users)
    {
        ArgumentNullException.ThrowIfNull(users);
        UserRecovery[] all = users.ToArray();
        UserRecovery[] single = all.Where(u => u.Interests == 1).ToArray();
        double wholeShare = single.Length == 0 ? double.NaN
            : single.Count(u => u.Clusters == 1 && u.Unclustered == 0) / (double)single.Length;
        UserRecovery[] scored = all.Where(u => !double.IsNaN(u.Ari)).ToArray();
        if (scored.Length == 0)
            return new RecoverySummary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, single.Length, wholeShare);
        double[] sorted = scored.Select(u => u.Ari).Order().ToArray();
        return new RecoverySummary(
            scored.Length,
            scored.Average(u => u.Ari),
            sorted[sorted.Length / 2],
            scored.Average(u => u.RandomAri),
            scored.Average(u => (double)u.Clusters),
            scored.Average(u => (double)u.Interests),
            scored.Sum(u => (double)u.Unclustered) / scored.Sum(u => (double)u.Items),
            single.Length,
            wholeShare);
    }
}

/// <summary>One user's interest recovery (<see cref="InterestRecovery.EvaluateUser"/>).</summary>
/// <param name="User">User index.</param>
/// <param name="Items">Distinct window items.</param>
/// <param name="Interests">Distinct true interests among them.</param>
/// <param name="Clusters">Clusters in the profile.</param>
/// <param name="Unclustered">Window items in no cluster.</param>
/// <param name="Ari">ARI of the profile against the truth; NaN when Interests &lt; 2.</param>
/// <param name="RandomAri">ARI of the shuffled cluster labels (the no-information baseline); NaN when Interests &lt; 2.</param>
public sealed record UserRecovery(int User, int Items, int Interests, int Clusters, int Unclustered, double Ari, double RandomAri);

/// <summary>Interest recovery averaged over users (<see cref="InterestRecovery.Summarize"/>).</summary>
/// <param name="Users">Users scored (≥ 2 true interests in the window).</param>
/// <param name="MeanAri">Mean ARI.</param>
/// <param name="MedianAri">Median ARI.</param>
/// <param name="MeanRandomAri">Mean ARI of the shuffled-label baseline.</param>
/// <param name="MeanClusters">Mean clusters per user.</param>
/// <param name="MeanInterests">Mean true interests per user (in the window).</param>
/// <param name="UnclusteredShare">Share of window items left in no cluster.</param>
/// <param name="SingleInterestUsers">Users with exactly one true interest in the window (not in the ARI).</param>
/// <param name="SingleInterestWholeShare">Share of those whose profile is one cluster with nothing dropped.</param>
public sealed record RecoverySummary(int Users, double MeanAri, double MedianAri, double MeanRandomAri, double MeanClusters,
                                     double MeanInterests, double UnclusteredShare, int SingleInterestUsers,
                                     double SingleInterestWholeShare);
