using PinnerSage.Numerics;

namespace PinnerSage.Tests.Numerics;

/// <summary>The co-occurrence embedding's numeric pieces against plain loops: sparse × dense, transpose, Gram–Schmidt,
/// Jacobi eigen-decomposition, and the double squared distance at every length around the vector width.</summary>
public sealed class SparseMatrixTests
{
    private static SparseMatrix Random(int rows, int cols, double density, int seed, out double[,] dense)
    {
        var random = new Random(seed);
        dense = new double[rows, cols];
        var start = new int[rows + 1];
        var columns = new List<int>();
        var values = new List<double>();
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
                if (random.NextDouble() < density)
                {
                    dense[r, c] = random.NextDouble() * 2 - 1;
                    columns.Add(c);
                    values.Add(dense[r, c]);
                }
            start[r + 1] = columns.Count;
        }
        return new SparseMatrix(rows, cols, start, [.. columns], [.. values]);
    }

    [Fact]
    public void MultiplyDenseAndTransposeMatchPlainLoops()
    {
        for (int trial = 0; trial < 10; trial++)
        {
            int rows = 1 + trial * 3, cols = 2 + trial * 2, width = 1 + trial % 7;
            SparseMatrix a = Random(rows, cols, 0.3, trial, out double[,] dense);
            var random = new Random(trial + 100);
            double[] x = Enumerable.Range(0, cols * width).Select(_ => random.NextDouble()).ToArray();
            var y = new double[rows * width];
            a.MultiplyDense(x, width, y);
            for (int r = 0; r < rows; r++)
                for (int w = 0; w < width; w++)
                {
                    double expected = 0;
                    for (int c = 0; c < cols; c++) expected += dense[r, c] * x[c * width + w];
                    Assert.Equal(expected, y[r * width + w], 12);
                }
            SparseMatrix t = a.Transpose();
            Assert.Equal((cols, rows, a.NonZeros), (t.Rows, t.ColumnCount, t.NonZeros));
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) Assert.Equal(dense[r, c], t[c, r]);
        }
    }

    [Fact]
    public void GramSchmidtGivesOrthonormalColumnsAndZeroesDependentOnes()
    {
        const int n = 30, cols = 5;
        var random = new Random(2);
        double[] q = Enumerable.Range(0, n * cols).Select(_ => random.NextDouble() - 0.5).ToArray();
        for (int i = 0; i < n; i++) q[3 * n + i] = 2 * q[i] - q[n + i]; // column 3 depends on columns 0 and 1
        RandomizedSvd.Orthonormalize(q, n, cols);
        for (int a = 0; a < cols; a++)
            for (int b = 0; b < cols; b++)
            {
                double dot = Enumerable.Range(0, n).Sum(i => q[a * n + i] * q[b * n + i]);
                Assert.Equal(a == b && a != 3 ? 1.0 : 0.0, dot, 12);
            }
    }

    [Fact]
    public void JacobiReconstructsSymmetricMatrices()
    {
        foreach (int n in new[] { 1, 2, 5, 17 })
        {
            var random = new Random(n);
            var a = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = i; j < n; j++) a[i * n + j] = a[j * n + i] = random.NextDouble() * 2 - 1;
            double[] original = (double[])a.Clone();
            var lambda = new double[n];
            var v = new double[n * n];
            RandomizedSvd.JacobiEigen(a, n, lambda, v);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    // A = V·diag(λ)·Vᵀ and VᵀV = I.
                    Assert.Equal(original[i * n + j], Enumerable.Range(0, n).Sum(k => v[i * n + k] * lambda[k] * v[j * n + k]), 10);
                    Assert.Equal(i == j ? 1.0 : 0.0, Enumerable.Range(0, n).Sum(k => v[k * n + i] * v[k * n + j]), 10);
                }
        }
    }

    [Fact]
    public void DoubleSquaredDistanceMatchesScalarAtEveryLength()
    {
        var random = new Random(9);
        for (int length = 0; length <= 3 * 4 + 1; length++)
        {
            double[] a = Enumerable.Range(0, length).Select(_ => random.NextDouble() * 4 - 2).ToArray();
            double[] b = Enumerable.Range(0, length).Select(_ => random.NextDouble() * 4 - 2).ToArray();
            double expected = a.Zip(b, (x, y) => (x - y) * (x - y)).Sum();
            Assert.Equal(expected, PairwiseDistances.SquaredEuclidean(a, b), 12);
        }
    }
}
