using FsCheck;
using FsCheck.Fluent;
using PinnerSage.Clustering;

namespace PinnerSage.Tests.Clustering;

/// <summary>NN-chain Ward against the independent O(n³) recomputing Ward (<see cref="NaiveWard"/>), property-based.</summary>
public sealed class WardNaiveTests
{
    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(150);

    [Fact]
    public void HeightsAndCutPartitionsMatchNaiveWard()
    {
        Gen<(int N, int D, int Seed, int Duplicates)> inputs =
            from n in Gen.Choose(1, 40)
            from d in Gen.Choose(1, 9)
            from seed in Gen.Choose(0, int.MaxValue)
            from duplicates in Gen.Choose(0, 3)
            select (n, d, seed, duplicates);
        Check.One(Runs, Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            float[] x = ClusteringTestData.Vectors(input.N, input.D, input.Seed, duplicates: input.Duplicates * 0.15);
            CompareWithNaive(x, input.N, input.D, multiplicity: null);
        }));
    }

    [Fact]
    public void LargerInputsThatCompactTheMatrixMatchNaiveWard()
    {
        // n ≥ 64 exercises the chain's in-place compaction of removed slots (NnChain.CompactMinimum).
        Gen<(int N, int Seed, int Duplicates)> inputs =
            from n in Gen.Choose(64, 160)
            from seed in Gen.Choose(0, int.MaxValue)
            from duplicates in Gen.Choose(0, 2)
            select (n, seed, duplicates);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(12), Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            float[] x = ClusteringTestData.Vectors(input.N, 3, input.Seed, duplicates: input.Duplicates * 0.2);
            CompareWithNaive(x, input.N, 3, input.Duplicates == 2 ? ClusteringTestData.Multiplicities(input.N, input.Seed, 3) : null);
        }));
    }

    [Fact]
    public void MultiplicitiesEqualClusteringTheDuplicates()
    {
        Gen<(int N, int D, int Seed, int Max)> inputs =
            from n in Gen.Choose(1, 25)
            from d in Gen.Choose(1, 6)
            from seed in Gen.Choose(0, int.MaxValue)
            from max in Gen.Choose(1, 5)
            select (n, d, seed, max);
        Check.One(Runs, Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            float[] x = ClusteringTestData.Vectors(input.N, input.D, input.Seed, duplicates: 0.1);
            int[] m = ClusteringTestData.Multiplicities(input.N, input.Seed, input.Max);
            CompareWithNaive(x, input.N, input.D, m);
        }));
    }

    /// <summary>Sorted Ward heights equal the naive ones (with k − 1 extra zeros per item of multiplicity k), and the
    /// cut with singletons kept gives the naive partition at every level between two distinct heights.</summary>
    private static void CompareWithNaive(float[] x, int n, int d, int[]? multiplicity)
    {
        int[] m = multiplicity ?? Enumerable.Repeat(1, n).ToArray();
        var points = new List<double[]>();
        var itemOfPoint = new List<int>();
        for (int i = 0; i < n; i++)
            for (int c = 0; c < m[i]; c++)
            {
                points.Add(x.AsSpan(i * d, d).ToArray().Select(v => (double)v).ToArray());
                itemOfPoint.Add(i);
            }
        NaiveWard.Result naive = NaiveWard.Run(points.ToArray());
        WardDendrogram ours = WardClustering.Linkage(x, d, m);

        double[] expected = naive.Heights.OrderBy(h => h).ToArray();
        double[] actual = ours.Merges.Select(s => s.Distance).Concat(Enumerable.Repeat(0.0, points.Count - n))
                              .OrderBy(h => h).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Length == 0 ? 1 : Math.Max(1e-300, expected[^1]);
        for (int k = 0; k < expected.Length; k++)
            ClusteringTestData.AssertClose(expected[k], actual[k], 1e-9, 1e-12 * scale, $"height {k} of {expected.Length}");

        // Cut levels strictly between distinct heights (well separated, so rounding cannot move a merge across α).
        var levels = new List<double> { 0.5 * (expected.Length > 0 ? expected[0] : 1) };
        for (int k = 0; k + 1 < expected.Length; k++)
            if (expected[k + 1] - expected[k] > 1e-6 * scale) levels.Add(0.5 * (expected[k] + expected[k + 1]));
        if (expected.Length > 0) levels.Add(expected[^1] * 2 + 1);
        foreach (double alpha in levels)
        {
            // Naive partition over points, mapped to items (an item's duplicates share a cluster once α ≥ 0).
            List<int[]> naiveItems = NaiveWard.Partition(points.Count, naive.Sets, alpha)
                .Select(p => p.Select(q => itemOfPoint[q]).Distinct().OrderBy(i => i).ToArray())
                .OrderBy(p => p[0]).ToList();
            List<int[]> ourItems = ClusteringTestData.Partition(ours.Cut(alpha, keepSingletons: true).Labels);
            Assert.True(ClusteringTestData.Show(naiveItems) == ClusteringTestData.Show(ourItems),
                        $"α = {alpha}: naive {ClusteringTestData.Show(naiveItems)} vs ours {ClusteringTestData.Show(ourItems)}");
        }
    }
}
