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
    public static Dictionary<string, Dictionary<string, double>> Evaluate(PairSet pairs, IReadOnlyList<string> tasks,
        int itemCount, Scorer scorer, IReadOnlyList<int> ks, int maxPairsPerTask = 2000, IReadOnlySet<int>? onlyTasks = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(ks);
        var selected = new List<int>();
        for (int t = 0; t < tasks.Count; t++)
        {
            if (onlyTasks is not null && !onlyTasks.Contains(t)) continue;
            int[] of = [.. Enumerable.Range(0, pairs.Count).Where(i => pairs.Task[i] == t)];
            if (of.Length <= maxPairsPerTask) selected.AddRange(of);
            else for (int k = 0; k < maxPairsPerTask; k++) selected.Add(of[(int)((long)k * of.Length / maxPairsPerTask)]);
        }
        // Group by query so each query's catalogue scores are computed once.
        int[] order = [.. selected.OrderBy(i => pairs.Query[i]).ThenBy(i => i)];
        var groups = new List<(int Start, int End)>();
        for (int s = 0; s < order.Length;)
        {
            int e = s + 1;
            while (e < order.Length && pairs.Query[order[e]] == pairs.Query[order[s]]) e++;
            groups.Add((s, e));
            s = e;
        }
        var rank = new int[order.Length];
        Parallel.For(0, groups.Count, () => new float[itemCount], (g, _, scores) =>
        {
            (int start, int end) = groups[g];
            int q = pairs.Query[order[start]];
            scorer(q, scores);
            for (int k = start; k < end; k++)
            {
                int pos = pairs.Positive[order[k]];
                float s = scores[pos];
                int r = 0;
                for (int j = 0; j < itemCount; j++)
                {
                    if (j == q || j == pos) continue;
                    float v = scores[j];
                    if (v > s || (v == s && j < pos)) r++;
                }
                rank[k] = r;
            }
            return scores;
        }, _ => { });

        var hits = new long[tasks.Count + 1, ks.Count];
        var counts = new long[tasks.Count + 1];
        for (int k = 0; k < order.Length; k++)
        {
            int t = pairs.Task[order[k]];
            counts[t]++;
            counts[tasks.Count]++;
            for (int c = 0; c < ks.Count; c++)
            {
                if (rank[k] < ks[c])
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
}
