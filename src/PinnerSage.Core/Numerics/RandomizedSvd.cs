using System.Diagnostics;
using System.Numerics.Tensors;

namespace PinnerSage.Numerics;

/// <summary>Truncated SVD of a sparse matrix by randomised subspace iteration.</summary>
/// <remarks>
/// <para>Halko, Martinsson &amp; Tropp, "Finding structure with randomness", SIAM Review 53(2), 2011: Alg. 4.4
/// (randomised subspace iteration) for the range, then Alg. 5.1 (direct SVD of the small projected matrix). With
/// l = k + oversampling columns: Ω ~ N(0, 1)^{n×l}; Y = AΩ, Q = orth(Y); q times: Q = orth(A·orth(AᵀQ)); then
/// B = QᵀA (l × n) and A ≈ Q·B.</para>
/// <para>(our choices) orth is modified Gram–Schmidt run twice ("twice is enough": Giraud, Langou &amp; Rozložník 2005)
/// on column-major blocks, so each projection is one vectorised dot and one multiply–add over n; a column that
/// vanishes (rank of A below l) becomes zero and stays zero. The SVD of B comes from the symmetric eigenproblem of
/// B·Bᵀ = Qᵀ·A·Aᵀ·Q (l × l) solved by cyclic Jacobi (Golub &amp; Van Loan, Matrix Computations, 4th ed., §8.5.3):
/// σ_i = √λ_i, U = Q·W. Squaring costs relative accuracy ε·σ₁²/σ_i², negligible in double for the leading k. Sparse
/// products are A·X with X row-major (each non-zero is a multiply–add of a row of X). Signs: each singular vector's
/// largest-magnitude entry is made positive, so results do not depend on rounding noise. Cost: (2q + 2)·nnz·l for the
/// products, (2q + 2)·2·n·l² for the orthogonalisations, O(l³) for Jacobi; memory 3·n·l doubles.</para>
/// </remarks>
internal static class RandomizedSvd
{
    /// <summary>The leading <paramref name="k"/> left singular vectors (n × k row-major, n = a.Rows) and singular values
    /// (descending) of <paramref name="a"/>; <paramref name="aTranspose"/> must be its transpose.</summary>
    public static (double[] U, double[] Sigma) Compute(SparseMatrix a, SparseMatrix aTranspose, int k, int oversampling,
                                                       int powerIterations, ulong seed)
    {
        int n = a.Rows, m = a.ColumnCount;
        int l = Math.Min(k + oversampling, Math.Min(n, m));
        l = Math.Max(l, Math.Min(k, Math.Min(n, m)));
        var rowMajorN = new double[(long)n * l];
        var rowMajorM = new double[(long)m * l];
        var q = new double[(long)n * l];   // column-major n × l
        var z = new double[(long)m * l];   // column-major m × l

        var random = new SplitMix64(seed);
        for (int i = 0; i < rowMajorM.Length; i += 2) // Box–Muller: two standard normals per pair of uniforms
        {
            double r = Math.Sqrt(-2 * Math.Log(random.NextDoubleNonZero())), theta = 2 * Math.PI * random.NextDoubleNonZero();
            rowMajorM[i] = r * Math.Cos(theta);
            if (i + 1 < rowMajorM.Length) rowMajorM[i + 1] = r * Math.Sin(theta);
        }
        a.MultiplyDense(rowMajorM, l, rowMajorN);
        ToColumnMajor(rowMajorN, n, l, q);
        Orthonormalize(q, n, l);
        for (int it = 0; it < powerIterations; it++)
        {
            ToRowMajor(q, n, l, rowMajorN);
            aTranspose.MultiplyDense(rowMajorN, l, rowMajorM);
            ToColumnMajor(rowMajorM, m, l, z);
            Orthonormalize(z, m, l);
            ToRowMajor(z, m, l, rowMajorM);
            a.MultiplyDense(rowMajorM, l, rowMajorN);
            ToColumnMajor(rowMajorN, n, l, q);
            Orthonormalize(q, n, l);
        }
        // Bᵀ = AᵀQ (m × l), G = B·Bᵀ = (Bᵀ)ᵀ(Bᵀ).
        ToRowMajor(q, n, l, rowMajorN);
        aTranspose.MultiplyDense(rowMajorN, l, rowMajorM);
        ToColumnMajor(rowMajorM, m, l, z);
        var g = new double[l * l];
        for (int i = 0; i < l; i++)
            for (int j = i; j < l; j++)
                g[i * l + j] = g[j * l + i] = TensorPrimitives.Dot<double>(z.AsSpan(i * m, m), z.AsSpan(j * m, m));
        var w = new double[l * l];
        var lambda = new double[l];
        JacobiEigen(g, l, lambda, w);
        int[] order = Enumerable.Range(0, l).OrderByDescending(i => lambda[i]).ThenBy(i => i).ToArray();
        int kk = Math.Min(k, l);
        var sigma = new double[k];
        var u = new double[(long)n * k];
        var column = new double[n];
        for (int c = 0; c < kk; c++)
        {
            int e = order[c];
            sigma[c] = Math.Sqrt(Math.Max(0, lambda[e]));
            column.AsSpan().Clear();
            for (int j = 0; j < l; j++)
                TensorPrimitives.MultiplyAdd(q.AsSpan(j * n, n), w[j * l + e], column, column);
            int arg = TensorPrimitives.IndexOfMaxMagnitude<double>(column);
            double sign = arg >= 0 && column[arg] < 0 ? -1 : 1;
            for (int i = 0; i < n; i++) u[(long)i * k + c] = sign * column[i];
        }
        return (u, sigma);
    }

