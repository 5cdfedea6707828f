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
    /// <summary>s from the C dot products x·q_c: τ·log Σ w_c·exp(x·q_c/τ), computed as m + τ·log Σ w_c·exp((x·q_c − m)/τ)
    /// with m = max over weighted components, so no term overflows; linear for τ = ∞.</summary>
    public static float Evaluate(ReadOnlySpan<float> dots, ReadOnlySpan<double> weights, double tau, out int reason,
                                 out float contribution)
    {
        reason = 0;
        if (double.IsPositiveInfinity(tau))
        {
            double s = 0, positive = 0, best = double.NegativeInfinity;
            for (int k = 0; k < dots.Length; k++)
            {
                double term = weights[k] * dots[k];
                s += term;
                if (term > best)
                {
                    best = term;
                    reason = k;
                }
                if (term > 0) positive += term;
            }
            contribution = positive > 0 ? (float)(Math.Max(0, best) / positive) : 0;
            return (float)s;
        }
        double max = double.NegativeInfinity;
        for (int k = 0; k < dots.Length; k++)
        {
            if (weights[k] > 0 && dots[k] > max) max = dots[k];
        }
        if (double.IsNegativeInfinity(max))
        {
            contribution = 0;
            return float.NegativeInfinity;
        }
        double sum = 0, bestTerm = -1;
        for (int k = 0; k < dots.Length; k++)
        {
            if (!(weights[k] > 0)) continue;
            double term = weights[k] * Math.Exp((dots[k] - max) / tau);
            sum += term;
            if (term > bestTerm)
            {
                bestTerm = term;
                reason = k;
            }
        }
        contribution = (float)(bestTerm / sum);
        return (float)(max + tau * Math.Log(sum));
    }
}
