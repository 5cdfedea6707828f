using PinnerSage.Retrieval;

namespace PinnerSage.Tests.Retrieval;

public sealed class MedoidSamplerTests
{
    private static int[] Sample(double[] weights, int e, ulong seed, MedoidSampling mode = MedoidSampling.ProportionalToImportance)
    {
        var picked = new int[weights.Length];
        int n = MedoidSampler.Sample(weights, e, mode, seed, new double[weights.Length], picked);
        return picked[..n];
    }

    [Fact]
    public void OneDrawIsProportionalToImportance()
    {
        double[] w = [5, 3, 1, 0.5, 0.5];
        const int draws = 40_000;
        var counts = new int[w.Length];
        for (int s = 0; s < draws; s++) counts[Sample(w, 1, (ulong)s * 7919)[0]]++;
        // Pearson chi-square, 4 degrees of freedom: P(χ² > 18.47) = 0.001.
        double chi = 0;
        for (int i = 0; i < w.Length; i++)
        {
            double expected = draws * w[i] / w.Sum();
            chi += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        Assert.True(chi < 18.47, $"chi-square {chi:F1}, counts {string.Join(",", counts)}");
    }

    [Fact]
    public void TwoDrawsWithoutReplacementMatchSuccessiveSampling()
    {
        double[] w = [4, 2, 1, 1];
        double total = w.Sum();
        // Exact inclusion probability of successive draws ∝ weight without replacement:
        // P(i in sample) = w_i/W + Σ_{j≠i} (w_j/W)·(w_i/(W − w_j)).
        double[] exact = w.Select((wi, i) => wi / total + w.Select((wj, j) => j == i ? 0 : wj / total * wi / (total - wj)).Sum()).ToArray();
        const int draws = 30_000;
        var counts = new int[w.Length];
        for (int s = 0; s < draws; s++)
        {
            int[] picked = Sample(w, 2, (ulong)s);
            Assert.Equal(2, picked.Distinct().Count()); // without replacement
            foreach (int i in picked) counts[i]++;
        }
        for (int i = 0; i < w.Length; i++)
        {
            double p = exact[i], sd = Math.Sqrt(p * (1 - p) / draws);
            Assert.InRange(counts[i] / (double)draws, p - 5 * sd, p + 5 * sd);
        }
    }

    [Fact]
    public void AllWhenFewTopWhenAskedAndOrderedByImportance()
    {
        Assert.Equal([1, 0, 2], Sample([2, 3, 1], 3, 99));
        Assert.Equal([1, 0, 2], Sample([2, 3, 1], 5, 99));
        Assert.Equal([3, 1, 0], Sample([2, 3, 1, 4, 0.5], 3, 99, MedoidSampling.TopImportance));
        Assert.Empty(Sample([], 3, 1));
        // Zero and NaN weights are taken only when nothing else is left.
        for (ulong s = 0; s < 50; s++) Assert.Equal([2, 0], Sample([1, 0, 2, double.NaN], 2, s).Order().Reverse());
        int[] all = Sample([0, 0, 0], 2, 5);
        Assert.Equal([0, 1], all);
        // Descending importance in the output whatever the draw.
        for (ulong s = 0; s < 50; s++)
        {
            double[] w = [1, 5, 2, 4, 3, 0.5];
            int[] p = Sample(w, 3, s);
            Assert.True(w[p[0]] >= w[p[1]] && w[p[1]] >= w[p[2]]);
        }
    }
}