    private static void ToColumnMajor(ReadOnlySpan<double> rowMajor, int rows, int cols, Span<double> columnMajor)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                columnMajor[c * rows + r] = rowMajor[r * cols + c];
    }

    private static void ToRowMajor(ReadOnlySpan<double> columnMajor, int rows, int cols, Span<double> rowMajor)
    {
        for (int c = 0; c < cols; c++)
            for (int r = 0; r < rows; r++)
                rowMajor[r * cols + c] = columnMajor[c * rows + r];
    }

    /// <summary>Modified Gram–Schmidt, two passes, over the <paramref name="cols"/> columns (each <paramref name="rows"/>
    /// long, contiguous). A column whose norm falls below 1e-10 of its norm before projection is linearly dependent on
    /// the previous ones (to rounding) and is set to zero.</summary>
    internal static void Orthonormalize(Span<double> columns, int rows, int cols)
    {
        for (int c = 0; c < cols; c++)
        {
            Span<double> v = columns.Slice(c * rows, rows);
            double before = TensorPrimitives.Norm<double>(v);
            for (int pass = 0; pass < 2; pass++)
                for (int j = 0; j < c; j++)
                {
                    ReadOnlySpan<double> qj = columns.Slice(j * rows, rows);
                    double r = TensorPrimitives.Dot(qj, v);
                    if (r != 0) TensorPrimitives.MultiplyAdd(qj, -r, v, v);
                }
            double norm = TensorPrimitives.Norm<double>(v);
            if (!(norm > 1e-10 * before)) v.Clear();
            else TensorPrimitives.Multiply(v, 1 / norm, v);
        }
    }

    /// <summary>Eigen-decomposition of the symmetric <paramref name="n"/> × <paramref name="n"/> matrix
    /// <paramref name="a"/> (destroyed) by cyclic Jacobi rotations: <paramref name="eigenvalues"/>[i] with eigenvector
    /// column i of <paramref name="vectors"/> (row-major). Stops when the off-diagonal mass is below 1e-15 of the total
    /// (quadratic convergence: a handful of sweeps) or after 100 sweeps.</summary>
    internal static void JacobiEigen(Span<double> a, int n, Span<double> eigenvalues, Span<double> vectors)
    {
        Debug.Assert(a.Length >= n * n && vectors.Length >= n * n && eigenvalues.Length >= n);
        vectors[..(n * n)].Clear();
        for (int i = 0; i < n; i++) vectors[i * n + i] = 1;
        double total = TensorPrimitives.SumOfSquares<double>(a[..(n * n)]);
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++)
                for (int r = p + 1; r < n; r++) off += 2 * a[p * n + r] * a[p * n + r];
            if (!(off > 1e-30 * total)) break;
            for (int p = 0; p < n - 1; p++)
                for (int r = p + 1; r < n; r++)
                {
                    double apr = a[p * n + r];
                    if (apr == 0) continue;
                    // Golub & Van Loan Alg. 8.5.1 (symmetric Schur): c, s zeroing a_pr.
                    double tau = (a[r * n + r] - a[p * n + p]) / (2 * apr);
                    double t = (tau >= 0 ? 1 : -1) / (Math.Abs(tau) + Math.Sqrt(1 + tau * tau));
                    double c = 1 / Math.Sqrt(1 + t * t), s = t * c;
                    for (int i = 0; i < n; i++) // A ← A·J (columns p, r)
                    {
                        double aip = a[i * n + p], air = a[i * n + r];
                        a[i * n + p] = c * aip - s * air;
                        a[i * n + r] = s * aip + c * air;
                    }
                    for (int j = 0; j < n; j++) // A ← Jᵀ·A (rows p, r)
                    {
                        double apj = a[p * n + j], arj = a[r * n + j];
                        a[p * n + j] = c * apj - s * arj;
                        a[r * n + j] = s * apj + c * arj;
                    }
                    for (int i = 0; i < n; i++) // V ← V·J
                    {
                        double vip = vectors[i * n + p], vir = vectors[i * n + r];
                        vectors[i * n + p] = c * vip - s * vir;
                        vectors[i * n + r] = s * vip + c * vir;
                    }
                }
        }
        for (int i = 0; i < n; i++) eigenvalues[i] = a[i * n + i];
    }
}
