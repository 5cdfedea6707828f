using System.Numerics.Tensors;

namespace PinnerSage.ItemSage.Model;

/// <summary>Row-wise L2 normalisation y = x/‖x‖ (‖x‖ floored at 1e-12) with its backward
/// dx = (dy − y·(y·dy))/‖x‖. Shapes [rows, dim]; the cache is the norm per row.</summary>
internal static class L2Normalize
{
    private const float MinNorm = 1e-12f;

    public static void Forward(ReadOnlySpan<float> x, int rows, int dim, Span<float> norms, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
        {
            float n = MathF.Max(TensorPrimitives.Norm(x.Slice(r * dim, dim)), MinNorm);
            norms[r] = n;
            TensorPrimitives.Divide(x.Slice(r * dim, dim), n, y.Slice(r * dim, dim));
        }
    }

    /// <summary>dx may not alias dy.</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> norms, ReadOnlySpan<float> dy, int rows, int dim, Span<float> dx)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> yr = y.Slice(r * dim, dim), dyr = dy.Slice(r * dim, dim);
            Span<float> dxr = dx.Slice(r * dim, dim);
            float proj = TensorPrimitives.Dot(yr, dyr);
            TensorPrimitives.Multiply(yr, -proj, dxr);
            TensorPrimitives.Add(dxr, dyr, dxr);
            TensorPrimitives.Divide(dxr, norms[r], dxr);
        }
    }
}
