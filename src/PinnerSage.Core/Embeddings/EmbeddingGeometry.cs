using System.Numerics.Tensors;
using PinnerSage.Numerics;

namespace PinnerSage.Embeddings;

/// <summary>Options of <see cref="EmbeddingGeometry.Measure"/>. Immutable; <see cref="Validate"/> checks them.</summary>
public sealed record GeometryOptions
{
    /// <summary>Random item pairs sampled for the pairwise-cosine distribution.</summary>
    public int Pairs { get; init; } = 50_000;

    /// <summary>Users measured at most (a seeded sample of the eligible ones).</summary>
    public int MaxUsers { get; init; } = 1000;

    /// <summary>A user's history is their most recent distinct items before the last action, at most this many (our
    /// choice: 10, so heavy synthetic users and light real ones are compared on similar history lengths).</summary>
    public int MaxHistory { get; init; } = 10;

    /// <summary>Seed of the pair and user samples.</summary>
    public ulong Seed { get; init; }

    /// <summary>Threads of the blocked X·Xᵀ products (results do not depend on it).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1 (histories: below 2).</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Pairs, 1, nameof(Pairs));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxUsers, 1, nameof(MaxUsers));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHistory, 2, nameof(MaxHistory));
        ArgumentOutOfRangeException.ThrowIfLessThan(Threads, 1, nameof(Threads));
    }
}

