using PinnerSage.Numerics;
using PinnerSage.Profiles;

namespace PinnerSage.Evaluation;

/// <summary>One evaluation point: user <see cref="User"/> at time <see cref="Now"/>. Indices are into the user's
/// time-sorted actions (<see cref="EvalActions"/>): the profile is built from <c>[HistoryStart, TestStart)</c>, the test
/// actions are <c>[TestStart, TestEnd)</c>. Because the actions are sorted by time and every history action has
/// t &lt; Now ≤ every test action's t, the two ranges are disjoint by construction: a method is only ever handed the
/// history range (see <see cref="OfflineEvaluation"/>), so no test action can reach a profile.</summary>
internal readonly record struct EvalInstance(int User, int HistoryStart, int TestStart, int TestEnd, long Now);

/// <summary>The two splits of the offline protocol.</summary>
/// <remarks>
/// Walk-forward (Pal et al., KDD 2020, §5.1; papers/PINNERSAGE.md "Offline evaluation protocol"): split by day, walk
/// forward, score each day with profiles built before it, then fold the day in. Computed lazily per user, which is
/// the same thing: the profile for step s is rebuilt from the actions in the window strictly before s, so it contains
/// every earlier step's actions ("updated after each step") and nothing from s or later. The test period starts at
/// the (1 − share) quantile of all timestamps floored to a UTC midnight (our choice), or at a given time.
/// Leave-last-N-out (our choice, for users sparse in time): now = the time of the user's N-th last action; the test
/// actions are all actions at or after now (more than N on timestamp ties, so no tied action straddles the cut), the
/// history the window strictly before now.
/// In both, a point needs ≥ 1 history action with a vector (a profile) and ≥ 1 test action (with a vector when
/// requireEmbeddedTest).
/// </remarks>
internal static class EvalSplit
{
    /// <summary>Start of the test period: the (1 − <paramref name="testShare"/>) quantile of all timestamps, floored
    /// to a UTC midnight.</summary>
    public static long TestPeriodStart(EvalActions actions, double testShare)
    {
        if (actions.Count == 0) return 0;
        long[] sorted = (long[])actions.Times.Clone();
        Array.Sort(sorted);
        long q = sorted[(int)Math.Min(sorted.Length - 1, Math.Floor((1 - testShare) * sorted.Length))];
        return UnixTime.FloorToDay(q);
    }

    /// <summary>Walk-forward points: for every user and every step [from + k·step, from + (k+1)·step) holding one of
    /// the user's actions.</summary>
    public static List<EvalInstance> WalkForward(EvalActions actions, long from, double stepDays, double windowDays,
                                                 bool requireEmbeddedTest, long until = long.MaxValue)
    {
        long step = Math.Max(1, (long)Math.Round(stepDays * UnixTime.SecondsPerDay));
        var result = new List<EvalInstance>();
        long[] times = actions.Times;
        for (int u = 0; u < actions.UserIds.Count; u++)
        {
            int start = actions.Offsets[u], end = actions.Offsets[u + 1];
            int i = LowerBound(times, start, end, from);
            end = LowerBound(times, i, end, until);
            while (i < end)
            {
                long k = (times[i] - from) / step;
                long now = from + k * step;
                int testEnd = LowerBound(times, i, end, now + step);
                int historyStart = UpperBound(times, start, i, ProfileOptions.WindowStart(now, windowDays));
                Add(result, actions, new EvalInstance(u, historyStart, i, testEnd, now), requireEmbeddedTest);
                i = testEnd;
            }
        }
        return result;
    }

    /// <summary>Leave-last-N-out points: one per user with enough actions.</summary>
    public static List<EvalInstance> LeaveLastOut(EvalActions actions, int leaveOut, double windowDays, bool requireEmbeddedTest)
    {
        var result = new List<EvalInstance>();
        long[] times = actions.Times;
        for (int u = 0; u < actions.UserIds.Count; u++)
        {
            int start = actions.Offsets[u], end = actions.Offsets[u + 1];
            if (end - start <= leaveOut) continue;
            long now = times[end - leaveOut];
            int testStart = LowerBound(times, start, end, now);
            int historyStart = UpperBound(times, start, testStart, ProfileOptions.WindowStart(now, windowDays));
            Add(result, actions, new EvalInstance(u, historyStart, testStart, end, now), requireEmbeddedTest);
        }
        return result;
    }

    /// <summary>Number of distinct users among <paramref name="instances"/> (they are grouped by user).</summary>
    public static int DistinctUsers(List<EvalInstance> instances)
    {
        int count = 0, last = -1;
        foreach (EvalInstance x in instances)
        {
            if (x.User != last) count++;
            last = x.User;
        }
        return count;
    }

    /// <summary>Keeps every point of at most <paramref name="maxUsers"/> users, chosen by a seeded hash of the user id
    /// (the same users for every method and every run with the seed).</summary>
    public static List<EvalInstance> SampleUsers(List<EvalInstance> instances, EvalActions actions, int maxUsers, ulong seed)
    {
        if (maxUsers <= 0 || DistinctUsers(instances) <= maxUsers) return instances;
        var users = instances.Select(x => x.User).Distinct()
                             .OrderBy(u => SplitMix64.Mix(seed ^ SplitMix64.Fnv1a(actions.UserIds[u])))
                             .ThenBy(u => u)
                             .Take(maxUsers)
                             .ToHashSet();
        return instances.Where(x => users.Contains(x.User)).ToList();
    }

    private static void Add(List<EvalInstance> result, EvalActions actions, EvalInstance x, bool requireEmbeddedTest)
    {
        if (!AnyEmbedded(actions.Rows, x.HistoryStart, x.TestStart)) return;
        if (x.TestEnd <= x.TestStart) return;
        if (requireEmbeddedTest && !AnyEmbedded(actions.Rows, x.TestStart, x.TestEnd)) return;
        result.Add(x);
    }

    private static bool AnyEmbedded(int[] rows, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            if (rows[i] >= 0) return true;
        }
        return false;
    }

    /// <summary>First index in [lo, hi) with times[i] ≥ value.</summary>
    private static int LowerBound(long[] times, int lo, int hi, long value)
    {
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (times[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>First index in [lo, hi) with times[i] &gt; value.</summary>
    private static int UpperBound(long[] times, int lo, int hi, long value)
    {
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (times[mid] <= value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
