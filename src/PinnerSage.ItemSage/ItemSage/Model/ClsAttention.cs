using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
/// <para>Narrow heads (d_h = 8, one Vector256, D a multiple of 8: the eval's small model): the per-head GEMMs have an
/// inner or outer dimension of 8, where packing and call overhead cost more than the arithmetic (48 such GEMMs per
/// training step), so a fused per-item kernel does all of one item's heads in registers instead: u_h = Σ_c q_{h,c}·
/// W_kᵀ[h·8+c] (8 broadcast-FMAs per 8 lanes of D, on a transposed copy of W_k), scores, softmax, z_h, and
/// o_h = b_{v,h} + Σ_e z_{h,e}·W_v[e, h·8..h·8+8] (one Vector256 FMA per e). Backward likewise per item, then the weight
/// gradients per head over the batch in item order. Every sum has a fixed order that does not depend on the thread
/// count (items split across threads write disjoint rows; heads split across threads write disjoint columns of dW),
/// so results stay bitwise identical for any thread count. <see cref="FusedKernels.Enabled"/> = false selects the GEMM
/// path (benchmarks, tests).</para>
/// </remarks>
internal sealed class ClsAttention
{
    private readonly ParameterStore _store;
    private readonly int _d, _heads, _s;
    private float[] _u = [], _z = [], _p = [], _du = [], _dz = [];
    private readonly float[] _wkT, _wvT;
    private int _capacity;

    private bool Narrow => FusedKernels.Enabled && _d / _heads == Vector256<float>.Count && _d % Vector256<float>.Count == 0 && Vector256.IsHardwareAccelerated;

    public ClsAttention(ParameterStore store, int d, int heads, int s)
    {
        _store = store;
        _d = d;
        _heads = heads;
        _s = s;
        _wkT = new float[d * d];
        _wvT = new float[d * d];
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
        if (Narrow)
        {
            NarrowForward(q, x, keyMask, batch, kv, o);
            return;
        }
        int d = _d, dh = d / _heads, hd = _heads * d;
        ReadOnlySpan<float> w = kv.Weights, bias = kv.Bias;
        for (int h = 0; h < _heads; h++)
            Gemm.Multiply(false, true, batch, d, dh, 1f, q[(h * dh)..], d, w[(h * dh)..], 2 * d, 0f, _u.AsSpan(h * d), hd, _store.Threads);
        unsafe
        {
            fixed (float* px = x, pu = _u, pz = _z, pp = _p)
            fixed (byte* pm = keyMask)
            {
                var a = new Ptrs(px, pu, pz, pp, pm, null, null, null);
                if (batch >= 16 && _store.Threads > 1) Parallel.For(0, batch, _store.ParallelOptions, b => ForwardItem(a, b));
                else for (int b = 0; b < batch; b++) ForwardItem(a, b);
            }
        }
        for (int b = 0; b < batch; b++) bias.Slice(d, d).CopyTo(o.Slice(b * d, d));
        for (int h = 0; h < _heads; h++)
            Gemm.Multiply(false, false, batch, dh, d, 1f, _z.AsSpan(h * d), hd, w[(d + h * dh)..], 2 * d, 1f, o[(h * dh)..], d, _store.Threads);
    }

