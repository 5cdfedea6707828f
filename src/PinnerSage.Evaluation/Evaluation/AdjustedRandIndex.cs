using System.Buffers;

namespace PinnerSage.Evaluation;

/// <summary>Adjusted Rand index between two partitions of the same n elements.</summary>
/// <remarks>
/// Hubert &amp; Arabie, "Comparing partitions", Journal of Classification 2 (1985), pp. 193–218, eq. (5): with the
/// contingency table n_ij, row sums a_i, column sums b_j and C(x) = x(x−1)/2,
/// ARI = (Σ C(n_ij) − Σ C(a_i)·Σ C(b_j)/C(n)) / (½(Σ C(a_i) + Σ C(b_j)) − Σ C(a_i)·Σ C(b_j)/C(n)).
/// 1 for identical partitions, 0 in expectation for independent random labelings, negative below chance.
/// When the denominator is 0 both partitions are trivial and identical (all in one cluster, or all singletons, or
/// n &lt; 2) and the result is 1, as in scikit-learn. Labels are arbitrary integers (their values only name groups).
/// Cost: O(n log n) (three sorts), O(n) scratch from the shared array pool.
/// </remarks>
public static class AdjustedRandIndex
{
    /// <summary>ARI between partition <paramref name="labelsA"/> and partition <paramref name="labelsB"/>
    /// (element i is in group labelsA[i] of the first and labelsB[i] of the second).</summary>
    /// <exception cref="ArgumentException">The two label spans differ in length.</exception>
    public static double Compute(ReadOnlySpan<int> labelsA, ReadOnlySpan<int> labelsB)
    {
        if (labelsA.Length != labelsB.Length)
            throw new ArgumentException($"Both labelings must have the same length ({labelsA.Length} ≠ {labelsB.Length}).", nameof(labelsB));
        int n = labelsA.Length;
        if (n < 2) return 1.0;

        long[] rented = ArrayPool<long>.Shared.Rent(3 * n);
        try
        {
            Span<long> pairs = rented.AsSpan(0, n), a = rented.AsSpan(n, n), b = rented.AsSpan(2 * n, n);
            for (int i = 0; i < n; i++)
            {
                pairs[i] = ((long)labelsA[i] << 32) | (uint)labelsB[i];
                a[i] = labelsA[i];
                b[i] = labelsB[i];
            }
            double index = SumPairsOfRuns(pairs), sumA = SumPairsOfRuns(a), sumB = SumPairsOfRuns(b);
            double expected = sumA * sumB / Pairs(n);
            double max = 0.5 * (sumA + sumB);
            double denominator = max - expected;
            return denominator == 0 ? 1.0 : (index - expected) / denominator;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(rented);
        }
    }

    /// <summary>Sorts <paramref name="keys"/> and returns Σ C(run length) over runs of equal keys.</summary>
    private static double SumPairsOfRuns(Span<long> keys)
    {
        keys.Sort();
        double sum = 0;
        int runStart = 0;
        for (int i = 1; i <= keys.Length; i++)
        {
            if (i < keys.Length && keys[i] == keys[runStart]) continue;
            sum += Pairs(i - runStart);
            runStart = i;
        }
        return sum;
    }

    private static double Pairs(long x) => x * (x - 1) / 2.0;
}
