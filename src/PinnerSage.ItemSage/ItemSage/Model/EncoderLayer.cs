using System.Numerics.Tensors;

namespace PinnerSage.ItemSage.Model;

/// <summary>One pre-norm transformer encoder layer (Vaswani et al. 2017 §3.1 with the pre-LN placement of
/// Xiong et al., ICML 2020): h = x + Dropout(MHA(LN₁(x))), y = h + Dropout(W₂·GELU(W₁·LN₂(h))).</summary>
/// <remarks>
/// Pre-norm (our choice): the residual stream is never normalised, so gradients reach the inputs without passing
/// through a LayerNorm per layer and training is stable with a short warm-up; the head's LayerNorm then acts as the
/// final norm of pre-LN transformers.
/// Shapes: x [B, S, D]; the first Sq positions are queries (Sq = S, or 1 in the last layer, where only [CLS] feeds the
/// head — exact, because no other output of the last layer is used; it cuts the FFN and the query projections by a
/// factor S, and its attention runs as <see cref="ClsAttention"/>, which never projects the S keys and values); y [B, Sq, D].
/// keyMask [B, S]. Buffers are sized once per batch size and reused.
/// </remarks>
internal sealed class EncoderLayer
{
    private readonly ParameterStore _store;
    private readonly LayerNorm _ln1, _ln2;
    private readonly Linear _wq, _wkv, _wo, _w1, _w2;
    private readonly int _d, _f, _heads, _s, _sq, _index;
    private readonly float _dropout;
    private readonly ClsAttention? _single;
    private int _batch = -1;
    private int _capacity;
    private float[] _mean1 = [], _rstd1 = [], _xn = [], _xq = [], _q = [], _kv = [], _p = [], _att = [], _a = [];
    private float[] _h = [], _mean2 = [], _rstd2 = [], _hn = [], _f1 = [], _t = [], _g = [], _f2 = [];
    private float[] _dh = [], _dtmp = [], _dg = [], _dq = [], _dkv = [], _dxn = [], _dxq = [];
    private bool _training;
    private ulong _seed;

    public EncoderLayer(ParameterStore store, int index, int d, int heads, int ffn, int s, int sq, float dropout)
    {
        _store = store;
        _index = index;
        _d = d;
        _f = ffn;
        _heads = heads;
        _s = s;
        _sq = sq;
        _dropout = dropout;
        _ln1 = new LayerNorm(store, d);
        _wq = new Linear(store, d, d);
        _wkv = new Linear(store, d, 2 * d);
        _wo = new Linear(store, d, d);
        _ln2 = new LayerNorm(store, d);
        _w1 = new Linear(store, d, ffn);
        _w2 = new Linear(store, ffn, d);
        _single = sq == 1 ? new ClsAttention(store, d, heads, s) : null;
    }

    public int QueryPositions => _sq;

    public void Initialize(ParameterStore store)
    {
        _ln1.Initialize();
        _ln2.Initialize();
        _wq.Initialize(store.NextRandom());
        _wkv.Initialize(store.NextRandom());
        _wo.Initialize(store.NextRandom());
        _w1.Initialize(store.NextRandom());
        _w2.Initialize(store.NextRandom());
    }

    private void Ensure(int batch)
    {
        _batch = batch;
        if (batch <= _capacity) return;
        _capacity = batch;
        int n = batch * _s, nq = batch * _sq, d = _d;
        _mean1 = new float[n];
        _rstd1 = new float[n];
        _xn = new float[n * d];
        _xq = _sq == _s ? [] : new float[nq * d];
        _q = new float[nq * d];
        _kv = _single is null ? new float[n * 2 * d] : [];
        _p = _single is null ? new float[nq * _heads * _s] : [];
        _att = new float[nq * d];
        _a = new float[nq * d];
        _h = new float[nq * d];
        _mean2 = new float[nq];
        _rstd2 = new float[nq];
        _hn = new float[nq * d];
        _f1 = new float[nq * _f];
        _t = new float[nq * _f];
        _g = new float[nq * _f];
        _f2 = new float[nq * d];
        _dh = new float[nq * d];
        _dtmp = new float[nq * d];
        _dg = new float[nq * _f];
        _dq = new float[nq * d];
        _dkv = _single is null ? new float[n * 2 * d] : [];
        _dxn = new float[n * d];
        _dxq = _sq == _s ? [] : new float[nq * d];
    }

