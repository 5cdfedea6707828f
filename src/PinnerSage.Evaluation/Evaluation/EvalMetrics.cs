using System.Numerics.Tensors;

namespace PinnerSage.Evaluation;

/// <summary>The metrics of the offline evaluation for one evaluation point, as pure functions over item rows of a
/// unit-normalised embedding table (n × d, row-major). Row −1 stands for a test item without a vector: it is never
/// retrieved, never relevant to a candidate and scores −∞.</summary>
/// <remarks>
/// Pal et al., KDD 2020, §5.1 (papers/PINNERSAGE.md "Offline evaluation protocol"): Relevance = share of test actions
/// whose item has cosine ≥ τ (0.8) to some candidate; Recall = share of test actions whose item is a candidate;
/// R-Precision and reciprocal rank over the test items plus random negatives ranked by the maximum cosine to any user
/// embedding. Ties in that ranking are broken against the test items (our choice: pessimistic, so a method that
/// scores everything equal gains nothing). Reciprocal rank is 1 / rank of the best-ranked test item (our choice for
/// several test items). Recall@k and NDCG@k (binary gains, log2 discount, ideal = min(|relevant|, k) hits first;
/// Järvelin &amp; Kekäläinen 2002) are over the whole catalogue ranked by the same maximum cosine. Diversity (our
/// definition) = 1 − the mean cosine over all pairs of distinct candidates, computed in O(n·d) from the sum vector:
/// Σ_{i≠j} u_i·u_j = ‖Σ u_i‖² − Σ ‖u_i‖².
/// </remarks>
internal static class EvalMetrics
{
    /// <summary>Number of test actions whose item has cosine ≥ <paramref name="threshold"/> to some candidate.</summary>
    public static int RelevanceHits(ReadOnlySpan<float> unit, int dimension, ReadOnlySpan<int> testRows,
                                    ReadOnlySpan<int> candidates, float threshold)
    {
        int hits = 0;
        foreach (int t in testRows)
        {
            if (t < 0) continue;
            ReadOnlySpan<float> x = unit.Slice(t * dimension, dimension);
            foreach (int c in candidates)
            {
                if (c == t || TensorPrimitives.Dot(x, unit.Slice(c * dimension, dimension)) >= threshold)
                {
                    hits++;
                    break;
                }
            }
        }
        return hits;
    }

    /// <summary>Number of test actions whose item is among the candidates.</summary>
    public static int RecallHits(ReadOnlySpan<int> testRows, ReadOnlySpan<int> candidates)
    {
        int hits = 0;
        foreach (int t in testRows)
        {
            if (t >= 0 && candidates.Contains(t)) hits++;
        }
        return hits;
    }

    /// <summary>R-Precision: with R = number of positives, the share of the top R of the ranking (by decreasing score,
    /// negatives first on ties) that are positives. Sorts <paramref name="positiveScores"/> in place.</summary>
    public static double RPrecision(Span<float> positiveScores, ReadOnlySpan<float> negativeScores)
    {
        int r = positiveScores.Length;
        if (r == 0) return 0;
        positiveScores.Sort(static (a, b) => b.CompareTo(a));
        int inTop = 0;
        for (int j = 0; j < r; j++)
        {
            // Rank of the j-th best positive: the j better positives, the negatives scoring at least as much, itself.
            long rank = j + 1 + CountAtLeast(negativeScores, positiveScores[j]);
            if (rank <= r) inTop++;
            else break;
        }
        return (double)inTop / r;
    }

    /// <summary>Reciprocal rank of the best-ranked positive (negatives first on ties).</summary>
    public static double ReciprocalRank(ReadOnlySpan<float> positiveScores, ReadOnlySpan<float> negativeScores)
    {
        if (positiveScores.Length == 0) return 0;
        float best = TensorPrimitives.Max(positiveScores);
        return 1.0 / (1 + CountAtLeast(negativeScores, best));
    }

    /// <summary>Recall@k: of <paramref name="relevantTotal"/> relevant items (those in <paramref name="relevantRows"/>,
    /// distinct, plus any without a vector), the share in the first k of <paramref name="ranked"/>.</summary>
    public static double RecallAtK(ReadOnlySpan<int> ranked, ReadOnlySpan<int> relevantRows, int relevantTotal, int k)
    {
        if (relevantTotal == 0) return 0;
        int hits = 0;
        ReadOnlySpan<int> top = ranked[..Math.Min(k, ranked.Length)];
        foreach (int r in relevantRows)
        {
            if (r >= 0 && top.Contains(r)) hits++;
        }
        return (double)hits / relevantTotal;
    }

    /// <summary>NDCG@k with binary gains: Σ_{i ≤ k, ranked[i] relevant} 1/log2(i + 1) over the same sum for
    /// min(relevantTotal, k) hits at the top (positions from 1).</summary>
    public static double NdcgAtK(ReadOnlySpan<int> ranked, ReadOnlySpan<int> relevantRows, int relevantTotal, int k)
    {
        if (relevantTotal == 0) return 0;
        double dcg = 0;
        int top = Math.Min(k, ranked.Length);
        for (int i = 0; i < top; i++)
        {
            if (ranked[i] >= 0 && relevantRows.Contains(ranked[i])) dcg += 1 / Math.Log2(i + 2);
        }
        double ideal = 0;
        for (int i = 0; i < Math.Min(k, relevantTotal); i++) ideal += 1 / Math.Log2(i + 2);
        return dcg / ideal;
    }

    /// <summary>1 − the mean cosine over pairs of distinct candidates (0 for fewer than two);
    /// <paramref name="sum"/> is scratch of <paramref name="dimension"/> floats.</summary>
    public static double Diversity(ReadOnlySpan<float> unit, int dimension, ReadOnlySpan<int> candidates, Span<float> sum)
    {
        int n = candidates.Length;
        if (n < 2) return 0;
        sum = sum[..dimension];
        sum.Clear();
        double squaredNorms = 0;
        foreach (int c in candidates)
        {
            ReadOnlySpan<float> v = unit.Slice(c * dimension, dimension);
            TensorPrimitives.Add(sum, v, sum);
            squaredNorms += TensorPrimitives.Dot(v, v);
        }
        double total = TensorPrimitives.Dot(sum, sum);
        double meanCosine = (total - squaredNorms) / ((double)n * (n - 1));
        return 1 - meanCosine;
    }

    /// <summary>Maximum of the dot products of item <paramref name="row"/> with each query vector; −∞ for row −1.</summary>
    public static float MaxCosine(ReadOnlySpan<float> unit, int dimension, int row, ReadOnlySpan<float> queries, int queryCount)
    {
        if (row < 0) return float.NegativeInfinity;
        ReadOnlySpan<float> x = unit.Slice(row * dimension, dimension);
        float best = float.NegativeInfinity;
        for (int q = 0; q < queryCount; q++)
            best = Math.Max(best, TensorPrimitives.Dot(x, queries.Slice(q * dimension, dimension)));
        return best;
    }

    private static int CountAtLeast(ReadOnlySpan<float> scores, float value)
    {
        int count = 0;
        foreach (float s in scores)
        {
            if (s >= value) count++;
        }
        return count;
    }
}
