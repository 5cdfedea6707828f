using System.Numerics.Tensors;

namespace PinnerSage.ItemSage.Training;

/// <summary>The inputs of one loss evaluation: B (query, positive) rows and M random catalogue negatives, all
/// embeddings unit vectors of dimension D, row-major.</summary>
internal readonly ref struct LossInputs
{
    /// <summary>Queries [B, D].</summary>
    public ReadOnlySpan<float> Queries { get; init; }

    /// <summary>Positives [B, D] (row i was engaged after query i).</summary>
    public ReadOnlySpan<float> Positives { get; init; }

    /// <summary>Random negatives [M, D], shared by every row; may be empty.</summary>
    public ReadOnlySpan<float> Negatives { get; init; }

    /// <summary>Item id of each query [B] (for collision masks).</summary>
    public ReadOnlySpan<int> QueryIds { get; init; }

    /// <summary>Item id of each positive [B].</summary>
    public ReadOnlySpan<int> PositiveIds { get; init; }

    /// <summary>Item id of each negative [M].</summary>
    public ReadOnlySpan<int> NegativeIds { get; init; }

    /// <summary>log Q of each positive as an in-batch candidate [B]; empty = no logQ correction.</summary>
    public ReadOnlySpan<float> LogQ { get; init; }

    /// <summary>Embedding dimension D.</summary>
    public int Dimension { get; init; }

    /// <summary>Logit scale s = 1/τ is exp(<see cref="LogScale"/>).</summary>
    public float LogScale { get; init; }

    /// <summary>Include term 1 (in-batch softmax).</summary>
    public bool InBatch { get; init; }
}

