using System.Numerics.Tensors;
using PinnerSage.Numerics;

namespace PinnerSage.Profiles;

/// <summary>The importance decay λ chosen from the actions themselves (<c>lambda: auto</c>, the default): the λ whose
/// decay average of a user's past items points best at what the user engages with next, measured on the last days
/// before <c>now</c> — the same walk-forward the offline evaluation uses, on data the run already has.</summary>
/// <remarks>
/// <para>Why (our choice; the paper fixes λ = 0.01, §3.2 Eq. 2): how fast interests fade is a property of the data, not
/// of the method. On the shared datasets' validation periods the λ that served best ranged from ≈ 0.01 per day
/// (amazon-beauty: sparse purchases, old interests return) to 0.1–0.25 (amazon-scientific, movielens-small, the
/// synthetic world: sessions), and no single λ was within 1 % of the best on all of them
/// (bench/results/retrieval-policies.md). A fixed default is right for one kind of data and wrong for the other.</para>
/// <para>The criterion: for every (user, day) of the held-out days [start, now) — start the <see cref="HeldOutShare"/>
/// quantile of the timestamps before now, floored to a UTC midnight — the history is the user's actions in the
/// <c>windowDays</c> before that day, and the score is the mean cosine between the decay average
/// Σᵢ exp(−λ·ageᵢ)·uᵢ and each item the user engaged with that day. λ maximises the mean over (user, day) pairs; ties
/// go to the smaller λ. The cosine to the average is the linear (τ → ∞) limit of the mixture's score, cheap and
/// without an index. When more than <see cref="MaxInstances"/> pairs exist a deterministic hash of (user, day) keeps a
/// sample; with fewer than <see cref="MinInstances"/> the fallback is returned.</para>
/// </remarks>
public static class AutoLambda
{
    /// <summary>The candidate λ per day, ascending.</summary>
    public static IReadOnlyList<double> Grid { get; } = [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];

    /// <summary>Share of the actions before now whose days are held out.</summary>
    public const double HeldOutShare = 0.1;

    /// <summary>Most (user, day) pairs scored (a hash sample beyond that): ≈ 1 s on one core for 64-d vectors.</summary>
    public const int MaxInstances = 20_000;

    /// <summary>Fewest (user, day) pairs for a choice; below it the fallback is used.</summary>
    public const int MinInstances = 50;

    /// <summary>Chooses λ from <see cref="Grid"/>.</summary>
    /// <param name="offsets">User u's actions are [offsets[u], offsets[u+1]) of the other spans, sorted by time.</param>
    /// <param name="times">Unix seconds of each action.</param>
    /// <param name="rows">Row of each action's item in <paramref name="unit"/>, −1 for an item without a vector.</param>
    /// <param name="unit">Unit-normalised item vectors, row-major (rows × <paramref name="dimension"/>).</param>
    /// <param name="dimension">The vectors' dimension.</param>
    /// <param name="now">Only actions with t &lt; now are read.</param>
    /// <param name="windowDays">The profile's history window (<see cref="ProfileOptions.WindowDays"/>).</param>
    /// <param name="fallback">λ when too few pairs can be scored.</param>
    /// <returns>The choice with the score of every λ.</returns>
    public static AutoLambdaResult Resolve(ReadOnlySpan<int> offsets, ReadOnlySpan<long> times, ReadOnlySpan<int> rows,
                                           ReadOnlySpan<float> unit, int dimension, long now, double windowDays, double fallback)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (offsets.Length == 0 || times.Length != rows.Length || offsets[^1] != times.Length)
            throw new ArgumentException("offsets must be CSR offsets over times and rows.", nameof(offsets));
        int g = Grid.Count, d = dimension;
        var sums = new double[g];
        long start = HeldOutStart(times, now);
        long window = (long)Math.Round(windowDays * UnixTime.SecondsPerDay);

        // Count the (user, day) pairs first, so the sample rate is known before any vector is read.
        long pairs = 0;
        for (int u = 0; u + 1 < offsets.Length; u++) pairs += HeldOutDays(times, offsets[u], offsets[u + 1], start, now, null);
        ulong keepBelow = pairs <= MaxInstances ? ulong.MaxValue : (ulong)(MaxInstances / (double)pairs * ulong.MaxValue);

