using PinnerSage.Profiles;

namespace PinnerSage.Tests.Profiles;

/// <summary>λ = auto: the decay λ whose average best predicts each held-out day, against a naive reading of the same
/// rule, and on worlds built so that the right answer is known.</summary>
public sealed class AutoLambdaTests
{
    private const long Day = 86_400;
    private const long T0 = 1_700_006_400; // a UTC midnight

    /// <summary>Users × actions in CSR (sorted by time per user) over unit vectors of 8
    /// orthogonal topics plus noise. <paramref name="stay"/> is the chance that a user's next day stays on the day's
    /// topic of yesterday; otherwise the user returns to a topic of the first week (a long-term interest).</summary>
    private static (int[] Offsets, long[] Times, int[] Rows, float[] Unit, int D) World(int users, int days, double stay, int seed)
    {
        const int topics = 8, perTopic = 20, d = 16;
        var random = new Random(seed);
        float[] unit = new float[topics * perTopic * d];
        for (int t = 0; t < topics; t++)
            for (int k = 0; k < perTopic; k++)
            {
                Span<float> v = unit.AsSpan((t * perTopic + k) * d, d);
                for (int j = 0; j < d; j++) v[j] = (float)(random.NextDouble() - 0.5) * 0.6f;
                v[t] += 1;
                float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
                for (int j = 0; j < d; j++) v[j] /= norm;
            }
        var offsets = new List<int> { 0 };
        var times = new List<long>();
        var rows = new List<int>();
        for (int u = 0; u < users; u++)
        {
            int home = random.Next(topics), today = home;
            for (int day = 0; day < days; day++)
            {
                if (day > 0) today = random.NextDouble() < stay ? today : (random.NextDouble() < 0.5 ? home : random.Next(topics));
                if (random.NextDouble() < 0.5) continue;
                for (int a = 0; a < 2; a++)
                {
                    times.Add(T0 + day * Day + 3600 * (a + 1));
                    rows.Add(random.Next(2) == 0 && a == 0 && u % 7 == 0 ? -1 : today * perTopic + random.Next(perTopic));
                }
            }
            offsets.Add(times.Count);
        }
        return (offsets.ToArray(), times.ToArray(), rows.ToArray(), unit, d);
    }

    /// <summary>The rule, written out directly: held-out days from the sorted times, then per (user, day) the cosine of
    /// each decay average with each item of the day, in doubles.</summary>
    private static double[] NaiveScores(int[] offsets, long[] times, int[] rows, float[] unit, int d, long now, double window,
                                        out int pairs)
    {
        long[] before = times.Where(t => t < now).Order().ToArray();
        long q = before[(int)Math.Floor(0.9 * (before.Length - 1))];
        long start = q - q % Day;
        var grid = AutoLambda.Grid;
        var sums = new double[grid.Count];
        pairs = 0;
        for (int u = 0; u + 1 < offsets.Length; u++)
        {
            var mine = Enumerable.Range(offsets[u], offsets[u + 1] - offsets[u]).ToArray();
            foreach (long day in mine.Where(i => times[i] >= start && times[i] < now).Select(i => times[i] - times[i] % Day).Distinct())
            {
                var history = mine.Where(i => times[i] < day && times[i] > day - (long)(window * Day) && rows[i] >= 0).ToArray();
                var tests = mine.Where(i => times[i] >= day && times[i] < Math.Min(now, day + Day) && rows[i] >= 0).ToArray();
                if (history.Length == 0 || tests.Length == 0) continue;
                for (int g = 0; g < grid.Count; g++)
                {
                    var average = new double[d];
                    foreach (int i in history)
                        for (int j = 0; j < d; j++) average[j] += Math.Exp(-grid[g] * (day - times[i]) / (double)Day) * unit[rows[i] * d + j];
                    double norm = Math.Sqrt(average.Sum(x => x * x));
                    sums[g] += tests.Average(i => Enumerable.Range(0, d).Sum(j => average[j] * unit[rows[i] * d + j]) / norm);
                }
                pairs++;
            }
        }
        int n = pairs;
        return sums.Select(s => s / n).ToArray();
    }

    [Fact]
    public void ScoresEveryLambdaAsTheNaiveRuleDoes()
    {
        var (offsets, times, rows, unit, d) = World(users: 150, days: 60, stay: 0.7, seed: 3);
        long now = T0 + 55 * Day + 5000; // mid-day: the last held-out day is cut at now
        AutoLambdaResult result = AutoLambda.Resolve(offsets, times, rows, unit, d, now, windowDays: 30, fallback: 0.05);
        double[] naive = NaiveScores(offsets, times, rows, unit, d, now, 30, out int pairs);
        Assert.True(result.Chosen);
        Assert.Equal(pairs, result.Pairs);
        Assert.True(pairs >= AutoLambda.MinInstances);
        for (int g = 0; g < naive.Length; g++) Assert.Equal(naive[g], result.Scores[g], 4);
        int best = Array.IndexOf(naive, naive.Max());
        Assert.Equal(AutoLambda.Grid[best], result.Lambda);
    }

