using System.Numerics.Tensors;
using PinnerSage.Numerics;

namespace PinnerSage.ItemSage.Model;

/// <summary>Multi-head attention for a single query per item (the [CLS] row of the last encoder layer), with the key
/// and value projections absorbed into the query side. Exactly equal to projecting every position to K and V.</summary>
/// <remarks>
/// With k_j = W_kᵀx_j + b_k and v_j = W_vᵀx_j + b_v (x = LN₁ output, W_k, W_v the two halves of the [D, 2D] K/V
/// weight), head h's score is q_h·k_{j,h} = x_j·u_h + q_h·b_{k,h} with u_h = W_{k,h}q_h [D]; the second term is
/// constant over j and cancels in the softmax (so b_k gets no gradient, exactly as in the unabsorbed form). Since
/// Σ_j p_j = 1, the output is o_h = W_{v,h}ᵀz_h + b_{v,h} with z_h = Σ_j p_j x_j [D]. Per item this costs
/// Θ(H·S·D + D²) instead of the Θ(S·D²) of projecting all S positions (S = 33, H = 8, D = 512: ≈ 60× fewer
/// multiply-adds), the u and o projections run as per-head GEMMs over the batch (our choice; an exact
/// re-association, not an approximation). Shapes: q, o [B, D]; x [B, S, D]; u, z [B, H, D]; p [B, H, S].
/// Backward: dZ_h = dO_h·W_{v,h}ᵀ, dW_{v,h} += Z_hᵀdO_h, dp_j = dZ_h·x_j, ds = p∘(dp − Σp∘dp),
/// dx_j += p_j·dZ_h + ds_j·u_h/√d_h, dU_h = Σ_j ds_j·x_j/√d_h, dQ_h = dU_h·W_{k,h}, dW_{k,h} += dU_hᵀQ_h.
/// </remarks>
internal sealed class ClsAttention
{
    private readonly int _d, _heads, _s;
    private float[] _u = [], _z = [], _p = [], _du = [], _dz = [];
    private int _capacity;

    public ClsAttention(int d, int heads, int s)
    {
        _d = d;
        _heads = heads;
        _s = s;
    }

    private void Ensure(int batch)
    {
        if (batch <= _capacity) return;
        _capacity = batch;
        _u = new float[batch * _heads * _d];
        _z = new float[batch * _heads * _d];
        _du = new float[batch * _heads * _d];
        _dz = new float[batch * _heads * _d];
        _p = new float[batch * _heads * _s];
    }