        var average = new float[g * d];
        var lambdas = new double[g];
        for (int j = 0; j < g; j++) lambdas[j] = Grid[j];
        int scored = 0;
        var days = new List<long>();
        var cos = new double[g];
        var norms = new float[g];
        for (int u = 0; u + 1 < offsets.Length; u++)
        {
            int from = offsets[u], to = offsets[u + 1];
            days.Clear();
            if (HeldOutDays(times, from, to, start, now, days) == 0) continue;
            foreach (long day in days)
            {
                if (keepBelow != ulong.MaxValue && SplitMix64.Mix(((ulong)u << 32) ^ (ulong)(day / UnixTime.SecondsPerDay)) >= keepBelow) continue;
                average.AsSpan().Clear();
                bool any = false;
                for (int i = from; i < to && times[i] < day; i++)
                {
                    if (times[i] <= day - window || rows[i] < 0) continue;
                    ReadOnlySpan<float> v = unit.Slice(rows[i] * d, d);
                    double age = (day - times[i]) / (double)UnixTime.SecondsPerDay;
                    for (int j = 0; j < g; j++)
                    {
                        Span<float> a = average.AsSpan(j * d, d);
                        TensorPrimitives.MultiplyAdd(v, (float)Math.Exp(-lambdas[j] * age), a, a);
                    }
                    any = true;
                }
                if (!any) continue;
                for (int j = 0; j < g; j++) norms[j] = TensorPrimitives.Norm(average.AsSpan(j * d, d));
                int tests = 0;
                Array.Clear(cos);
                for (int i = from; i < to && times[i] < Math.Min(now, day + UnixTime.SecondsPerDay); i++)
                {
                    if (times[i] < day || rows[i] < 0) continue;
                    ReadOnlySpan<float> x = unit.Slice(rows[i] * d, d);
                    for (int j = 0; j < g; j++)
                        if (norms[j] > 0) cos[j] += TensorPrimitives.Dot(average.AsSpan(j * d, d), x) / norms[j];
                    tests++;
                }
                if (tests == 0) continue;
                for (int j = 0; j < g; j++) sums[j] += cos[j] / tests;
                scored++;
            }
        }
        var scores = new double[g];
        for (int j = 0; j < g; j++) scores[j] = scored > 0 ? sums[j] / scored : double.NaN;
        if (scored < MinInstances) return new AutoLambdaResult(fallback, scored, start, lambdas, scores, Chosen: false);
        int best = 0;
        for (int j = 1; j < g; j++)
            if (scores[j] > scores[best]) best = j;
        return new AutoLambdaResult(lambdas[best], scored, start, lambdas, scores, Chosen: true);
    }

    /// <summary>The first held-out second: the <see cref="HeldOutShare"/> upper quantile of the times before
    /// <paramref name="now"/>, floored to a UTC midnight.</summary>
    private static long HeldOutStart(ReadOnlySpan<long> times, long now)
    {
        var before = new List<long>();
        foreach (long t in times)
            if (t < now) before.Add(t);
        if (before.Count == 0) return now;
        before.Sort();
        long q = before[(int)Math.Floor((1 - HeldOutShare) * (before.Count - 1))];
        return UnixTime.FloorToDay(q);
    }

    /// <summary>Counts (and lists into <paramref name="days"/>) the UTC days in [start, now) with an action of the user.</summary>
    private static int HeldOutDays(ReadOnlySpan<long> times, int from, int to, long start, long now, List<long>? days)
    {
        int count = 0;
        long last = long.MinValue;
        for (int i = from; i < to; i++)
        {
            long t = times[i];
            if (t < start || t >= now) continue;
            long day = UnixTime.FloorToDay(t);
            if (day == last) continue;
            last = day;
            count++;
            days?.Add(day);
        }
        return count;
    }
}

/// <summary>What <see cref="AutoLambda.Resolve"/> chose and why.</summary>
/// <param name="Lambda">The λ per day to use.</param>
/// <param name="Pairs">(user, day) pairs scored.</param>
/// <param name="HeldOutStart">First second of the held-out days.</param>
/// <param name="Grid">The λ tried.</param>
/// <param name="Scores">Mean cosine per λ (NaN when nothing was scored).</param>
/// <param name="Chosen">False when too few pairs were scored and <paramref name="Lambda"/> is the fallback.</param>
public sealed record AutoLambdaResult(double Lambda, int Pairs, long HeldOutStart, IReadOnlyList<double> Grid,
                                      IReadOnlyList<double> Scores, bool Chosen);

