using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace PinnerSage.ItemSage.Model;

/// <summary>GELU in its tanh approximation (Hendrycks &amp; Gimpel 2016, eq. in §2; the form BERT and GPT-2 use):
/// y = ½x(1 + t), t = tanh(√(2/π)(x + 0.044715x³)).</summary>
/// <remarks>dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²). The cache is t (same shape as x), so backward
/// needs no second tanh. Each step is a TensorPrimitives pass (vectorised tanh).</remarks>
internal static class Gelu
{
    private const float C = 0.7978845608028654f; // √(2/π)
    private const float A = 0.044715f;

    /// <summary>y = GELU(x); <paramref name="t"/> receives the tanh cache. y may not alias x.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> t, Span<float> y)
    {
        t = t[..x.Length];
        y = y[..x.Length];
        // t = tanh(C·x·(1 + A·x²))
        TensorPrimitives.Multiply(x, x, t);
        TensorPrimitives.Multiply(t, A, t);
        TensorPrimitives.Add(t, 1f, t);
        TensorPrimitives.Multiply(t, x, t);
        TensorPrimitives.Multiply(t, C, t);
        TensorPrimitives.Tanh(t, t);
        // y = ½x(1 + t)
        TensorPrimitives.Add(t, 1f, y);
        TensorPrimitives.Multiply(y, x, y);
        TensorPrimitives.Multiply(y, 0.5f, y);
    }

    /// <summary>dx = dy ∘ GELU'(x) (dx may alias dy): one fused Vector256 pass, scalar tail.</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> t, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int i = 0, n = x.Length;
        if (Vector256.IsHardwareAccelerated)
        {
            var half = Vector256.Create(0.5f);
            var one = Vector256<float>.One;
            var c = Vector256.Create(C);
            var a3 = Vector256.Create(3 * A);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var xi = Vector256.Create(x[i..]);
                var ti = Vector256.Create(t[i..]);
                var d = half * (one + ti) + half * xi * (one - ti * ti) * c * (one + a3 * xi * xi);
                (Vector256.Create(dy[i..]) * d).CopyTo(dx[i..]);
            }
        }
        for (; i < n; i++)
        {
            float xi = x[i], ti = t[i];
            float d = 0.5f * (1 + ti) + 0.5f * xi * (1 - ti * ti) * C * (1 + 3 * A * xi * xi);
            dx[i] = dy[i] * d;
        }
    }
}