    /// <summary>x [B, S, D] (kept by the caller until Backward) → y [B, Sq, D].</summary>
    public void Forward(ReadOnlySpan<float> x, ReadOnlySpan<byte> keyMask, int batch, Span<float> y, bool training, ulong seed)
    {
        Ensure(batch);
        _training = training && _dropout > 0;
        _seed = seed;
        int n = batch * _s, nq = batch * _sq, d = _d;
        _ln1.Forward(x, n, _xn, _mean1, _rstd1);
        ReadOnlySpan<float> xq = QueryRows(_xn, batch, _xq);
        _wq.Forward(xq, nq, _q);
        if (_single is not null)
        {
            _single.Forward(_q, _xn, keyMask, batch, _wkv, _att);
        }
        else
        {
            _wkv.Forward(_xn, n, _kv);
            MultiHeadAttention.Forward(_q, _kv, keyMask, batch, _sq, _s, d, _heads, _p, _att, _store.ParallelOptions);
        }
        _wo.Forward(_att, nq, _a);
        if (_training) Dropout.Apply(_a.AsSpan(0, nq * d), _dropout, seed, (ulong)(2 * _index));
        Span<float> h = _h.AsSpan(0, nq * d);
        if (_sq == _s) TensorPrimitives.Add(x[..(nq * d)], _a.AsSpan(0, nq * d), h);
        else
            for (int b = 0; b < batch; b++)
                TensorPrimitives.Add(x.Slice(b * _s * d, _sq * d), _a.AsSpan(b * _sq * d, _sq * d), h.Slice(b * _sq * d, _sq * d));
        _ln2.Forward(h, nq, _hn, _mean2, _rstd2);
        _w1.Forward(_hn, nq, _f1);
        Gelu.Forward(_f1.AsSpan(0, nq * _f), _t, _g);
        _w2.Forward(_g, nq, _f2);
        if (_training) Dropout.Apply(_f2.AsSpan(0, nq * d), _dropout, seed, (ulong)(2 * _index + 1));
        TensorPrimitives.Add(h, _f2.AsSpan(0, nq * d), y[..(nq * d)]);
    }

    /// <summary>Gradients of the last Forward: dy [B, Sq, D] → dx [B, S, D] (overwritten); parameter gradients
    /// accumulate.</summary>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int batch = _batch, n = batch * _s, nq = batch * _sq, d = _d;
        Span<float> dh = _dh.AsSpan(0, nq * d);
        dy[..(nq * d)].CopyTo(dh);
        // FFN branch: y = h + Dropout(W₂·GELU(W₁·LN₂(h))).
        Span<float> df2 = _dtmp.AsSpan(0, nq * d);
        dy[..(nq * d)].CopyTo(df2);
        if (_training) Dropout.Apply(df2, _dropout, _seed, (ulong)(2 * _index + 1));
        Span<float> dg = _dg.AsSpan(0, nq * _f);
        _w2.Backward(_g, df2, nq, dg);
        Gelu.Backward(_f1.AsSpan(0, nq * _f), _t, dg, dg);
        Span<float> dhn = _dtmp.AsSpan(0, nq * d);
        _w1.Backward(_hn, dg, nq, dhn);
        _ln2.Backward(_h, _mean2, _rstd2, dhn, nq, dh, accumulate: true);
        // Attention branch: h = x_q + Dropout(W_o·MHA(W_q·LN₁(x)_q, W_kv·LN₁(x))).
        Span<float> da = _dtmp.AsSpan(0, nq * d);
        dh.CopyTo(da);
        if (_training) Dropout.Apply(da, _dropout, _seed, (ulong)(2 * _index));
        Span<float> datt = _dq.AsSpan(0, nq * d);
        _wo.Backward(_att, da, nq, datt);
        Span<float> dq = _dtmp.AsSpan(0, nq * d);
        Span<float> dxn = _dxn.AsSpan(0, n * d);
        if (_single is not null)
        {
            dxn.Clear();
            _single.Backward(_q, _xn, datt, batch, _wkv, dq, dxn);
        }
        else
        {
            MultiHeadAttention.Backward(_q, _kv, _p, datt, batch, _sq, _s, d, _heads, dq, _dkv, _store.ParallelOptions);
            _wkv.Backward(_xn, _dkv, n, dxn);
        }
        if (_sq == _s)
        {
            _wq.Backward(_xn, dq, nq, dxn, accumulate: true);
        }
        else
        {
            Span<float> dxq = _dxq.AsSpan(0, nq * d);
            _wq.Backward(_xq, dq, nq, dxq);
            for (int b = 0; b < batch; b++)
            {
                Span<float> rows = dxn.Slice(b * _s * d, _sq * d);
                TensorPrimitives.Add(rows, dxq.Slice(b * _sq * d, _sq * d), rows);
            }
        }
        _ln1.Backward(x, _mean1, _rstd1, dxn, n, dx, accumulate: false);
        // Residual: the query rows of x receive dh directly.
        for (int b = 0; b < batch; b++)
        {
            Span<float> rows = dx.Slice(b * _s * d, _sq * d);
            TensorPrimitives.Add(rows, dh.Slice(b * _sq * d, _sq * d), rows);
        }
    }

    private ReadOnlySpan<float> QueryRows(float[] xn, int batch, float[] xq)
    {
        if (_sq == _s) return xn;
        int d = _d;
        for (int b = 0; b < batch; b++) xn.AsSpan(b * _s * d, _sq * d).CopyTo(xq.AsSpan(b * _sq * d, _sq * d));
        return xq;
    }
}