/// <summary>Collects whole users' actions for <see cref="AutoLambda"/> while a batch run reads its input, in bounded
/// memory: a user is kept when the hash of its id falls below a threshold that halves whenever more than
/// <see cref="MaxActions"/> actions are held (adaptive sampling, Gibbons 2001), so the sample is the same for any input
/// order and every kept user has all of its actions.</summary>
public sealed class AutoLambdaSample
{
    /// <summary>Most actions held (≈ 24 bytes each).</summary>
    public const int MaxActions = 250_000;

    private ulong[] _user = new ulong[1024];
    private int[] _row = new int[1024];
    private long[] _time = new long[1024];
    private int _count;
    private int _level;

    /// <summary>Actions held.</summary>
    public int Count => _count;

    /// <summary>Offers one action: <paramref name="userHash"/> a well-mixed 64-bit hash of the user id,
    /// <paramref name="row"/> the item's row (−1 without a vector is skipped).</summary>
    public void Add(ulong userHash, int row, long time)
    {
        if (row < 0 || !Keeps(userHash, _level)) return;
        if (_count == _user.Length)
        {
            int grown = Math.Min(Math.Max(_count * 2, 1024), MaxActions + 1);
            Array.Resize(ref _user, grown);
            Array.Resize(ref _row, grown);
            Array.Resize(ref _time, grown);
        }
        _user[_count] = userHash;
        _row[_count] = row;
        _time[_count] = time;
        _count++;
        while (_count > MaxActions)
        {
            _level++;
            int kept = 0;
            for (int i = 0; i < _count; i++)
            {
                if (!Keeps(_user[i], _level)) continue;
                _user[kept] = _user[i];
                _row[kept] = _row[i];
                _time[kept] = _time[i];
                kept++;
            }
            _count = kept;
        }
    }

    private static bool Keeps(ulong hash, int level) => level == 0 || hash >> (64 - level) == 0;

    /// <summary><see cref="AutoLambda.Resolve"/> on the sample.</summary>
    /// <param name="vector">The vector of an item row (any length; normalised here).</param>
    /// <param name="dimension">The vectors' dimension.</param>
    /// <param name="now">The run's now.</param>
    /// <param name="windowDays">The profile's history window.</param>
    /// <param name="fallback">λ when too few (user, day) pairs can be scored.</param>
    public AutoLambdaResult Resolve(Func<int, ReadOnlyMemory<float>> vector, int dimension, long now, double windowDays, double fallback)
    {
        ArgumentNullException.ThrowIfNull(vector);
        int n = _count, d = dimension;
        // Users together, each in time order (then row, so equal times do not depend on the input order).
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        ulong[] user = _user;
        long[] time = _time;
        int[] rowOf = _row;
        Array.Sort(order, (a, b) => user[a] != user[b] ? user[a].CompareTo(user[b])
                                    : time[a] != time[b] ? time[a].CompareTo(time[b]) : rowOf[a].CompareTo(rowOf[b]));
        var offsets = new List<int> { 0 };
        long[] times = new long[n];
        int[] rows = new int[n];
        var compact = new Dictionary<int, int>();
        var unit = new List<float>();
        for (int k = 0; k < n; k++)
        {
            int i = order[k];
            if (k > 0 && user[i] != user[order[k - 1]]) offsets.Add(k);
            times[k] = time[i];
            if (!compact.TryGetValue(rowOf[i], out int c))
            {
                c = compact.Count;
                compact.Add(rowOf[i], c);
                float[] v = vector(rowOf[i]).ToArray();
                if (v.Length != d) throw new ArgumentException($"Row {rowOf[i]} has {v.Length} values, expected {d}.", nameof(vector));
                float norm = TensorPrimitives.Norm(v);
                if (norm > 0) TensorPrimitives.Divide(v, norm, v);
                unit.AddRange(v);
            }
            rows[k] = c;
        }
        offsets.Add(n);
        return AutoLambda.Resolve(offsets.ToArray(), times, rows, unit.ToArray(), d, now, windowDays, fallback);
    }
}
