using System.Numerics.Tensors;
using PinnerSage.Numerics;

namespace PinnerSage.ItemSage.Model;

/// <summary>Affine layer y = x·W + b over rows: x [rows, In], W [In, Out] (row-major, so the forward product needs
/// no transpose), b [Out], y [rows, Out].</summary>
/// <remarks>Backward: dW += xᵀ·dy, db += Σ_rows dy, dx = dy·Wᵀ (or += when accumulating). All three products run on
/// <see cref="Gemm"/>. Initialisation: W as the store's <see cref="LinearInitialization"/> says (orthogonal by
/// default), zero b (our choice).</remarks>
internal sealed class Linear
{
    private readonly ParameterStore _s;
    private readonly int _w, _b;

    public Linear(ParameterStore store, int inDim, int outDim)
    {
        _s = store;
        In = inDim;
        Out = outDim;
        _w = store.Reserve(inDim * outDim);
        _b = store.Reserve(outDim, decay: false);
    }

    public int In { get; }

    public int Out { get; }

    /// <summary>W [In, Out] row-major.</summary>
    public Span<float> Weights => _s.P(_w, In * Out);

    public Span<float> WeightGradients => _s.G(_w, In * Out);

    public Span<float> Bias => _s.P(_b, Out);

    public Span<float> BiasGradients => _s.G(_b, Out);

    public void Initialize(SplitRandom random)
    {
        Span<float> w = _s.P(_w, In * Out);
        if (_s.Initialization == LinearInitialization.Orthogonal)
        {
            FillOrthogonal(w, In, Out, random);
        }
        else
        {
            float limit = MathF.Sqrt(6f / (In + Out));
            for (int i = 0; i < w.Length; i++) w[i] = (float)((2 * random.NextDouble() - 1) * limit);
        }
        _s.P(_b, Out).Clear();
    }

    /// <summary>w [rows, cols] row-major ← a random semi-orthogonal matrix: orthonormal columns when rows ≥ cols,
    /// orthonormal rows otherwise (Saxe et al., ICLR 2014).</summary>
    /// <remarks>Modified Gram–Schmidt over min(rows, cols) Gaussian vectors of length max(rows, cols), in double and
    /// with a second orthogonalisation pass ("twice is enough": Giraud, Langou &amp; Rozložník 2005), so WᵀW or WWᵀ is
    /// the identity to float rounding. Gaussian vectors make the result Haar-distributed. Cost Θ(max·min²) once per
    /// layer: under a second for the paper's 512 × 2048 feed-forward weight.</remarks>
    internal static void FillOrthogonal(Span<float> w, int rows, int cols, SplitRandom random)
    {
        int m = Math.Max(rows, cols), k = Math.Min(rows, cols);
        var q = new double[(long)k * m];
        for (int c = 0; c < k; c++)
        {
            Span<double> v = q.AsSpan(c * m, m);
            for (int i = 0; i < m; i++) v[i] = random.NextGaussian();
            for (int pass = 0; pass < 2; pass++)
            {
                for (int p = 0; p < c; p++)
                {
                    ReadOnlySpan<double> u = q.AsSpan(p * m, m);
                    TensorPrimitives.MultiplyAdd(u, -TensorPrimitives.Dot(v, u), v, v);
                }
            }
            TensorPrimitives.Divide(v, Math.Sqrt(TensorPrimitives.Dot(v, v)), v);
        }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                w[i * cols + j] = (float)(rows >= cols ? q[j * m + i] : q[i * m + j]);
    }

    public void Forward(ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        ReadOnlySpan<float> bias = _s.P(_b, Out);
        for (int r = 0; r < rows; r++) bias.CopyTo(y.Slice(r * Out, Out));
        Gemm.Multiply(false, false, rows, Out, In, 1f, x, In, _s.P(_w, In * Out), Out, 1f, y, Out, _s.Threads);
    }

    /// <summary>Accumulates dW, db; writes dx (adds to it when <paramref name="accumulate"/>); an empty
    /// <paramref name="dx"/> skips the input gradient.</summary>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int rows, Span<float> dx, bool accumulate = false)
    {
        if (rows == 0)
        {
            if (!accumulate && !dx.IsEmpty) dx.Clear();
            return;
        }
        Gemm.Multiply(true, false, In, Out, rows, 1f, x, In, dy, Out, 1f, _s.G(_w, In * Out), Out, _s.Threads);
        Span<float> db = _s.G(_b, Out);
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dy.Slice(r * Out, Out), db);
        if (!dx.IsEmpty)
            Gemm.Multiply(false, true, rows, In, Out, 1f, dy, Out, _s.P(_w, In * Out), Out, accumulate ? 1f : 0f, dx, In, _s.Threads);
    }
}