    [Fact]
    public void FollowsHowFastInterestsChange()
    {
        // Users who stay on yesterday's topic want a fast decay; users who keep returning to old interests a slow one.
        var sessions = World(users: 300, days: 60, stay: 0.9, seed: 5);
        var returning = World(users: 300, days: 60, stay: 0.0, seed: 5);
        long now = T0 + 60 * Day;
        double fast = AutoLambda.Resolve(sessions.Offsets, sessions.Times, sessions.Rows, sessions.Unit, sessions.D, now, 90, 0.05).Lambda;
        double slow = AutoLambda.Resolve(returning.Offsets, returning.Times, returning.Rows, returning.Unit, returning.D, now, 90, 0.05).Lambda;
        Assert.True(fast > slow, $"sessions chose λ = {fast}, returning users λ = {slow}");
        Assert.True(fast >= 0.1, $"sessions chose λ = {fast}");
    }

    [Fact]
    public void FallsBackWithTooFewPairsAndIgnoresTheFuture()
    {
        var (offsets, times, rows, unit, d) = World(users: 4, days: 20, stay: 0.5, seed: 7);
        AutoLambdaResult few = AutoLambda.Resolve(offsets, times, rows, unit, d, T0 + 20 * Day, 90, fallback: 0.123);
        Assert.False(few.Chosen);
        Assert.Equal(0.123, few.Lambda);

        // Actions at or after now change nothing.
        var big = World(users: 200, days: 40, stay: 0.6, seed: 9);
        long now = T0 + 30 * Day;
        AutoLambdaResult a = AutoLambda.Resolve(big.Offsets, big.Times, big.Rows, big.Unit, big.D, now, 90, 0.05);
        long[] shifted = big.Times.Select(t => t >= now ? t + 5 * Day : t).ToArray();
        int[] scrambled = big.Rows.Select((r, i) => big.Times[i] >= now ? (r + 17) % (big.Unit.Length / big.D) : r).ToArray();
        AutoLambdaResult b = AutoLambda.Resolve(big.Offsets, shifted, scrambled, big.Unit, big.D, now, 90, 0.05);
        Assert.Equal(a.Scores, b.Scores);
        Assert.Equal(a.Lambda, b.Lambda);
    }

    [Fact]
    public void SamplesManyPairsDeterministically()
    {
        var (offsets, times, rows, unit, d) = World(users: 12_000, days: 40, stay: 0.8, seed: 11);
        long now = T0 + 40 * Day;
        AutoLambdaResult a = AutoLambda.Resolve(offsets, times, rows, unit, d, now, 90, 0.05);
        AutoLambdaResult b = AutoLambda.Resolve(offsets, times, rows, unit, d, now, 90, 0.05);
        Assert.Equal((a.Lambda, a.Pairs), (b.Lambda, b.Pairs));
        Assert.Equal(a.Scores, b.Scores);
        Assert.InRange(a.Pairs, AutoLambda.MaxInstances * 0.9, AutoLambda.MaxInstances * 1.1);
    }

    [Fact]
    public void TheSampleResolvesAsTheFullDataWhenItFitsAndIndependentlyOfInputOrderWhenItDoesNot()
    {
        var (offsets, times, rows, unit, d) = World(users: 400, days: 50, stay: 0.8, seed: 13);
        long now = T0 + 50 * Day;
        ReadOnlyMemory<float> Vector(int row) => unit.AsMemory(row * d, d);
        var actions = new List<(ulong User, int Row, long Time)>();
        for (int u = 0; u + 1 < offsets.Length; u++)
            for (int i = offsets[u]; i < offsets[u + 1]; i++)
                actions.Add((global::PinnerSage.Numerics.SplitMix64.Mix((ulong)u + 1), rows[i], times[i]));

        var whole = new AutoLambdaSample();
        foreach (var a in actions) whole.Add(a.User, a.Row, a.Time);
        AutoLambdaResult direct = AutoLambda.Resolve(offsets, times, rows, unit, d, now, 90, 0.05);
        AutoLambdaResult sampled = whole.Resolve(Vector, d, now, 90, 0.05);
        Assert.Equal(direct.Lambda, sampled.Lambda);
        Assert.Equal(direct.Pairs, sampled.Pairs);
        for (int g = 0; g < direct.Scores.Count; g++) Assert.Equal(direct.Scores[g], sampled.Scores[g], 5);

        // Many more actions than the sample holds: the kept users, and so the choice, do not depend on the order.
        var many = new List<(ulong User, int Row, long Time)>();
        for (int copy = 0; copy < 2 * AutoLambdaSample.MaxActions / actions.Count + 1; copy++)
            foreach (var a in actions) many.Add((global::PinnerSage.Numerics.SplitMix64.Mix(a.User ^ (ulong)copy * 0x9E3779B97F4A7C15UL), a.Row, a.Time));
        var forward = new AutoLambdaSample();
        foreach (var a in many) forward.Add(a.User, a.Row, a.Time);
        var shuffled = new AutoLambdaSample();
        foreach (var a in many.OrderBy(a => global::PinnerSage.Numerics.SplitMix64.Mix((ulong)a.Time ^ (ulong)a.Row))) shuffled.Add(a.User, a.Row, a.Time);
        Assert.InRange(forward.Count, 1, AutoLambdaSample.MaxActions);
        Assert.Equal(forward.Count, shuffled.Count);
        AutoLambdaResult f = forward.Resolve(Vector, d, now, 90, 0.05), s = shuffled.Resolve(Vector, d, now, 90, 0.05);
        Assert.Equal((f.Lambda, f.Pairs), (s.Lambda, s.Pairs));
        Assert.Equal(f.Scores, s.Scores);
    }
}
