using System.Numerics.Tensors;

namespace PinnerSage.ItemSage.Model;

/// <summary>Scaled dot-product attention of several heads with a key padding mask (Vaswani et al., NeurIPS 2017,
/// §3.2.1–3.2.2): per item b and head h, P = softmax(Q_h·K_hᵀ/√d_h + M), O_h = P·V_h, where M is −∞ at masked keys.</summary>
/// <remarks>Shapes: q [B, Sq, D] (the first Sq positions query; Sq = S or 1 when only [CLS] is needed), kv
/// [B, S, 2D] (K then V per row), keyMask [B, S] (1 = present; position 0, [CLS], is always present so no row is fully
/// masked), p [B, H, Sq, S] (cache), o [B, Sq, D]. Backward: dP = dO·V_hᵀ, dV_h = Pᵀ·dO,
/// dS = P∘(dP − rowsum(P∘dP)), dQ_h = dS·K_h/√d_h, dK_h = dSᵀ·Q_h/√d_h. Items are independent, so they run in
/// parallel with results independent of the thread count. Sequences here are ≤ 33 long, so the per-item products are
/// short dot products (TensorPrimitives) rather than GEMM calls. Cost Θ(B·Sq·S·D).</remarks>
internal static class MultiHeadAttention
{
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> kv, ReadOnlySpan<byte> keyMask,
                               int batch, int sq, int s, int d, int heads, Span<float> p, Span<float> o,
                               ParallelOptions parallel)
    {
        unsafe
        {
            fixed (float* pq = q, pkv = kv, pp = p, po = o)
            fixed (byte* pm = keyMask)
            {
                var args = new Args(pq, pkv, pm, pp, po, sq, s, d, heads);
                if (batch >= 16 && parallel.MaxDegreeOfParallelism > 1)
                    Parallel.For(0, batch, parallel, b => ForwardItem(args, b));
                else
                    for (int b = 0; b < batch; b++) ForwardItem(args, b);
            }
        }
    }

    /// <summary>dq [B, Sq, D] and dkv [B, S, 2D] are overwritten.</summary>
    public static void Backward(ReadOnlySpan<float> q, ReadOnlySpan<float> kv, ReadOnlySpan<float> p,
                                ReadOnlySpan<float> dO, int batch, int sq, int s, int d, int heads,
                                Span<float> dq, Span<float> dkv, ParallelOptions parallel)
    {
        unsafe
        {
            fixed (float* pq = q, pkv = kv, pp = p, pdo = dO, pdq = dq, pdkv = dkv)
            {
                var args = new BackArgs(pq, pkv, pp, pdo, pdq, pdkv, sq, s, d, heads);
                if (batch >= 16 && parallel.MaxDegreeOfParallelism > 1)
                    Parallel.For(0, batch, parallel, b => BackwardItem(args, b));
                else
                    for (int b = 0; b < batch; b++) BackwardItem(args, b);
            }
        }
    }

    private readonly unsafe struct Args(float* q, float* kv, byte* mask, float* p, float* o, int sq, int s, int d, int heads)
    {
        public readonly float* Q = q, Kv = kv, P = p, O = o;
        public readonly byte* Mask = mask;
        public readonly int Sq = sq, S = s, D = d, Heads = heads;
    }

    private readonly unsafe struct BackArgs(float* q, float* kv, float* p, float* dO, float* dq, float* dkv,
                                            int sq, int s, int d, int heads)
    {
        public readonly float* Q = q, Kv = kv, P = p, DO = dO, DQ = dq, DKv = dkv;
        public readonly int Sq = sq, S = s, D = d, Heads = heads;
    }

    private static unsafe void ForwardItem(in Args a, int b)
    {
        int dh = a.D / a.Heads, s = a.S, d = a.D;
        float scale = 1f / MathF.Sqrt(dh);
        byte* mask = a.Mask + (long)b * s;
        for (int h = 0; h < a.Heads; h++)
        {
            for (int i = 0; i < a.Sq; i++)
            {
                var qi = new ReadOnlySpan<float>(a.Q + ((long)b * a.Sq + i) * d + h * dh, dh);
                var pi = new Span<float>(a.P + (((long)b * a.Heads + h) * a.Sq + i) * s, s);
                float max = float.NegativeInfinity;
                for (int j = 0; j < s; j++)
                {
                    if (mask[j] == 0)
                    {
                        pi[j] = float.NegativeInfinity;
                        continue;
                    }
                    var kj = new ReadOnlySpan<float>(a.Kv + ((long)b * s + j) * 2 * d + h * dh, dh);
                    float sc = TensorPrimitives.Dot(qi, kj) * scale;
                    pi[j] = sc;
                    if (sc > max) max = sc;
                }
                // Softmax with the max subtracted; exp(−∞) = 0 removes masked keys exactly.
                TensorPrimitives.Subtract(pi, max, pi);
                TensorPrimitives.Exp(pi, pi);
                TensorPrimitives.Divide(pi, TensorPrimitives.Sum(pi), pi);
                var oi = new Span<float>(a.O + ((long)b * a.Sq + i) * d + h * dh, dh);
                oi.Clear();
                for (int j = 0; j < s; j++)
                {
                    if (pi[j] == 0) continue;
                    var vj = new ReadOnlySpan<float>(a.Kv + ((long)b * s + j) * 2 * d + d + h * dh, dh);
                    TensorPrimitives.FusedMultiplyAdd(vj, pi[j], oi, oi);
                }
            }
        }
    }

    private static unsafe void BackwardItem(in BackArgs a, int b)
    {
        int dh = a.D / a.Heads, s = a.S, d = a.D;
        float scale = 1f / MathF.Sqrt(dh);
        new Span<float>(a.DKv + (long)b * s * 2 * d, s * 2 * d).Clear();
        Span<float> dS = stackalloc float[s];
        for (int h = 0; h < a.Heads; h++)
        {
            for (int i = 0; i < a.Sq; i++)
            {
                var qi = new ReadOnlySpan<float>(a.Q + ((long)b * a.Sq + i) * d + h * dh, dh);
                var pi = new ReadOnlySpan<float>(a.P + (((long)b * a.Heads + h) * a.Sq + i) * s, s);
                var dOi = new ReadOnlySpan<float>(a.DO + ((long)b * a.Sq + i) * d + h * dh, dh);
                var dqi = new Span<float>(a.DQ + ((long)b * a.Sq + i) * d + h * dh, dh);
                float dot = 0;
                for (int j = 0; j < s; j++)
                {
                    if (pi[j] == 0)
                    {
                        dS[j] = 0;
                        continue;
                    }
                    var vj = new ReadOnlySpan<float>(a.Kv + ((long)b * s + j) * 2 * d + d + h * dh, dh);
                    var dvj = new Span<float>(a.DKv + ((long)b * s + j) * 2 * d + d + h * dh, dh);
                    float dP = TensorPrimitives.Dot(dOi, vj);
                    TensorPrimitives.FusedMultiplyAdd(dOi, pi[j], dvj, dvj);
                    dS[j] = dP;
                    dot += pi[j] * dP;
                }
                dqi.Clear();
                for (int j = 0; j < s; j++)
                {
                    if (pi[j] == 0) continue;
                    float g = pi[j] * (dS[j] - dot) * scale;
                    var kj = new ReadOnlySpan<float>(a.Kv + ((long)b * s + j) * 2 * d + h * dh, dh);
                    var dkj = new Span<float>(a.DKv + ((long)b * s + j) * 2 * d + h * dh, dh);
                    TensorPrimitives.FusedMultiplyAdd(kj, g, dqi, dqi);
                    TensorPrimitives.FusedMultiplyAdd(qi, g, dkj, dkj);
                }
            }
        }
    }
}
