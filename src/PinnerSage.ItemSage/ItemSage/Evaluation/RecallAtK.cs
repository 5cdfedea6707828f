using System.Numerics.Tensors;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.ItemSage.Evaluation;

/// <summary>Recall@k of the engaged item against the whole catalogue, per task.</summary>
/// <remarks>ItemSage (Baltescu et al., KDD 2022, §4.1) reports recall@k of the engaged product among an index of
/// candidates. Ours (our choices): candidates = every catalogue item except the query item itself; the positive's rank
/// counts the candidates scoring higher, ties broken by catalogue row (lower row first, so constant scores cannot
/// flatter a baseline); a pair is a hit at k when that rank is below k. Recall@k of a task = hits / pairs of the task
/// (pairs weighted equally, i.e. engagement-weighted); "all" pools every evaluated pair. Tasks with more than
/// <c>maxPairsPerTask</c> pairs are evaluated on an evenly spaced subset.</remarks>
public static class RecallAtK
{
    /// <summary>Pooled result key.</summary>
    public const string AllTasks = "all";

    /// <summary>Scores every catalogue item for a query item (higher = better) into a span of length n.</summary>
    public delegate void Scorer(int queryItem, Span<float> scores);

    /// <summary>Cosine/dot scores from an embedding table [n, d].</summary>
    public static Scorer FromEmbeddings(float[] embeddings, int dimension)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        int n = embeddings.Length / dimension;
        return (q, scores) =>
        {
            ReadOnlySpan<float> query = embeddings.AsSpan(q * dimension, dimension);
            for (int j = 0; j < n; j++) scores[j] = TensorPrimitives.Dot(query, embeddings.AsSpan(j * dimension, dimension));
        };
    }

    /// <summary>The same scores for every query: e.g. item popularity.</summary>
    public static Scorer Constant(ReadOnlySpan<long> values)
    {
        float[] v = new float[values.Length];
        for (int i = 0; i < v.Length; i++) v[i] = values[i];
        return (_, scores) => v.CopyTo(scores);
    }

    /// <summary>Evaluates <paramref name="pairs"/>; returns task label → metric ("recall@k", "pairs") → value, only for
    /// tasks in <paramref name="onlyTasks"/> when given, plus <see cref="AllTasks"/>.</summary>
    internal static Dictionary<string, Dictionary<string, double>> Evaluate(PairSet pairs, IReadOnlyList<string> tasks,
        int itemCount, Scorer scorer, IReadOnlyList<int> ks, int maxPairsPerTask = ItemSageEvaluation.DefaultMaxTestPairsPerTask, IReadOnlySet<int>? onlyTasks = null)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        int[] selected = SelectPairs(pairs, tasks.Count, maxPairsPerTask, onlyTasks);
        return Summarize(pairs, tasks, selected, Ranks(pairs, selected, itemCount, scorer), ks);
    }

    /// <summary>The pairs <see cref="Evaluate"/> scores: per task (only <paramref name="onlyTasks"/> when given) all its
    /// pairs, or <paramref name="maxPairsPerTask"/> evenly spaced ones when it has more; indices into
    /// <paramref name="pairs"/>, by task then position.</summary>
    internal static int[] SelectPairs(PairSet pairs, int taskCount, int maxPairsPerTask, IReadOnlySet<int>? onlyTasks = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPairsPerTask);
        var selected = new List<int>();
        for (int t = 0; t < taskCount; t++)
        {
            if (onlyTasks is not null && !onlyTasks.Contains(t)) continue;
            selected.AddRange(EvenlySpaced([.. Enumerable.Range(0, pairs.Count).Where(i => pairs.Task[i] == t)], maxPairsPerTask));
        }
        return [.. selected];
    }

    /// <summary><paramref name="of"/> itself when it has at most <paramref name="max"/> elements, else
    /// <paramref name="max"/> of them evenly spaced over its order (test and validation samples alike).</summary>
    internal static int[] EvenlySpaced(int[] of, int max) =>
        of.Length <= max ? of : [.. Enumerable.Range(0, max).Select(j => of[(int)((long)j * of.Length / max)])];

    /// <summary>rank[i] of pair <paramref name="selected"/>[i]: the candidates (every item but the query) scoring above
    /// its positive, ties counted for lower catalogue rows; a hit at k is rank &lt; k.</summary>
    internal static int[] Ranks(PairSet pairs, int[] selected, int itemCount, Scorer scorer)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(selected);
        ArgumentNullException.ThrowIfNull(scorer);
        // Group by query so each query's catalogue scores are computed once.
        int[] order = [.. Enumerable.Range(0, selected.Length).OrderBy(i => pairs.Query[selected[i]]).ThenBy(i => selected[i])];
        var groups = new List<(int Start, int End)>();
        for (int s = 0; s < order.Length;)
        {
            int e = s + 1;
            while (e < order.Length && pairs.Query[selected[order[e]]] == pairs.Query[selected[order[s]]]) e++;
            groups.Add((s, e));
            s = e;
        }
        var rank = new int[selected.Length];
        Parallel.For(0, groups.Count, () => new float[itemCount], (g, _, scores) =>
        {
            (int start, int end) = groups[g];
            int q = pairs.Query[selected[order[start]]];
            scorer(q, scores);
            for (int k = start; k < end; k++)
            {
                int pos = pairs.Positive[selected[order[k]]];
                float s = scores[pos];
                int r = 0;
                for (int j = 0; j < itemCount; j++)
                {
                    if (j == q || j == pos) continue;
                    float v = scores[j];
                    if (v > s || (v == s && j < pos)) r++;
                }
                rank[order[k]] = r;
            }
            return scores;
        }, _ => { });
        return rank;
    }

    /// <summary>Recall@k per task and pooled from the <see cref="Ranks"/> of <paramref name="selected"/>.</summary>
    internal static Dictionary<string, Dictionary<string, double>> Summarize(PairSet pairs, IReadOnlyList<string> tasks,
        int[] selected, int[] ranks, IReadOnlyList<int> ks)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(selected);
        ArgumentNullException.ThrowIfNull(ranks);
        ArgumentNullException.ThrowIfNull(ks);
        var hits = new long[tasks.Count + 1, ks.Count];
        var counts = new long[tasks.Count + 1];
        for (int i = 0; i < selected.Length; i++)
        {
            int t = pairs.Task[selected[i]];
            counts[t]++;
            counts[tasks.Count]++;
            for (int c = 0; c < ks.Count; c++)
            {
                if (ranks[i] < ks[c])
                {
                    hits[t, c]++;
                    hits[tasks.Count, c]++;
                }
            }
        }
        var result = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
        for (int t = 0; t <= tasks.Count; t++)
        {
            if (counts[t] == 0) continue;
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            for (int c = 0; c < ks.Count; c++) metrics[$"recall@{ks[c]}"] = (double)hits[t, c] / counts[t];
            metrics["pairs"] = counts[t];
            result[t == tasks.Count ? AllTasks : tasks[t]] = metrics;
        }
        return result;
    }

    /// <summary>Recall@k of <paramref name="ranks"/> minus recall@k of <paramref name="baselineRanks"/> (the same pairs,
    /// scored by two models) with a 95 % percentile bootstrap interval over the pairs: <see cref="Difference"/> with one
    /// run each and every pair its own cluster.</summary>
    public static (double Difference, double Low, double High) PairedDifference(ReadOnlySpan<int> ranks, ReadOnlySpan<int> baselineRanks,
        int k, int resamples = 2000, ulong seed = 1) =>
        Difference([ranks.ToArray()], [baselineRanks.ToArray()], k, default, resamples, seed);

    /// <summary>Mean recall@k over several runs of a model (e.g. training seeds) minus the mean over a baseline's runs,
    /// all scored on the same pairs, with a 95 % percentile bootstrap interval that resamples clusters of pairs and runs.</summary>
    /// <param name="runs">Per run, the rank of every pair (<see cref="Ranks"/>).</param>
    /// <param name="baselineRuns">The baseline's runs on the same pairs.</param>
    /// <param name="k">Cut-off.</param>
    /// <param name="clusters">Per pair, its cluster (e.g. the user whose engagements formed it); empty = every pair is its
    /// own cluster.</param>
    /// <param name="resamples">Bootstrap resamples.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <remarks>A two-stage bootstrap (Davison &amp; Hinkley 1997, §3.8; Efron &amp; Tibshirani 1993, ch. 13). Each
    /// resample draws clusters with replacement — the same clusters for both models, so the comparison stays paired —
    /// and then, independently for each side, as many runs as it has with replacement (skipped for a single run). A
    /// side's recall is then Σ_c w_c·hits_c / Σ_c w_c·pairs_c averaged over its drawn runs. Resampling whole clusters
    /// keeps the correlation of one user's pairs inside the interval; resampling runs adds the spread between training
    /// seeds, which a single run cannot show. With few runs the run stage underestimates that spread by a factor
    /// (runs − 1)/runs in variance. One run per side and singleton clusters give the plain paired bootstrap over pairs.</remarks>
    public static (double Difference, double Low, double High) Difference(IReadOnlyList<int[]> runs, IReadOnlyList<int[]> baselineRuns,
        int k, ReadOnlySpan<int> clusters = default, int resamples = 2000, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(baselineRuns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(resamples);
        if (runs.Count == 0 || baselineRuns.Count == 0) throw new ArgumentException("each side needs at least one run");
        int n = runs[0].Length;
        if (runs.Concat(baselineRuns).Any(r => r.Length != n)) throw new ArgumentException("every run must score the same pairs", nameof(baselineRuns));
        if (!clusters.IsEmpty && clusters.Length != n) throw new ArgumentException("one cluster per pair", nameof(clusters));
        if (n == 0) return (double.NaN, double.NaN, double.NaN);

        // Dense cluster ids, pairs per cluster, and per run the hits per cluster.
        var dense = new int[n];
        var ids = new Dictionary<int, int>();
        for (int i = 0; i < n; i++)
        {
            if (clusters.IsEmpty) dense[i] = i;
            else if (!ids.TryGetValue(clusters[i], out dense[i])) ids[clusters[i]] = dense[i] = ids.Count;
        }
        int c = clusters.IsEmpty ? n : ids.Count, m = runs.Count, mb = baselineRuns.Count;
        var size = new double[c];
        foreach (int d in dense) size[d]++;
        var hits = new double[(m + mb) * c];
        for (int r = 0; r < m + mb; r++)
        {
            int[] ranks = r < m ? runs[r] : baselineRuns[r - m];
            Span<double> h = hits.AsSpan(r * c, c);
            for (int i = 0; i < n; i++)
                if (ranks[i] < k) h[dense[i]]++;
        }
        double Mean(int first, int count)
        {
            double sum = 0;
            for (int r = first; r < first + count; r++) sum += TensorPrimitives.Sum<double>(hits.AsSpan(r * c, c));
            return sum / n / count;
        }
        double difference = Mean(0, m) - Mean(m, mb);

        var weights = new double[c];
        var sums = new double[m + mb];
        var deltas = new double[resamples];
        var rng = new PinnerSage.Numerics.SplitMix64(seed);
        double Side(ref PinnerSage.Numerics.SplitMix64 random, int first, int count, double denominator)
        {
            if (count == 1) return sums[first] / denominator;
            double total = 0;
            for (int j = 0; j < count; j++) total += sums[first + random.NextInt(count)];
            return total / count / denominator;
        }
        for (int b = 0; b < resamples; b++)
        {
            PinnerSage.Evaluation.Bootstrap.DrawCounts(ref rng, weights);
            double denominator = TensorPrimitives.Dot<double>(weights, size);
            for (int r = 0; r < m + mb; r++) sums[r] = TensorPrimitives.Dot<double>(weights, hits.AsSpan(r * c, c));
            double model = Side(ref rng, 0, m, denominator);
            deltas[b] = model - Side(ref rng, m, mb, denominator);
        }
        (double low, double high) = PinnerSage.Evaluation.Bootstrap.Interval(deltas);
        return (difference, low, high);
    }
}
