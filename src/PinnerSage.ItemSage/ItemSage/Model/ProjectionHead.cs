namespace PinnerSage.ItemSage.Model;

/// <summary>The output head of ItemSage (§3.3): x [B, In] → (LayerNorm) → Linear(Hidden) → GELU → Linear(Out) →
/// L2 normalisation → y [B, Out]. The transformer uses the LayerNorm (the paper's head); the MLP-concat baseline
/// is the same stack without it.</summary>
internal sealed class ProjectionHead
{
    private readonly LayerNorm? _ln;
    private readonly Linear _l1, _l2;
    private int _capacity, _batch;
    private float[] _xn = [], _mean = [], _rstd = [], _h = [], _t = [], _g = [], _z = [], _norms = [], _y = [];
    private float[] _dz = [], _dg = [], _dxn = [];

    public ProjectionHead(ParameterStore store, int inDim, int hidden, int outDim, bool layerNorm)
    {
        In = inDim;
        Hidden = hidden;
        Out = outDim;
        _ln = layerNorm ? new LayerNorm(store, inDim) : null;
        _l1 = new Linear(store, inDim, hidden);
        _l2 = new Linear(store, hidden, outDim);
    }

    public int In { get; }

    public int Hidden { get; }

    public int Out { get; }

    public void Initialize(ParameterStore store)
    {
        _ln?.Initialize();
        _l1.Initialize(store.NextRandom());
        _l2.Initialize(store.NextRandom());
    }

    private void Ensure(int batch)
    {
        _batch = batch;
        if (batch <= _capacity) return;
        _capacity = batch;
        _xn = _ln is null ? [] : new float[batch * In];
        _mean = new float[batch];
        _rstd = new float[batch];
        _h = new float[batch * Hidden];
        _t = new float[batch * Hidden];
        _g = new float[batch * Hidden];
        _z = new float[batch * Out];
        _norms = new float[batch];
        _y = new float[batch * Out];
        _dz = new float[batch * Out];
        _dg = new float[batch * Hidden];
        _dxn = _ln is null ? [] : new float[batch * In];
    }

    /// <summary>x [B, In] must stay unchanged until Backward.</summary>
    public void Forward(ReadOnlySpan<float> x, int batch, Span<float> output)
    {
        Ensure(batch);
        ReadOnlySpan<float> input = x;
        if (_ln is not null)
        {
            _ln.Forward(x, batch, _xn, _mean, _rstd);
            input = _xn;
        }
        _l1.Forward(input, batch, _h);
        Gelu.Forward(_h.AsSpan(0, batch * Hidden), _t, _g);
        _l2.Forward(_g, batch, _z);
        L2Normalize.Forward(_z, batch, Out, _norms, _y);
        _y.AsSpan(0, batch * Out).CopyTo(output);
    }

    /// <summary>dOutput [B, Out] → dx [B, In] (overwritten).</summary>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dOutput, Span<float> dx)
    {
        int batch = _batch;
        L2Normalize.Backward(_y, _norms, dOutput, batch, Out, _dz);
        Span<float> dg = _dg.AsSpan(0, batch * Hidden);
        _l2.Backward(_g, _dz, batch, dg);
        Gelu.Backward(_h.AsSpan(0, batch * Hidden), _t, dg, dg);
        if (_ln is null)
        {
            _l1.Backward(x, dg, batch, dx);
            return;
        }
        _l1.Backward(_xn, dg, batch, _dxn);
        _ln.Backward(x, _mean, _rstd, _dxn, batch, dx, accumulate: false);
    }
}
