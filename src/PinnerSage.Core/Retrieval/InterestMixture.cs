using System.Numerics.Tensors;

namespace PinnerSage.Retrieval;

/// <summary>The mixture score over all of a user's interests: s(x) = τ·log Σ_c w_c·exp(x·q_c/τ), with Σ_c w_c = 1,
/// q_c the anchor of cluster c (its mean unit vector, or its medoid) and w_c its share of the importance.</summary>
/// <remarks>
/// <para>Why (issue 13; Pal et al., KDD 2020, §3.3): PinnerSage queries the ANN index around e = 3 sampled medoids —
/// a max over a few points — while the decay-weighted average scores a candidate against the whole history at once:
/// for unit vectors cos(x, Σ wᵢvᵢ) ∝ Σ wᵢ·x·vᵢ, a linear kernel. This score is the family between the two. τ → ∞:
/// s → Σ_c w_c·x·q_c, which with mean anchors is x·(importance-weighted centroid average) — the decay average when
/// every cluster is one item. τ → 0: s → max_c x·q_c, the nearest interest whatever its weight. In between, a
/// candidate close to one heavy interest beats one halfway between several (the empty region the paper warns of),
/// and a light interest still counts when nothing heavier is near.</para>
/// <para>The reason of an item is the cluster with the largest term w_c·exp(x·q_c/τ), and its contribution that term's
/// share of the sum (for τ = ∞, of Σ_c w_c·max(0, x·q_c)).</para>
/// <para>Cost: O(C) per candidate once its C dot products are known (<see cref="MixtureRanker"/> computes them
/// with one GEMM); allocation-free.</para>
/// </remarks>
public static class InterestMixture
{
    /// <summary>The score of each of n candidates from its C dot products: τ·log Σ w_c·exp(x·q_c/τ), computed as
    /// m + τ·log Σ w_c·exp((x·q_c − m)/τ) with m the row's largest dot over positive weights, so no term overflows;
    /// linear (Σ w_c·x·q_c) for τ = ∞. With the reason (the component with the largest term) and its share.</summary>
    /// <param name="dots">n × C dot products, row by row; overwritten (scratch for the exponentials).</param>
    /// <param name="weights">The C component weights (≥ 0; components with weight 0 never count).</param>
    /// <param name="tau">τ &gt; 0, or +∞.</param>
    /// <param name="scores">n scores (−∞ for a row when no weight is positive).</param>
    /// <param name="reasons">n component indices.</param>
    /// <param name="contributions">n shares in [0, 1] (for τ = ∞, of Σ_c w_c·max(0, x·q_c)).</param>
    /// <remarks>All n·C exponentials in one vectorised call (<see cref="TensorPrimitives.Exp(ReadOnlySpan{float}, Span{float})"/>,
    /// float): the serving cost of a scalar exp per candidate and component was measured at a fifth of the policy's
    /// (bench/results/retrieval-policies.md); float exps agree with the double formula to ~1e-6 relative.</remarks>
    public static void EvaluateRows(Span<float> dots, ReadOnlySpan<float> weights, double tau, Span<float> scores,
                                    Span<int> reasons, Span<float> contributions)
    {
        int c = weights.Length, n = scores.Length;
        if (c == 0 || dots.Length != n * c || reasons.Length != n || contributions.Length != n)
            throw new ArgumentException($"Expected {n} rows of {c} dots, reasons and contributions.", nameof(dots));
        if (double.IsPositiveInfinity(tau))
        {
            for (int i = 0; i < n; i++)
            {
                double s = WeightedTerms(dots.Slice(i * c, c), weights, out reasons[i], out double best, out double positive);
                scores[i] = (float)s;
                contributions[i] = positive > 0 ? (float)(Math.Max(0, best) / positive) : 0;
            }
            return;
        }
        // 1. Shift each row by its largest weighted dot and scale by 1/τ; terms of weight 0 are capped at exp(0), then
        //    multiplied by their zero weight (so a large dot there cannot overflow into 0·∞).
        float inverseTau = (float)(1 / tau);
        for (int i = 0; i < n; i++)
        {
            Span<float> row = dots.Slice(i * c, c);
            float max = float.NegativeInfinity;
            for (int k = 0; k < c; k++)
            {
                if (weights[k] > 0 && row[k] > max) max = row[k];
            }
            scores[i] = max;
            for (int k = 0; k < c; k++) row[k] = Math.Min(0f, (row[k] - max) * inverseTau);
        }
        // 2. Every exponential at once.
        TensorPrimitives.Exp(dots, dots);
        // 3. Per row: the weighted sum, its largest term and the score.
        for (int i = 0; i < n; i++)
        {
            float max = scores[i];
            if (float.IsNegativeInfinity(max))
            {
                reasons[i] = 0;
                contributions[i] = 0;
                continue;
            }
            double sum = WeightedTerms(dots.Slice(i * c, c), weights, out reasons[i], out double bestTerm, out _);
            scores[i] = (float)(max + tau * Math.Log(sum));
            contributions[i] = (float)(bestTerm / sum);
        }
    }

    /// <summary>Σ_k w_k·v_k, its largest term (the first on ties) and the sum of its positive terms.</summary>
    private static double WeightedTerms(ReadOnlySpan<float> values, ReadOnlySpan<float> weights, out int reason, out double best,
                                        out double positive)
    {
        double sum = 0;
        best = double.NegativeInfinity;
        positive = 0;
        reason = 0;
        for (int k = 0; k < values.Length; k++)
        {
            double term = (double)weights[k] * values[k];
            sum += term;
            if (term > best)
            {
                best = term;
                reason = k;
            }
            if (term > 0) positive += term;
        }
        return sum;
    }
}
