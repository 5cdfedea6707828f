using System.Numerics.Tensors;

namespace PinnerSage.Numerics;

/// <summary>Projection of a few vectors onto their leading principal axes (PCA), for pictures of a user's items.</summary>
/// <remarks>
/// <para>Pearson 1901 / Hotelling 1933: the axes are the leading eigenvectors of the covariance C = XcᵀXc / n of the
/// centred rows Xc. They are found by orthogonal (subspace) iteration, Golub &amp; Van Loan, Matrix Computations, 4th ed.,
/// §8.2.4: V ← orth(Xcᵀ(Xc·V)), so C is never formed (cost n·d per product, not d²) — column 1 is the power method,
/// and each later column the power method deflated against the earlier ones by the Gram–Schmidt step
/// (<see cref="RandomizedSvd.Orthonormalize"/>).</para>
/// <para>(our choices) The start is a fixed pseudo-random Gaussian block (seeded: the same input gives the same picture);
/// the iteration stops when every column moved by less than 1e-12 in cosine, or after <see cref="MaxIterations"/>
/// (close eigenvalues converge slowly; the picture is then a mix of nearly equal axes, which is as informative).
/// Signs: each axis's largest-magnitude entry is made positive, as in <see cref="RandomizedSvd"/>. An axis beyond the
/// data's rank is zero, so its coordinates are 0. Cost: O(iterations · n · d · k); memory (n + 2d)·k doubles + n·d.</para>
/// </remarks>
public static class PrincipalComponents
{
    /// <summary>Iterations at most.</summary>
    public const int MaxIterations = 300;

    /// <summary>Writes the coordinates of each row of <paramref name="rows"/> on the data's leading
    /// <paramref name="components"/> principal axes to <paramref name="destination"/> (row-major n × components, row i =
    /// the i-th input row's coordinates, axis 1 first).</summary>
    /// <param name="rows">n vectors of <paramref name="dimension"/> floats, contiguous (row i = Slice(i·d, d)).</param>
    /// <param name="dimension">d, the length of each row.</param>
    /// <param name="components">k, the axes wanted (1 ≤ k ≤ d).</param>
    /// <param name="destination">At least n·k floats.</param>
    /// <returns>n, the number of rows projected.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> or <paramref name="components"/> out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is not a whole number of rows, holds a non-finite value,
    /// or <paramref name="destination"/> is too short.</exception>
    public static int Project(ReadOnlySpan<float> rows, int dimension, int components, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(components);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(components, dimension);
        if (rows.Length % dimension != 0) throw new ArgumentException($"{rows.Length} values are not whole rows of {dimension}.", nameof(rows));
        int n = rows.Length / dimension, d = dimension, k = components;
        if (destination.Length < (long)n * k) throw new ArgumentException($"needs {(long)n * k} floats, has {destination.Length}.", nameof(destination));
        if (rows.IndexOfAnyExceptInRange(float.MinValue, float.MaxValue) >= 0)
            throw new ArgumentException("a row holds a non-finite value.", nameof(rows));
        if (n == 0) return 0;

        // Xc in double: the covariance's small eigenvalues need more than float's 7 digits after centring.
        var centred = new double[n * d];
        var mean = new double[d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) mean[j] += rows[i * d + j];
        TensorPrimitives.Multiply(mean, 1.0 / n, mean);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) centred[i * d + j] = rows[i * d + j] - mean[j];

        var axes = new double[k * d];   // column-major d × k: axis c = Slice(c·d, d)
        var next = new double[k * d];
        var scores = new double[n];     // Xc·v for one column
        var random = new SplitMix64(0x5043_4150_524F_4A31UL);
        for (int i = 0; i < axes.Length; i++) // Box–Muller, one normal per pair (simple; the start only needs to be generic)
            axes[i] = Math.Sqrt(-2 * Math.Log(random.NextDoubleNonZero())) * Math.Cos(2 * Math.PI * random.NextDoubleNonZero());
        RandomizedSvd.Orthonormalize(axes, d, k);

        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            for (int c = 0; c < k; c++) CovarianceTimes(centred, n, d, axes.AsSpan(c * d, d), scores, next.AsSpan(c * d, d));
            RandomizedSvd.Orthonormalize(next, d, k);
            bool converged = true;
            for (int c = 0; c < k; c++)
            {
                double cosine = Math.Abs(TensorPrimitives.Dot<double>(axes.AsSpan(c * d, d), next.AsSpan(c * d, d)));
                bool zero = TensorPrimitives.SumOfSquares<double>(next.AsSpan(c * d, d)) == 0;
                if (!zero && 1 - cosine > 1e-12) converged = false;
            }
            (axes, next) = (next, axes);
            if (converged) break;
        }

        for (int c = 0; c < k; c++)
        {
            Span<double> axis = axes.AsSpan(c * d, d);
            if (axis[TensorPrimitives.IndexOfMaxMagnitude<double>(axis)] < 0) TensorPrimitives.Negate<double>(axis, axis);
            for (int i = 0; i < n; i++)
                destination[i * k + c] = (float)TensorPrimitives.Dot<double>(centred.AsSpan(i * d, d), axis);
        }
        return n;
    }

    /// <summary>destination = Xcᵀ(Xc·v) (n·C·v, the scale is irrelevant to the iteration).</summary>
    private static void CovarianceTimes(double[] centred, int n, int d, ReadOnlySpan<double> v, double[] scores, Span<double> destination)
    {
        for (int i = 0; i < n; i++) scores[i] = TensorPrimitives.Dot<double>(centred.AsSpan(i * d, d), v);
        destination.Clear();
        for (int i = 0; i < n; i++) TensorPrimitives.MultiplyAdd(centred.AsSpan(i * d, d), scores[i], destination, destination);
    }
}