/// <summary>Mean, standard deviation and quantiles of a sample (type-7 quantiles, as numpy's default).</summary>
public sealed record Distribution(double Mean, double Sd, double Q01, double Q05, double Q25, double Median, double Q75,
                                  double Q95, double Q99)
{
    /// <summary>The distribution of <paramref name="values"/> (sorted in place); NaN everywhere when empty.</summary>
    internal static Distribution Of(Span<double> values)
    {
        if (values.IsEmpty) return new Distribution(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        values.Sort();
        double mean = TensorPrimitives.Sum<double>(values) / values.Length, ss = 0;
        foreach (double v in values) ss += (v - mean) * (v - mean);
        return new Distribution(mean, Math.Sqrt(ss / values.Length), Quantile(values, 0.01), Quantile(values, 0.05),
                                Quantile(values, 0.25), Quantile(values, 0.5), Quantile(values, 0.75), Quantile(values, 0.95),
                                Quantile(values, 0.99));
    }

    /// <summary>Linear interpolation between order statistics of sorted values (Hyndman &amp; Fan type 7).</summary>
    internal static double Quantile(ReadOnlySpan<double> sorted, double p)
    {
        double h = (sorted.Length - 1) * p;
        int lo = (int)Math.Floor(h), hi = Math.Min(sorted.Length - 1, lo + 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}

/// <summary>Where users' items and their averages lie (<see cref="EmbeddingGeometry.Measure"/>); each field is a
/// distribution over the measured users.</summary>
/// <param name="Users">Users measured.</param>
/// <param name="History">History length (distinct items).</param>
/// <param name="SameUserPairs">Cosine of two items of one user's history (all pairs, pooled).</param>
/// <param name="MeanNorm">‖mean of the user's unit item vectors‖ (1 = all the same item).</param>
/// <param name="MeanNearest">Cosine between the normalised mean and its nearest catalogue item.</param>
/// <param name="ItemsNearest">Average over the user's items of each item's nearest-neighbour cosine (itself excluded).</param>
/// <param name="NextPercentileMean">Share of the catalogue (history excluded) ranked above the user's next item by
/// cosine to the normalised mean: 0 = first.</param>
/// <param name="NextPercentileMax">The same by the maximum cosine to the user's history items.</param>
public sealed record UserGeometry(int Users, Distribution History, Distribution SameUserPairs, Distribution MeanNorm,
                                  Distribution MeanNearest, Distribution ItemsNearest, Distribution NextPercentileMean,
                                  Distribution NextPercentileMax);

/// <summary>The geometry of an embedding table (<see cref="EmbeddingGeometry.Measure"/>).</summary>
/// <param name="Items">Catalogue size.</param>
/// <param name="Dimension">d.</param>
/// <param name="RandomPairs">Cosine of random pairs of distinct items.</param>
/// <param name="CatalogueMeanNorm">‖mean of all unit item vectors‖: the weight of a shared direction (≈ the square root
/// of the mean random-pair cosine when the rest is isotropic).</param>
/// <param name="NearestNeighbour">Each item's nearest-neighbour cosine (itself excluded).</param>
/// <param name="Users">User statistics, or null without actions.</param>
public sealed record EmbeddingGeometryReport(int Items, int Dimension, Distribution RandomPairs, double CatalogueMeanNorm,
                                             Distribution NearestNeighbour, UserGeometry? Users);

/// <summary>Measures the geometry that decides whether an average of a user's items is a good query (issue 13): the
/// spread of random-pair cosines, how much closer a user's items are than random ones, and where the (unit) mean of a
/// user's items lands relative to the catalogue compared with the items themselves. Used to calibrate the synthetic
/// world against real content vectors (bench/results/synthetic-geometry.md).</summary>
/// <remarks>Rows are L2-normalised first (zero rows stay zero). Cost: O(n²·d) for the nearest neighbours (blocked GEMM)
/// plus O(users·history·n·d) for the rankings.</remarks>
public static class EmbeddingGeometry
{
    private const int Block = 256;

    /// <summary>Measures <paramref name="vectors"/> (n × d, row-major) and, when <paramref name="userStart"/> is not
    /// empty, the users given as CSR rows of item indices in time order (user u's actions are
    /// <c>userItems[userStart[u] .. userStart[u+1])</c>). A user counts when the last action's item is not among their
    /// ≥ 2 most recent distinct earlier items (<see cref="GeometryOptions.MaxHistory"/>).</summary>
    /// <exception cref="ArgumentException">Lengths do not match, or an item index is outside [0, n).</exception>
    /// <exception cref="ArgumentOutOfRangeException">n &lt; 2, d &lt; 1 or an option is out of range.</exception>
    public static EmbeddingGeometryReport Measure(ReadOnlySpan<float> vectors, int n, int d, ReadOnlySpan<int> userStart,
                                                  ReadOnlySpan<int> userItems, GeometryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(d, 1);
        if (vectors.Length != (long)n * d) throw new ArgumentException($"expected {n}×{d} floats, got {vectors.Length}.", nameof(vectors));
        if (!userStart.IsEmpty && (userStart[0] != 0 || userStart[^1] != userItems.Length))
            throw new ArgumentException("userStart must start at 0 and end at userItems.Length.", nameof(userStart));
        foreach (int item in userItems)
            if ((uint)item >= (uint)n) throw new ArgumentException($"item index {item} is outside [0, {n}).", nameof(userItems));

        float[] x = VectorNorms.NormalizeRows(vectors, n, d);
        var rng = new SplitMix64(options.Seed);
        var pairs = new double[options.Pairs];
        for (int p = 0; p < pairs.Length; p++)
        {
            int i = rng.NextInt(n), j = rng.NextInt(n - 1);
            if (j >= i) j++;
            pairs[p] = TensorPrimitives.Dot(x.AsSpan(i * d, d), x.AsSpan(j * d, d));
        }
        var mean = new float[d];
        for (int i = 0; i < n; i++) TensorPrimitives.Add(mean, x.AsSpan(i * d, d), mean);
        double meanNorm = TensorPrimitives.Norm<float>(mean) / n;
        double[] nearest = NearestNeighbourCosines(x, n, d, options.Threads);
        UserGeometry? users = userStart.Length > 1 ? MeasureUsers(x, n, d, nearest, userStart, userItems, options, ref rng) : null;
        return new EmbeddingGeometryReport(n, d, Distribution.Of(pairs), meanNorm, Distribution.Of([.. nearest]), users);
    }

    /// <summary>Each row's largest cosine to another row, by blocks of X·Xᵀ.</summary>
    private static double[] NearestNeighbourCosines(float[] x, int n, int d, int threads)
    {
        var best = new double[n];
        best.AsSpan().Fill(double.NegativeInfinity);
        var sims = new float[Block * n];
        for (int start = 0; start < n; start += Block)
        {
            int rows = Math.Min(Block, n - start);
            Gemm.Multiply(false, true, rows, n, d, 1f, x.AsSpan(start * d), d, x, d, 0f, sims, n, threads);
            for (int r = 0; r < rows; r++)
            {
                Span<float> row = sims.AsSpan(r * n, n);
                row[start + r] = float.NegativeInfinity;
                best[start + r] = TensorPrimitives.Max<float>(row);
            }
        }
        return best;
    }

    private static UserGeometry MeasureUsers(float[] x, int n, int d, double[] nearest, ReadOnlySpan<int> userStart,
                                             ReadOnlySpan<int> userItems, GeometryOptions o, ref SplitMix64 rng)
    {
        int userCount = userStart.Length - 1;
        // Seeded partial Fisher–Yates over all users: eligible ones are taken in that order until MaxUsers.
        int[] order = new int[userCount];
        for (int u = 0; u < userCount; u++) order[u] = u;
        var history = new List<int>(o.MaxHistory);
        var lengths = new List<double>();
        var same = new List<double>();
        var norms = new List<double>();
        var meanNearest = new List<double>();
        var itemsNearest = new List<double>();
        var rankMean = new List<double>();
        var rankMax = new List<double>();
        var q = new float[(o.MaxHistory + 1) * d];
        var sims = new float[(o.MaxHistory + 1) * n];
        var inHistory = new bool[n];
        for (int k = 0; k < userCount && norms.Count < o.MaxUsers; k++)
        {
            int swap = k + rng.NextInt(userCount - k);
            (order[k], order[swap]) = (order[swap], order[k]);
            ReadOnlySpan<int> actions = userItems[userStart[order[k]]..userStart[order[k] + 1]];
            if (actions.Length < 3) continue;
            int next = actions[^1];
            history.Clear();
            for (int a = actions.Length - 2; a >= 0 && history.Count < o.MaxHistory; a--)
                if (!history.Contains(actions[a])) history.Add(actions[a]);
            if (history.Count < 2 || history.Contains(next)) continue;

            int h = history.Count;
            Span<float> mean = q.AsSpan(h * d, d);
            mean.Clear();
            double nn = 0;
            for (int i = 0; i < h; i++)
            {
                ReadOnlySpan<float> vi = x.AsSpan(history[i] * d, d);
                vi.CopyTo(q.AsSpan(i * d, d));
                TensorPrimitives.Add(mean, vi, mean);
                nn += nearest[history[i]];
                for (int j = i + 1; j < h; j++) same.Add(TensorPrimitives.Dot(vi, x.AsSpan(history[j] * d, d)));
            }
            double norm = TensorPrimitives.Norm<float>(mean);
            if (norm == 0) continue;
            TensorPrimitives.Divide(mean, (float)norm, mean);
            lengths.Add(h);
            norms.Add(norm / h);
            itemsNearest.Add(nn / h);

            // Rows 0…h−1: cosines to the history items; row h: to the normalised mean.
            Gemm.Multiply(false, true, h + 1, n, d, 1f, q, d, x, d, 0f, sims, n, o.Threads);
            foreach (int item in history) inHistory[item] = true;
            ReadOnlySpan<float> byMean = sims.AsSpan(h * n, n);
            float nextMean = byMean[next], nextMax = MaxOver(sims, h, n, next);
            int aboveMean = 0, aboveMax = 0, candidates = 0;
            float bestMean = float.NegativeInfinity;
            for (int i = 0; i < n; i++)
            {
                bestMean = Math.Max(bestMean, byMean[i]);
                if (inHistory[i]) continue;
                candidates++;
                if (byMean[i] > nextMean) aboveMean++;
                if (MaxOver(sims, h, n, i) > nextMax) aboveMax++;
            }
            foreach (int item in history) inHistory[item] = false;
            meanNearest.Add(bestMean);
            rankMean.Add((double)aboveMean / candidates);
            rankMax.Add((double)aboveMax / candidates);
        }
        return new UserGeometry(norms.Count, Distribution.Of([.. lengths]), Distribution.Of([.. same]), Distribution.Of([.. norms]),
                                Distribution.Of([.. meanNearest]), Distribution.Of([.. itemsNearest]),
                                Distribution.Of([.. rankMean]), Distribution.Of([.. rankMax]));
    }

    private static float MaxOver(float[] sims, int h, int n, int column)
    {
        float best = float.NegativeInfinity;
        for (int r = 0; r < h; r++) best = Math.Max(best, sims[r * n + column]);
        return best;
    }
}