    /// <summary>dq [B, D] is overwritten; dx [B, S, D] is added to; K/V gradients accumulate.</summary>
    public void Backward(ReadOnlySpan<float> q, ReadOnlySpan<float> x, ReadOnlySpan<float> dO, int batch, Linear kv,
                         Span<float> dq, Span<float> dx)
    {
        int d = _d, dh = d / _heads, hd = _heads * d;
        ReadOnlySpan<float> w = kv.Weights;
        Span<float> dw = kv.WeightGradients, db = kv.BiasGradients.Slice(d, d);
        for (int b = 0; b < batch; b++) TensorPrimitives.Add(db, dO.Slice(b * d, d), db);
        if (Narrow)
        {
            NarrowBackward(q, x, dO, batch, kv, dq, dx);
            return;
        }
        for (int h = 0; h < _heads; h++)
        {
            Gemm.Multiply(false, true, batch, d, dh, 1f, dO[(h * dh)..], d, w[(d + h * dh)..], 2 * d, 0f, _dz.AsSpan(h * d), hd, _store.Threads);
            Gemm.Multiply(true, false, d, dh, batch, 1f, _z.AsSpan(h * d), hd, dO[(h * dh)..], d, 1f, dw[(d + h * dh)..], 2 * d, _store.Threads);
        }
        unsafe
        {
            fixed (float* px = x, pu = _u, pz = _z, pp = _p, pdz = _dz, pdu = _du, pdx = dx)
            {
                var a = new Ptrs(px, pu, pz, pp, null, pdz, pdu, pdx);
                if (batch >= 16 && _store.Threads > 1) Parallel.For(0, batch, _store.ParallelOptions, b => BackwardItem(a, b));
                else for (int b = 0; b < batch; b++) BackwardItem(a, b);
            }
        }
        for (int h = 0; h < _heads; h++)
        {
            Gemm.Multiply(false, false, batch, dh, d, 1f, _du.AsSpan(h * d), hd, w[(h * dh)..], 2 * d, 0f, dq[(h * dh)..], d, _store.Threads);
            Gemm.Multiply(true, false, d, dh, batch, 1f, _du.AsSpan(h * d), hd, q[(h * dh)..], d, 1f, dw[(h * dh)..], 2 * d, _store.Threads);
        }
    }

