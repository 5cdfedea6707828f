using System.Numerics.Tensors;

namespace PinnerSage.ItemSage.Model;

/// <summary>Layer normalisation over the last dimension (Ba, Kiros &amp; Hinton 2016): for each row x [Dim],
/// y = (x − μ)·r·g + β with r = 1/√(σ² + ε), σ² the biased variance, ε = 1e-5.</summary>
/// <remarks>Backward with x̂ = (x − μ)·r and dx̂ = dy∘g: dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂∘x̂)); dg += Σ dy∘x̂,
/// dβ += Σ dy. The cache is μ and r per row; x̂ is recomputed from x (one cheap pass instead of a [rows, Dim] buffer).
/// The variance is the two-pass form (centre, then sum squares), which is accurate in float for rows of large mean.</remarks>
internal sealed class LayerNorm
{
    private const float Epsilon = 1e-5f;
    private readonly ParameterStore _s;
    private readonly int _g, _b;

    public LayerNorm(ParameterStore store, int dim)
    {
        _s = store;
        Dim = dim;
        _g = store.Reserve(dim, decay: false);
        _b = store.Reserve(dim, decay: false);
    }

    public int Dim { get; }

    public void Initialize()
    {
        _s.P(_g, Dim).Fill(1f);
        _s.P(_b, Dim).Clear();
    }

    /// <summary>x, y [rows, Dim]; x must stay unchanged until Backward (x̂ is recomputed from it); mean, rstd [rows] are the cache.</summary>
    public void Forward(ReadOnlySpan<float> x, int rows, Span<float> y, Span<float> mean, Span<float> rstd)
    {
        ReadOnlySpan<float> g = _s.P(_g, Dim), b = _s.P(_b, Dim);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * Dim, Dim);
            Span<float> yr = y.Slice(r * Dim, Dim);
            // Two passes (mean, then squares of the centred values), so a large common offset costs no precision.
            float mu = TensorPrimitives.Sum(xr) / Dim;
            TensorPrimitives.Subtract(xr, mu, yr);
            float var = TensorPrimitives.Dot(yr, yr) / Dim;
            float rs = 1f / MathF.Sqrt(var + Epsilon);
            mean[r] = mu;
            rstd[r] = rs;
            TensorPrimitives.Multiply(yr, rs, yr);
            TensorPrimitives.FusedMultiplyAdd(yr, g, b, yr);
        }
    }

    /// <summary>dx [rows, Dim] is written (added to when <paramref name="accumulate"/>); dx must not alias dy.
    /// <paramref name="scratch"/> needs 2·Dim floats.</summary>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
                         ReadOnlySpan<float> dy, int rows, Span<float> dx, bool accumulate, Span<float> scratch)
    {
        ReadOnlySpan<float> g = _s.P(_g, Dim);
        Span<float> dg = _s.G(_g, Dim), db = _s.G(_b, Dim);
        Span<float> xhat = scratch[..Dim], dxhat = scratch.Slice(Dim, Dim);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * Dim, Dim), dyr = dy.Slice(r * Dim, Dim);
            Span<float> dxr = dx.Slice(r * Dim, Dim);
            float rs = rstd[r];
            TensorPrimitives.Subtract(xr, mean[r], xhat);
            TensorPrimitives.Multiply(xhat, rs, xhat);
            TensorPrimitives.FusedMultiplyAdd(dyr, xhat, dg, dg);
            TensorPrimitives.Add(db, dyr, db);
            TensorPrimitives.Multiply(dyr, g, dxhat);
            float meanD = TensorPrimitives.Sum(dxhat) / Dim;
            float meanDx = TensorPrimitives.Dot(dxhat, xhat) / Dim;
            // dx = rs·(dx̂ − meanD − x̂·meanDx), built in xhat's buffer.
            TensorPrimitives.Multiply(xhat, -meanDx, xhat);
            TensorPrimitives.Add(xhat, dxhat, xhat);
            TensorPrimitives.Subtract(xhat, meanD, xhat);
            if (accumulate) TensorPrimitives.FusedMultiplyAdd(xhat, rs, dxr, dxr);
            else TensorPrimitives.Multiply(xhat, rs, dxr);
        }
    }
}