/// <summary>ItemSage's training loss and its exact gradient.</summary>
/// <remarks>ItemSage (Baltescu et al., KDD 2022, §3.4): cosine logits scaled by a temperature, and the sum of two
/// softmax cross-entropies per row i (query q_i, engaged product p_i):
/// <list type="number">
/// <item>in-batch: candidates are all positives p_j of the batch, logit s·⟨q_i, p_j⟩ − log Q_j, where Q_j is p_j's
/// sampling probability (logQ correction, Yi et al. 2019; applied to every candidate including the row's own);</item>
/// <item>random negatives: candidates are p_i and the M shared negatives n_k, logit s·⟨q_i, ·⟩ (uniform sampling needs no
/// correction).</item>
/// </list>
/// Collision masks (our reading of the paper's "same product / same query"): candidate j ≠ i of term 1 is dropped for
/// row i when p_j is the same product as p_i, when q_j is the same query as q_i (p_j is then also a positive of q_i),
/// or when p_j is q_i itself; a negative is dropped when it is p_i or q_i. Loss = mean over rows of term 1 + term 2.
/// The gradient is w.r.t. the (already normalised) embeddings and log s; the tower back-propagates through its L2
/// normalisation. Inputs are unit vectors, so ⟨·,·⟩ is the cosine.</remarks>
internal static class ItemSageLoss
{
    /// <summary>Computes the loss and writes its gradient into the d* spans (overwritten).</summary>
    /// <returns>The loss (mean over rows).</returns>
    /// <exception cref="ArgumentException">Span sizes do not match.</exception>
    public static float Compute(in LossInputs x, Span<float> dQueries, Span<float> dPositives, Span<float> dNegatives,
        out float dLogScale)
    {
        int d = x.Dimension;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(d);
        int b = x.QueryIds.Length, m = x.NegativeIds.Length;
        if (x.Queries.Length != b * d || x.Positives.Length != b * d || x.PositiveIds.Length != b
            || x.Negatives.Length != m * d || (x.LogQ.Length != 0 && x.LogQ.Length != b)
            || dQueries.Length != b * d || dPositives.Length != b * d || dNegatives.Length != m * d)
            throw new ArgumentException("Loss inputs and gradients must be [B, D] queries/positives, [M, D] negatives, B or 0 logQ.");
        dQueries.Clear();
        dPositives.Clear();
        dNegatives.Clear();
        dLogScale = 0;
        if (b == 0) return 0;
        float s = MathF.Exp(x.LogScale);
        float invB = 1f / b;
        double loss = 0, dScale = 0; // dScale = dL/ds
        int width = Math.Max(b, m + 1);
        float[] logits = new float[width];
        float[] dots = new float[width];
        bool[] keep = new bool[width];

        for (int i = 0; i < b; i++)
        {
            ReadOnlySpan<float> q = x.Queries.Slice(i * d, d);
            Span<float> dq = dQueries.Slice(i * d, d);
            if (x.InBatch)
            {
                for (int j = 0; j < b; j++)
                {
                    keep[j] = j == i || (x.PositiveIds[j] != x.PositiveIds[i] && x.QueryIds[j] != x.QueryIds[i]
                                         && x.PositiveIds[j] != x.QueryIds[i]);
                    dots[j] = TensorPrimitives.Dot(q, x.Positives.Slice(j * d, d));
                    logits[j] = s * dots[j] - (x.LogQ.Length == 0 ? 0 : x.LogQ[j]);
                }
                loss += SoftmaxGradient(logits.AsSpan(0, b), keep.AsSpan(0, b), i);
                // logits now hold dL_i/dlogit_j (softmax − one-hot, 0 where masked).
                for (int j = 0; j < b; j++)
                {
                    float g = logits[j] * invB;
                    if (g == 0) continue;
                    dScale += g * dots[j];
                    TensorPrimitives.MultiplyAdd(x.Positives.Slice(j * d, d), g * s, dq, dq);
                    Span<float> dp = dPositives.Slice(j * d, d);
                    TensorPrimitives.MultiplyAdd(q, g * s, dp, dp);
                }
            }
            if (m > 0)
            {
                ReadOnlySpan<float> p = x.Positives.Slice(i * d, d);
                dots[0] = TensorPrimitives.Dot(q, p);
                logits[0] = s * dots[0];
                keep[0] = true;
                for (int k = 0; k < m; k++)
                {
                    keep[k + 1] = x.NegativeIds[k] != x.PositiveIds[i] && x.NegativeIds[k] != x.QueryIds[i];
                    dots[k + 1] = TensorPrimitives.Dot(q, x.Negatives.Slice(k * d, d));
                    logits[k + 1] = s * dots[k + 1];
                }
                loss += SoftmaxGradient(logits.AsSpan(0, m + 1), keep.AsSpan(0, m + 1), 0);
                float g0 = logits[0] * invB;
                dScale += g0 * dots[0];
                TensorPrimitives.MultiplyAdd(p, g0 * s, dq, dq);
                Span<float> dp = dPositives.Slice(i * d, d);
                TensorPrimitives.MultiplyAdd(q, g0 * s, dp, dp);
                for (int k = 0; k < m; k++)
                {
                    float g = logits[k + 1] * invB;
                    if (g == 0) continue;
                    dScale += g * dots[k + 1];
                    TensorPrimitives.MultiplyAdd(x.Negatives.Slice(k * d, d), g * s, dq, dq);
                    Span<float> dn = dNegatives.Slice(k * d, d);
                    TensorPrimitives.MultiplyAdd(q, g * s, dn, dn);
                }
            }
        }
        dLogScale = (float)(dScale * s); // ds/dlog s = s
        return (float)(loss / b);
    }

    /// <summary>Cross-entropy of the masked softmax with target <paramref name="target"/>; replaces the logits by the
    /// gradient (softmax − one-hot), 0 at masked entries.</summary>
    private static double SoftmaxGradient(Span<float> logits, ReadOnlySpan<bool> keep, int target)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < logits.Length; j++) if (keep[j]) max = Math.Max(max, logits[j]);
        double sum = 0;
        for (int j = 0; j < logits.Length; j++) if (keep[j]) sum += Math.Exp(logits[j] - max);
        double logSum = Math.Log(sum) + max;
        double loss = logSum - logits[target];
        for (int j = 0; j < logits.Length; j++)
            logits[j] = keep[j] ? (float)Math.Exp(logits[j] - logSum) - (j == target ? 1f : 0f) : 0f;
        return loss;
    }
}