    /// <summary>o [B, D] = attention of q [B, D] over x [B, S, D] with the K/V layer <paramref name="kv"/>.</summary>
    public void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> x, ReadOnlySpan<byte> keyMask, int batch, Linear kv, Span<float> o)
    {
        Ensure(batch);
        int d = _d, dh = d / _heads, hd = _heads * d;
        ReadOnlySpan<float> w = kv.Weights, bias = kv.Bias;
        for (int h = 0; h < _heads; h++)
            Gemm.Multiply(false, true, batch, d, dh, 1f, q[(h * dh)..], d, w[(h * dh)..], 2 * d, 0f, _u.AsSpan(h * d), hd);
        unsafe
        {
            fixed (float* px = x, pu = _u, pz = _z, pp = _p)
            fixed (byte* pm = keyMask)
            {
                var a = new Ptrs(px, pu, pz, pp, pm, null, null, null);
                if (batch >= 16 && Gemm.DefaultThreads > 1) Parallel.For(0, batch, Gemm.ParallelOptions, b => ForwardItem(a, b));
                else for (int b = 0; b < batch; b++) ForwardItem(a, b);
            }
        }
        for (int b = 0; b < batch; b++) bias.Slice(d, d).CopyTo(o.Slice(b * d, d));
        for (int h = 0; h < _heads; h++)
            Gemm.Multiply(false, false, batch, dh, d, 1f, _z.AsSpan(h * d), hd, w[(d + h * dh)..], 2 * d, 1f, o[(h * dh)..], d);
    }

    /// <summary>dq [B, D] is overwritten; dx [B, S, D] is added to; K/V gradients accumulate.</summary>
    public void Backward(ReadOnlySpan<float> q, ReadOnlySpan<float> x, ReadOnlySpan<float> dO, int batch, Linear kv,
                         Span<float> dq, Span<float> dx)
    {
        int d = _d, dh = d / _heads, hd = _heads * d;
        ReadOnlySpan<float> w = kv.Weights;
        Span<float> dw = kv.WeightGradients, db = kv.BiasGradients.Slice(d, d);
        for (int b = 0; b < batch; b++) TensorPrimitives.Add(db, dO.Slice(b * d, d), db);
        for (int h = 0; h < _heads; h++)
        {
            Gemm.Multiply(false, true, batch, d, dh, 1f, dO[(h * dh)..], d, w[(d + h * dh)..], 2 * d, 0f, _dz.AsSpan(h * d), hd);
            Gemm.Multiply(true, false, d, dh, batch, 1f, _z.AsSpan(h * d), hd, dO[(h * dh)..], d, 1f, dw[(d + h * dh)..], 2 * d);
        }
        unsafe
        {
            fixed (float* px = x, pu = _u, pz = _z, pp = _p, pdz = _dz, pdu = _du, pdx = dx)
            {
                var a = new Ptrs(px, pu, pz, pp, null, pdz, pdu, pdx);
                if (batch >= 16 && Gemm.DefaultThreads > 1) Parallel.For(0, batch, Gemm.ParallelOptions, b => BackwardItem(a, b));
                else for (int b = 0; b < batch; b++) BackwardItem(a, b);
            }
        }
        for (int h = 0; h < _heads; h++)
        {
            Gemm.Multiply(false, false, batch, dh, d, 1f, _du.AsSpan(h * d), hd, w[(h * dh)..], 2 * d, 0f, dq[(h * dh)..], d);
            Gemm.Multiply(true, false, d, dh, batch, 1f, _du.AsSpan(h * d), hd, q[(h * dh)..], d, 1f, dw[(h * dh)..], 2 * d);
        }
    }

    private readonly unsafe struct Ptrs(float* x, float* u, float* z, float* p, byte* mask, float* dz, float* du, float* dx)
    {
        public readonly float* X = x, U = u, Z = z, P = p, Dz = dz, Du = du, Dx = dx;
        public readonly byte* Mask = mask;
    }

    private unsafe void ForwardItem(in Ptrs a, int b)
    {
        int d = _d, s = _s, dh = d / _heads;
        float scale = 1f / MathF.Sqrt(dh);
        byte* mask = a.Mask + (long)b * s;
        for (int h = 0; h < _heads; h++)
        {
            var u = new ReadOnlySpan<float>(a.U + ((long)b * _heads + h) * d, d);
            var p = new Span<float>(a.P + ((long)b * _heads + h) * s, s);
            float max = float.NegativeInfinity;
            for (int j = 0; j < s; j++)
            {
                if (mask[j] == 0)
                {
                    p[j] = float.NegativeInfinity;
                    continue;
                }
                float sc = TensorPrimitives.Dot(new ReadOnlySpan<float>(a.X + ((long)b * s + j) * d, d), u) * scale;
                p[j] = sc;
                if (sc > max) max = sc;
            }
            TensorPrimitives.Subtract(p, max, p);
            TensorPrimitives.Exp(p, p);
            TensorPrimitives.Divide(p, TensorPrimitives.Sum(p), p);
            var z = new Span<float>(a.Z + ((long)b * _heads + h) * d, d);
            z.Clear();
            for (int j = 0; j < s; j++)
                if (p[j] != 0) TensorPrimitives.FusedMultiplyAdd(new ReadOnlySpan<float>(a.X + ((long)b * s + j) * d, d), p[j], z, z);
        }
    }

    private unsafe void BackwardItem(in Ptrs a, int b)
    {
        int d = _d, s = _s, dh = d / _heads;
        float scale = 1f / MathF.Sqrt(dh);
        Span<float> dp = stackalloc float[s];
        for (int h = 0; h < _heads; h++)
        {
            var u = new ReadOnlySpan<float>(a.U + ((long)b * _heads + h) * d, d);
            var p = new ReadOnlySpan<float>(a.P + ((long)b * _heads + h) * s, s);
            var dz = new ReadOnlySpan<float>(a.Dz + ((long)b * _heads + h) * d, d);
            var du = new Span<float>(a.Du + ((long)b * _heads + h) * d, d);
            float dot = 0;
            for (int j = 0; j < s; j++)
            {
                if (p[j] == 0) continue;
                var xj = new ReadOnlySpan<float>(a.X + ((long)b * s + j) * d, d);
                var dxj = new Span<float>(a.Dx + ((long)b * s + j) * d, d);
                dp[j] = TensorPrimitives.Dot(dz, xj);
                dot += p[j] * dp[j];
                TensorPrimitives.FusedMultiplyAdd(dz, p[j], dxj, dxj);
            }
            du.Clear();
            for (int j = 0; j < s; j++)
            {
                if (p[j] == 0) continue;
                float g = p[j] * (dp[j] - dot) * scale;
                var xj = new ReadOnlySpan<float>(a.X + ((long)b * s + j) * d, d);
                var dxj = new Span<float>(a.Dx + ((long)b * s + j) * d, d);
                TensorPrimitives.FusedMultiplyAdd(xj, g, du, du);
                TensorPrimitives.FusedMultiplyAdd(u, g, dxj, dxj);
            }
        }
    }
}