    private readonly unsafe struct NarrowPtrs(float* q, float* x, byte* mask, float* w, float* bias, float* wkT, float* wvT, float* u,
                                              float* z, float* p, float* o, float* dO, float* dz, float* du, float* dq, float* dx, float* dw)
    {
        public readonly float* Q = q, X = x, W = w, Bias = bias, WkT = wkT, WvT = wvT, U = u, Z = z, P = p, O = o, DO = dO, Dz = dz,
            Du = du, Dq = dq, Dx = dx, Dw = dw;
        public readonly byte* Mask = mask;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fmadd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => FusedKernels.Fmadd(a, b, c);

    /// <summary>Transposes the K (<paramref name="half"/> 0) or V (1) half of the [D, 2D] K/V weight into [D, D].</summary>
    private void Transpose(ReadOnlySpan<float> w, int half, float[] target)
    {
        int d = _d;
        for (int e = 0; e < d; e++)
            for (int i = 0; i < d; i++) target[i * d + e] = w[e * 2 * d + half * d + i];
    }

    private unsafe void NarrowForward(ReadOnlySpan<float> q, ReadOnlySpan<float> x, ReadOnlySpan<byte> keyMask, int batch, Linear kv, Span<float> o)
    {
        Transpose(kv.Weights, 0, _wkT);
        fixed (float* pq = q, px = x, pw = kv.Weights, pb = kv.Bias, pwk = _wkT, pu = _u, pz = _z, pp = _p, po = o)
        fixed (byte* pm = keyMask)
        {
            var a = new NarrowPtrs(pq, px, pm, pw, pb, pwk, null, pu, pz, pp, po, null, null, null, null, null, null);
            if (batch >= 16 && _store.Threads > 1) Parallel.For(0, batch, _store.ParallelOptions, b => NarrowForwardItem(a, b));
            else for (int b = 0; b < batch; b++) NarrowForwardItem(a, b);
        }
    }

    /// <summary>One item, every head: u_h, scores, softmax, z_h and o_h (bias included), all in Vector256 steps of 8.</summary>
    private unsafe void NarrowForwardItem(in NarrowPtrs a, int b)
    {
        const int dh = 8;
        int d = _d, s = _s, heads = _heads, lanes = d / 8;
        float scale = 1f / MathF.Sqrt(dh);
        float* q = a.Q + (long)b * d, x = a.X + (long)b * s * d, o = a.O + (long)b * d;
        byte* mask = a.Mask + (long)b * s;
        for (int h = 0; h < heads; h++)
        {
            float* u = a.U + ((long)b * heads + h) * d, z = a.Z + ((long)b * heads + h) * d, p = a.P + ((long)b * heads + h) * s;
            float* wk = a.WkT + h * dh * d;
            // u_h[e] = Σ_c q_{h,c}·W_k[e, h·8+c]
            for (int v = 0; v < lanes; v++)
            {
                Vector256<float> acc = Vector256<float>.Zero;
                for (int c = 0; c < dh; c++) acc = Fmadd(Vector256.Create(q[h * dh + c]), Vector256.Load(wk + c * d + v * 8), acc);
                acc.Store(u + v * 8);
            }
            float max = float.NegativeInfinity;
            for (int j = 0; j < s; j++)
            {
                if (mask[j] == 0)
                {
                    p[j] = float.NegativeInfinity;
                    continue;
                }
                float* xj = x + j * d;
                Vector256<float> acc = Vector256<float>.Zero;
                for (int v = 0; v < lanes; v++) acc = Fmadd(Vector256.Load(xj + v * 8), Vector256.Load(u + v * 8), acc);
                float sc = Vector256.Sum(acc) * scale;
                p[j] = sc;
                if (sc > max) max = sc;
            }
            float sum = 0;
            for (int j = 0; j < s; j++)
            {
                float e = mask[j] == 0 ? 0f : MathF.Exp(p[j] - max);
                p[j] = e;
                sum += e;
            }
            float inv = 1f / sum;
            for (int j = 0; j < s; j++) p[j] *= inv;
            for (int v = 0; v < lanes; v++)
            {
                Vector256<float> acc = Vector256<float>.Zero;
                for (int j = 0; j < s; j++)
                    if (p[j] != 0) acc = Fmadd(Vector256.Create(p[j]), Vector256.Load(x + j * d + v * 8), acc);
                acc.Store(z + v * 8);
            }
            // o_h = b_{v,h} + Σ_e z_h[e]·W_v[e, h·8..h·8+8]
            Vector256<float> oh = Vector256.Load(a.Bias + d + h * dh);
            for (int e = 0; e < d; e++) oh = Fmadd(Vector256.Create(z[e]), Vector256.Load(a.W + (long)e * 2 * d + d + h * dh), oh);
            oh.Store(o + h * dh);
        }
    }

    private unsafe void NarrowBackward(ReadOnlySpan<float> q, ReadOnlySpan<float> x, ReadOnlySpan<float> dO, int batch, Linear kv,
                                       Span<float> dq, Span<float> dx)
    {
        Transpose(kv.Weights, 1, _wvT);
        fixed (float* pq = q, px = x, pw = kv.Weights, pwv = _wvT, pu = _u, pz = _z, pp = _p, pdo = dO, pdz = _dz, pdu = _du,
               pdq = dq, pdx = dx, pdw = kv.WeightGradients)
        {
            var a = new NarrowPtrs(pq, px, null, pw, null, null, pwv, pu, pz, pp, null, pdo, pdz, pdu, pdq, pdx, pdw);
            bool parallel = batch >= 16 && _store.Threads > 1;
            if (parallel) Parallel.For(0, batch, _store.ParallelOptions, b => NarrowBackwardItem(a, b));
            else for (int b = 0; b < batch; b++) NarrowBackwardItem(a, b);
            // Weight gradients: head h owns columns h·8.. of both halves; items summed in order.
            if (parallel) Parallel.For(0, _heads, _store.ParallelOptions, h => NarrowWeightGradients(a, batch, h));
            else for (int h = 0; h < _heads; h++) NarrowWeightGradients(a, batch, h);
        }
    }

    /// <summary>One item, every head: dz_h = W_v,h·dO_h, dp, ds, dx_j (added), du_h and dq_h (overwritten).</summary>
    private unsafe void NarrowBackwardItem(in NarrowPtrs a, int b)
    {
        const int dh = 8;
        int d = _d, s = _s, heads = _heads, lanes = d / 8;
        float scale = 1f / MathF.Sqrt(dh);
        float* x = a.X + (long)b * s * d, dO = a.DO + (long)b * d, dx = a.Dx + (long)b * s * d, dq = a.Dq + (long)b * d;
        float* dp = stackalloc float[s];
        for (int h = 0; h < heads; h++)
        {
            long at = ((long)b * heads + h) * d;
            float* u = a.U + at, dz = a.Dz + at, du = a.Du + at, p = a.P + ((long)b * heads + h) * s;
            float* wv = a.WvT + h * dh * d;
            // dz_h[e] = Σ_c dO_{h,c}·W_v[e, h·8+c]
            for (int v = 0; v < lanes; v++)
            {
                Vector256<float> acc = Vector256<float>.Zero;
                for (int c = 0; c < dh; c++) acc = Fmadd(Vector256.Create(dO[h * dh + c]), Vector256.Load(wv + c * d + v * 8), acc);
                acc.Store(dz + v * 8);
            }
            float dot = 0;
            for (int j = 0; j < s; j++)
            {
                if (p[j] == 0)
                {
                    dp[j] = 0;
                    continue;
                }
                float* xj = x + j * d, dxj = dx + j * d;
                Vector256<float> acc = Vector256<float>.Zero, pj = Vector256.Create(p[j]);
                for (int v = 0; v < lanes; v++)
                {
                    Vector256<float> dzv = Vector256.Load(dz + v * 8);
                    acc = Fmadd(dzv, Vector256.Load(xj + v * 8), acc);
                    Fmadd(dzv, pj, Vector256.Load(dxj + v * 8)).Store(dxj + v * 8);
                }
                dp[j] = Vector256.Sum(acc);
                dot += p[j] * dp[j];
            }
            for (int v = 0; v < lanes; v++) Vector256<float>.Zero.Store(du + v * 8);
            for (int j = 0; j < s; j++)
            {
                if (p[j] == 0) continue;
                var g = Vector256.Create(p[j] * (dp[j] - dot) * scale);
                float* xj = x + j * d, dxj = dx + j * d;
                for (int v = 0; v < lanes; v++)
                {
                    Fmadd(Vector256.Load(xj + v * 8), g, Vector256.Load(du + v * 8)).Store(du + v * 8);
                    Fmadd(Vector256.Load(u + v * 8), g, Vector256.Load(dxj + v * 8)).Store(dxj + v * 8);
                }
            }
            // dq_h = Σ_e du_h[e]·W_k[e, h·8..h·8+8]
            Vector256<float> dqh = Vector256<float>.Zero;
            for (int e = 0; e < d; e++) dqh = Fmadd(Vector256.Create(du[e]), Vector256.Load(a.W + (long)e * 2 * d + h * dh), dqh);
            dqh.Store(dq + h * dh);
        }
    }

    /// <summary>dW_v[e, h·8..] += Σ_b z_{b,h}[e]·dO_{b,h} and dW_k[e, h·8..] += Σ_b du_{b,h}[e]·q_{b,h}, items in order.</summary>
    private unsafe void NarrowWeightGradients(in NarrowPtrs a, int batch, int h)
    {
        const int dh = 8;
        int d = _d, heads = _heads;
        float* dwk = a.Dw + h * dh, dwv = a.Dw + d + h * dh;
        for (int b = 0; b < batch; b++)
        {
            var dOh = Vector256.Load(a.DO + (long)b * d + h * dh);
            var qh = Vector256.Load(a.Q + (long)b * d + h * dh);
            float* z = a.Z + ((long)b * heads + h) * d, du = a.Du + ((long)b * heads + h) * d;
            for (int e = 0; e < d; e++)
            {
                long row = (long)e * 2 * d;
                Fmadd(Vector256.Create(z[e]), dOh, Vector256.Load(dwv + row)).Store(dwv + row);
                Fmadd(Vector256.Create(du[e]), qh, Vector256.Load(dwk + row)).Store(dwk + row);
            }
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
