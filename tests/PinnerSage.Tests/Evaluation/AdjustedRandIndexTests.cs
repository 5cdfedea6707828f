using FsCheck;
using FsCheck.Fluent;
using PinnerSage.Evaluation;

namespace PinnerSage.Tests.Evaluation;

public sealed class AdjustedRandIndexTests
{
    /// <summary>Independent reference: the pair-counting form of the ARI (each of the n(n−1)/2 pairs is "together" or
    /// not in each partition; Hubert &amp; Arabie 1985 via Steinley 2004, eq. 4):
    /// ARI = 2(n00·n11 − n01·n10) / ((n00+n01)(n01+n11) + (n00+n10)(n10+n11)).</summary>
    private static double NaivePairCounting(int[] a, int[] b)
    {
        double n11 = 0, n10 = 0, n01 = 0, n00 = 0;
        for (int i = 0; i < a.Length; i++)
            for (int j = i + 1; j < a.Length; j++)
            {
                bool sameA = a[i] == a[j], sameB = b[i] == b[j];
                if (sameA && sameB) n11++;
                else if (sameA) n10++;
                else if (sameB) n01++;
                else n00++;
            }
        double denominator = (n00 + n01) * (n01 + n11) + (n00 + n10) * (n10 + n11);
        return denominator == 0 ? 1.0 : 2 * (n00 * n11 - n01 * n10) / denominator;
    }

    [Fact]
    public void MatchesNaivePairCountingOnRandomLabelings()
    {
        Gen<(int[] A, int[] B)> labelings =
            from n in Gen.Choose(0, 60)
            from ka in Gen.Choose(1, 8)
            from kb in Gen.Choose(1, 8)
            from a in Gen.ArrayOf(Gen.Choose(-1, ka), n)
            from b in Gen.ArrayOf(Gen.Choose(-1, kb), n)
            select (a, b);
        Prop.ForAll(Arb.From(labelings), p =>
                Math.Abs(AdjustedRandIndex.Compute(p.A, p.B) - NaivePairCounting(p.A, p.B)) < 1e-12)
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void IdenticalPartitionsUnderRenamingScoreOne()
    {
        Gen<int[]> labels = from n in Gen.Choose(0, 50) from a in Gen.ArrayOf(Gen.Choose(0, 6), n) select a;
        Prop.ForAll(Arb.From(labels), a =>
            {
                int[] renamed = a.Select(x => 1000 - 7 * x).ToArray();
                return AdjustedRandIndex.Compute(a, a) == 1.0 && Math.Abs(AdjustedRandIndex.Compute(a, renamed) - 1.0) < 1e-12;
            })
            .QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(new[] { 0, 0, 1, 1 }, new[] { 0, 0, 1, 2 }, 4.0 / 7.0)]  // index 1, expected 1/3, max 3/2
    [InlineData(new[] { 0, 0, 1, 1 }, new[] { 1, 1, 0, 0 }, 1.0)]
    [InlineData(new[] { 0, 0, 0, 0 }, new[] { 0, 1, 2, 3 }, 0.0)]        // one cluster vs all singletons
    [InlineData(new[] { 0, 0, 1, 1 }, new[] { 0, 1, 0, 1 }, -0.5)]       // index 0, expected 2/3, max 2
    [InlineData(new[] { 5, 5, 5 }, new[] { 9, 9, 9 }, 1.0)]              // both trivial and identical
    [InlineData(new[] { 1, 2, 3 }, new[] { 3, 1, 2 }, 1.0)]              // both all singletons
    [InlineData(new[] { 4 }, new[] { 7 }, 1.0)]                          // n < 2
    public void HandComputedCases(int[] a, int[] b, double expected)
    {
        Assert.Equal(expected, AdjustedRandIndex.Compute(a, b), 12);
        Assert.Equal(expected, AdjustedRandIndex.Compute(b, a), 12);
    }

    [Fact]
    public void IndependentRandomLabelingsScoreNearZero()
    {
        var random = new Random(7);
        double sum = 0;
        const int trials = 200;
        for (int t = 0; t < trials; t++)
        {
            int[] a = Enumerable.Range(0, 200).Select(_ => random.Next(5)).ToArray();
            int[] b = Enumerable.Range(0, 200).Select(_ => random.Next(5)).ToArray();
            sum += AdjustedRandIndex.Compute(a, b);
        }
        Assert.InRange(sum / trials, -0.01, 0.01);
    }

    [Fact]
    public void RejectsDifferentLengths() =>
        Assert.Throws<ArgumentException>(() => AdjustedRandIndex.Compute([0, 1], [0]));
}
