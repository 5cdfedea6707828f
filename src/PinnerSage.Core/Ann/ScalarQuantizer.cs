using System.Numerics.Tensors;

namespace PinnerSage.Ann;

/// <summary>Per-dimension affine 8-bit scalar quantization (FAISS's <c>ScalarQuantizer::QT_8bit</c>, Lucene's and
/// Qdrant's int8): x_j ≈ Min_j + Step_j·c_j with c_j ∈ 0…255, Min_j and Step_j = (max_j − min_j)/255 from the indexed
/// vectors.</summary>
/// <remarks>Per dimension rather than per vector (our choice, measured: bench/results/hnsw-quantizers.md): embedding
/// dimensions can have different ranges (a shared low-rank component puts most variance on a few), and one range per
/// vector spends its 256 levels on the widest dimension. On the benchmark's zipf 100k × 256 rows the two codes rank
/// equally well (recall@10 of the estimates alone 0.989 vs 0.988; 1.000 for both after re-ranking 2·k), but per-vector
/// codes cost 8 bytes more per vector and scan 12 % slower (two per-row floats loaded and applied per estimate). The query stays float in meaning but is folded into signed codes so the walk runs integer dot products
/// (asymmetric distance, as FAISS's SQ): x·q ≈ Σ_j Min_j·q_j + Σ_j c_j·(Step_j·q_j) = Offset + Scale·Σ_j c_j·r_j, where
/// r_j = round(Step_j·q_j / Scale) ∈ −127…127 and Scale = max_j |Step_j·q_j| / 127. Both roundings are bounded by half a
/// level; the exact re-ranking of the final candidates removes their effect on the order of the results.</remarks>
internal sealed class ScalarQuantizer
{
    public ScalarQuantizer(float[] min, float[] step)
    {
        Min = min;
        Step = step;
    }

    public float[] Min { get; }

    public float[] Step { get; }

    public int Dimension => Min.Length;

    /// <summary>Min and step per dimension over the n rows of <paramref name="rows"/> (n × d, row-major).</summary>
    public static ScalarQuantizer Train(ReadOnlySpan<float> rows, int n, int d)
    {
        var min = new float[d];
        var max = new float[d];
        min.AsSpan().Fill(n > 0 ? float.PositiveInfinity : 0);
        max.AsSpan().Fill(n > 0 ? float.NegativeInfinity : 0);
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> x = rows.Slice(i * d, d);
            TensorPrimitives.Min(min, x, min);
            TensorPrimitives.Max(max, x, max);
        }
        var step = new float[d];
        for (int j = 0; j < d; j++) step[j] = (max[j] - min[j]) / 255f;
        return new ScalarQuantizer(min, step);
    }

    /// <summary>Writes the codes of <paramref name="x"/> (clamped to 0…255) to <paramref name="codes"/>.</summary>
    public void Encode(ReadOnlySpan<float> x, Span<byte> codes)
    {
        for (int j = 0; j < x.Length; j++)
        {
            float level = Step[j] > 0 ? MathF.Round((x[j] - Min[j]) / Step[j]) : 0;
            codes[j] = (byte)Math.Clamp(level, 0, 255);
        }
    }

    /// <summary>Folds query <paramref name="q"/> into signed codes r (see remarks); returns (Scale, Offset) so that
    /// x·q ≈ Offset + Scale·Σ c_j·r_j. <paramref name="work"/> holds d floats.</summary>
    public (float Scale, float Offset) EncodeQuery(ReadOnlySpan<float> q, Span<float> work, Span<sbyte> codes)
    {
        Span<float> folded = work[..q.Length];
        TensorPrimitives.Multiply(q, Step, folded);
        float offset = TensorPrimitives.Dot(q, Min);
        float largest = MathF.Abs(TensorPrimitives.MaxMagnitude(folded));
        float scale = largest > 0 ? largest / 127f : 1f;
        for (int j = 0; j < folded.Length; j++) codes[j] = (sbyte)MathF.Round(folded[j] / scale);
        return (scale, offset);
    }
}
