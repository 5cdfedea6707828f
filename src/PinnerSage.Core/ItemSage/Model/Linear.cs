using System.Numerics.Tensors;
using PinnerSage.Numerics;
using PinnerSage.Synthetic;

namespace PinnerSage.ItemSage.Model;

/// <summary>Affine layer y = x·W + b over rows: x [rows, In], W [In, Out] (row-major, so the forward product needs
/// no transpose), b [Out], y [rows, Out].</summary>
/// <remarks>Backward: dW += xᵀ·dy, db += Σ_rows dy, dx = dy·Wᵀ (or += when accumulating). All three products run on
/// <see cref="Gemm"/>. Initialisation: Glorot-uniform W (Glorot &amp; Bengio 2010), zero b (our choice).</remarks>
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
        float limit = MathF.Sqrt(6f / (In + Out));
        Span<float> w = _s.P(_w, In * Out);
        for (int i = 0; i < w.Length; i++) w[i] = (float)((2 * random.NextDouble() - 1) * limit);
        _s.P(_b, Out).Clear();
    }

    public void Forward(ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        ReadOnlySpan<float> bias = _s.P(_b, Out);
        for (int r = 0; r < rows; r++) bias.CopyTo(y.Slice(r * Out, Out));
        Gemm.Multiply(false, false, rows, Out, In, 1f, x, In, _s.P(_w, In * Out), Out, 1f, y, Out);
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
        Gemm.Multiply(true, false, In, Out, rows, 1f, x, In, dy, Out, 1f, _s.G(_w, In * Out), Out);
        Span<float> db = _s.G(_b, Out);
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dy.Slice(r * Out, Out), db);
        if (!dx.IsEmpty)
            Gemm.Multiply(false, true, rows, In, Out, 1f, dy, Out, _s.P(_w, In * Out), Out, accumulate ? 1f : 0f, dx, In);
    }
}
