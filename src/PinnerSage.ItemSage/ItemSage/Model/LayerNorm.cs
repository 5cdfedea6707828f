using System.Numerics.Tensors;

namespace PinnerSage.ItemSage.Model;

/// <summary>Layer normalisation over the last dimension (Ba, Kiros &amp; Hinton 2016): for each row x [Dim],
/// y = (x − μ)·r·g + β with r = 1/√(σ² + ε), σ² the biased variance, ε = 1e-5.</summary>
/// <remarks>Backward with x̂ = (x − μ)·r and dx̂ = dy∘g: dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂∘x̂)); dg += Σ dy∘x̂,
/// dβ += Σ dy. The cache is μ and r per row; x̂ is recomputed from x (one cheap pass instead of a [rows, Dim] buffer).
/// The variance is the two-pass form (centre, then sum squares), which is accurate in float for rows of large mean.
/// Rows run in parallel in fixed chunks of <see cref="ChunkRows"/>; backward sums dg, dβ per chunk and then adds the
/// chunk partials in chunk order, so results do not depend on the thread count.</remarks>
internal sealed class LayerNorm
{
    private const float Epsilon = 1e-5f;
    private const int ChunkRows = 64;
    private readonly ParameterStore _s;
    private readonly int _g, _b;
    private float[] _partials = [];

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

    /// <summary>x, y [rows, Dim]; x must stay unchanged until Backward (x̂ is recomputed from it); mean, rstd [rows] are
    /// the cache.</summary>
    public unsafe void Forward(ReadOnlySpan<float> x, int rows, Span<float> y, Span<float> mean, Span<float> rstd)
    {
        int chunks = (rows + ChunkRows - 1) / ChunkRows;
        fixed (float* px = x, py = y, pm = mean, pr = rstd)
        {
            var a = new Ptrs(px, py, pm, pr, null, null, null, rows);
            if (chunks > 1 && _s.Threads > 1)
                Parallel.For(0, chunks, _s.ParallelOptions, c => ForwardChunk(a, c));
            else
                for (int c = 0; c < chunks; c++) ForwardChunk(a, c);
        }
    }

    /// <summary>dx [rows, Dim] is written (added to when <paramref name="accumulate"/>); dx must not alias dy.</summary>
    public unsafe void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
                                ReadOnlySpan<float> dy, int rows, Span<float> dx, bool accumulate)
    {
        int chunks = (rows + ChunkRows - 1) / ChunkRows;
        // Per chunk: partial dg, partial dβ, and two rows of scratch (x̂, dx̂).
        if (_partials.Length < chunks * 4 * Dim) _partials = new float[chunks * 4 * Dim];
        fixed (float* px = x, pm = mean, pr = rstd, pdy = dy, pdx = dx, pp = _partials)
        {
            var a = new Ptrs(px, null, pm, pr, pdy, pdx, pp, rows);
            if (chunks > 1 && _s.Threads > 1)
                Parallel.For(0, chunks, _s.ParallelOptions,
                             c => BackwardChunk(a, c, accumulate));
            else
                for (int c = 0; c < chunks; c++) BackwardChunk(a, c, accumulate);
        }
        Span<float> dg = _s.G(_g, Dim), db = _s.G(_b, Dim);
        for (int c = 0; c < chunks; c++)
        {
            TensorPrimitives.Add(dg, _partials.AsSpan(c * 4 * Dim, Dim), dg);
            TensorPrimitives.Add(db, _partials.AsSpan(c * 4 * Dim + Dim, Dim), db);
        }
    }

    private readonly unsafe struct Ptrs(float* x, float* y, float* mean, float* rstd, float* dy, float* dx, float* partials, int rows)
    {
        public readonly float* X = x, Y = y, Mean = mean, Rstd = rstd, Dy = dy, Dx = dx, Partials = partials;
        public readonly int Rows = rows;
    }

    private unsafe void ForwardChunk(in Ptrs a, int chunk)
    {
        ReadOnlySpan<float> g = _s.P(_g, Dim), b = _s.P(_b, Dim);
        int end = Math.Min(a.Rows, (chunk + 1) * ChunkRows);
        for (int r = chunk * ChunkRows; r < end; r++)
        {
            var xr = new ReadOnlySpan<float>(a.X + (long)r * Dim, Dim);
            var yr = new Span<float>(a.Y + (long)r * Dim, Dim);
            float mu = TensorPrimitives.Sum(xr) / Dim;
            TensorPrimitives.Subtract(xr, mu, yr);
            float var = TensorPrimitives.Dot(yr, yr) / Dim;
            float rs = 1f / MathF.Sqrt(var + Epsilon);
            a.Mean[r] = mu;
            a.Rstd[r] = rs;
            TensorPrimitives.Multiply(yr, rs, yr);
            TensorPrimitives.FusedMultiplyAdd(yr, g, b, yr);
        }
    }

    private unsafe void BackwardChunk(in Ptrs a, int chunk, bool accumulate)
    {
        ReadOnlySpan<float> g = _s.P(_g, Dim);
        float* part = a.Partials + (long)chunk * 4 * Dim;
        var dg = new Span<float>(part, Dim);
        var db = new Span<float>(part + Dim, Dim);
        var xhat = new Span<float>(part + 2 * Dim, Dim);
        var dxhat = new Span<float>(part + 3 * Dim, Dim);
        dg.Clear();
        db.Clear();
        int end = Math.Min(a.Rows, (chunk + 1) * ChunkRows);
        for (int r = chunk * ChunkRows; r < end; r++)
        {
            var xr = new ReadOnlySpan<float>(a.X + (long)r * Dim, Dim);
            var dyr = new ReadOnlySpan<float>(a.Dy + (long)r * Dim, Dim);
            var dxr = new Span<float>(a.Dx + (long)r * Dim, Dim);
            float rs = a.Rstd[r];
            TensorPrimitives.Subtract(xr, a.Mean[r], xhat);
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
