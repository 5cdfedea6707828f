using System.Numerics.Tensors;

namespace PinnerSage.Numerics;

/// <summary>L2 norms and L2 normalisation of float vectors, the one implementation behind embedding loading
/// (<c>--normalize</c>, <c>embeddings info</c>) and the synthetic world's unit vectors.</summary>
/// <remarks>The fast path is <see cref="TensorPrimitives.Norm{T}(ReadOnlySpan{T})"/> in float; only when that under- or
/// overflows (or the row is zero or non-finite) is the sum of squares redone in double (our choice: exact enough for
/// reporting, robust for extreme rows, and no slower for ordinary ones).</remarks>
internal static class VectorNorms
{
    /// <summary>‖<paramref name="v"/>‖₂, in double.</summary>
    public static double L2(ReadOnlySpan<float> v)
    {
        float n = TensorPrimitives.Norm(v);
        if (n > 0 && float.IsFinite(n)) return n;
        double sum = 0;
        foreach (float x in v) sum += (double)x * x;
        return Math.Sqrt(sum);
    }

    /// <summary><paramref name="destination"/> = <paramref name="source"/> / ‖<paramref name="source"/>‖₂ (may be the
    /// same span); a zero vector is copied unchanged.</summary>
    public static void Normalize(ReadOnlySpan<float> source, Span<float> destination)
    {
        double norm = L2(source);
        if (norm == 0) source.CopyTo(destination);
        else if (norm >= 1e-30 && norm <= 1e30) TensorPrimitives.Divide(source, (float)norm, destination);
        else
        {
            // The norm itself is not a normal float here: divide in double so tiny or huge rows still come out unit.
            for (int j = 0; j < source.Length; j++) destination[j] = (float)(source[j] / norm);
        }
    }

    /// <summary>A copy of the <paramref name="rows"/> × <paramref name="cols"/> matrix with every row normalised.</summary>
    public static float[] NormalizeRows(ReadOnlySpan<float> matrix, int rows, int cols)
    {
        var unit = new float[matrix.Length];
        for (int i = 0; i < rows; i++) Normalize(matrix.Slice(i * cols, cols), unit.AsSpan(i * cols, cols));
        return unit;
    }
}
