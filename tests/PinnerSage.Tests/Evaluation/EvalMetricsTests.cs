using PinnerSage.Evaluation;
using PinnerSage.Numerics;

namespace PinnerSage.Tests.Evaluation;

/// <summary>Every metric against small worked examples computed by hand (and diversity against the naive pairwise
/// mean, NDCG against scikit-learn).</summary>
public sealed class EvalMetricsTests
{
    // A unit table in 2-D: row i at angle θ_i.
    private static float[] Angles(params double[] degrees)
    {
        var unit = new float[degrees.Length * 2];
        for (int i = 0; i < degrees.Length; i++)
        {
            unit[2 * i] = (float)Math.Cos(degrees[i] * Math.PI / 180);
            unit[2 * i + 1] = (float)Math.Sin(degrees[i] * Math.PI / 180);
        }
        return unit;
    }

    [Fact]
    public void RelevanceCountsTestActionsWithACandidateAtCosineAboveThreshold()
    {
        // Rows: 0 at 0°, 1 at 30° (cos 0.866 to row 0), 2 at 40° (cos 0.766 to row 0), 3 at 90°, 4 at 85°.
        float[] unit = Angles(0, 30, 40, 90, 85);
        // Candidates {0}: test 1 → cos 0.866 ≥ 0.8 hit; test 2 → 0.766 miss; test 0 → itself hit; test −1 (no vector) miss.
        Assert.Equal(2, EvalMetrics.RelevanceHits(unit, 2, [1, 2, 0, -1], [0], 0.8f));
        // Candidates {0, 4}: test 3 (90°) has cos(5°) = 0.996 to row 4 → hit, counted for each of its two actions;
        // test 2 (40°) has cos 0.766 to row 0 and cos(45°) = 0.707 to row 4 → miss.
        Assert.Equal(2, EvalMetrics.RelevanceHits(unit, 2, [3, 3, 2], [0, 4], 0.8f));
        Assert.Equal(1, EvalMetrics.RelevanceHits(unit, 2, [2], [0], 0.75f));
    }

    [Fact]
    public void RecallCountsTestActionsFoundExactly()
    {
        Assert.Equal(2, EvalMetrics.RecallHits([5, 7, 5, -1, 9], [5, 1, 2]));
        Assert.Equal(0, EvalMetrics.RecallHits([], [5]));
    }

    [Fact]
    public void RPrecisionWorkedExample()
    {
        // Positives 0.9 and 0.5, negatives 0.8, 0.5, 0.4. Ranking (negatives first on ties):
        // 0.9 P, 0.8 N, 0.5 N, 0.5 P, 0.4 N. R = 2: the top 2 hold one positive → 1/2.
        Assert.Equal(0.5, EvalMetrics.RPrecision([0.9f, 0.5f], [0.8f, 0.5f, 0.4f]));
        // Both positives above every negative → 1; none in the top R → 0.
        Assert.Equal(1.0, EvalMetrics.RPrecision([0.7f, 0.95f], [0.6f, 0.1f]));
        Assert.Equal(0.0, EvalMetrics.RPrecision([0.1f], [0.6f, 0.2f]));
        // Three positives, one negative at 0.6: ranking 0.9 P, 0.6 N, 0.5 P, 0.3 P → top 3 hold 2 → 2/3.
        Assert.Equal(2.0 / 3, EvalMetrics.RPrecision([0.3f, 0.9f, 0.5f], [0.6f]), 12);
        // A positive without a vector scores −∞ and is ranked last.
        Assert.Equal(0.5, EvalMetrics.RPrecision([0.9f, float.NegativeInfinity], [0.1f]));
    }

    [Fact]
    public void ReciprocalRankWorkedExample()
    {
        // Best positive 0.3; negatives 0.9 and 0.3 (tie, ranked first) are above it → rank 3.
        Assert.Equal(1.0 / 3, EvalMetrics.ReciprocalRank([0.3f, 0.2f], [0.9f, 0.3f, 0.1f]), 12);
        Assert.Equal(1.0, EvalMetrics.ReciprocalRank([0.95f], [0.9f, 0.3f]));
        Assert.Equal(1.0 / 4, EvalMetrics.ReciprocalRank([float.NegativeInfinity], [0.9f, 0.3f, -0.5f]), 12);
    }

    [Fact]
    public void RecallAtKWorkedExample()
    {
        // Ranked 5, 3, 9, 1; relevant {3, 1} plus one item without a vector → 3 relevant in all.
        int[] ranked = [5, 3, 9, 1];
        Assert.Equal(1.0 / 3, EvalMetrics.RecallAtK(ranked, [3, 1], 3, 2), 12);
        Assert.Equal(2.0 / 3, EvalMetrics.RecallAtK(ranked, [3, 1], 3, 4), 12);
        Assert.Equal(2.0 / 3, EvalMetrics.RecallAtK(ranked, [3, 1], 3, 50), 12);
        Assert.Equal(0.0, EvalMetrics.RecallAtK(ranked, [7], 1, 4));
    }

    [Fact]
    public void NdcgWorkedExample()
    {
        // Ranked 5, 3, 9; relevant {3, 9}: DCG = 1/log2(3) + 1/log2(4); ideal = 1 + 1/log2(3).
        double expected = (1 / Math.Log2(3) + 0.5) / (1 + 1 / Math.Log2(3));
        Assert.Equal(expected, EvalMetrics.NdcgAtK([5, 3, 9], [3, 9], 2, 3), 12);
        Assert.Equal(0.6934264036172708, expected, 12);
        // Perfect ranking → 1; relevant only below k → 0.
        Assert.Equal(1.0, EvalMetrics.NdcgAtK([3, 9, 5], [3, 9], 2, 10), 12);
        Assert.Equal(0.0, EvalMetrics.NdcgAtK([5, 6, 3], [3], 1, 2));
        // An item without a vector raises the ideal: relevant {3} + 1 missing → ideal 1 + 1/log2(3), DCG 1.
        Assert.Equal(1 / (1 + 1 / Math.Log2(3)), EvalMetrics.NdcgAtK([3, 5], [3], 2, 10), 12);
    }

    [Fact]
    public void NdcgMatchesScikitLearn()
    {
        if (!TestData.RequirePython(null, "sklearn")) return;
        var rng = new SplitMix64(5);
        const int items = 30;
        var cases = new List<(int[] Ranked, int[] Relevant)>();
        for (int c = 0; c < 20; c++)
        {
            int[] perm = Enumerable.Range(0, items).OrderBy(_ => rng.Next()).ToArray();
            int[] relevant = perm.Take(1 + (int)(rng.Next() % 6)).OrderBy(_ => rng.Next()).ToArray();
            int[] ranked = Enumerable.Range(0, items).OrderBy(_ => rng.Next()).ToArray();
            cases.Add((ranked, relevant));
        }
        // sklearn scores: item at rank position p gets score items − p (no ties), relevance 1 for relevant items.
        string input = string.Join(";", cases.Select(c => string.Join(",", c.Ranked) + "|" + string.Join(",", c.Relevant)));
        const string script = """
            import sys
            from sklearn.metrics import ndcg_score
            out = []
            for case in sys.argv[1].split(';'):
                ranked, rel = case.split('|')
                ranked = [int(x) for x in ranked.split(',')]; rel = set(int(x) for x in rel.split(','))
                n = len(ranked); score = [0.0]*n; truth = [0.0]*n
                for p, item in enumerate(ranked): score[item] = float(n - p)
                for item in rel: truth[item] = 1.0
                out.append(repr(ndcg_score([truth], [score], k=10)))
            print(' '.join(out))
            """;
        (int exit, string stdout, string stderr) = TestData.RunPython(script, [input]);
        Assert.True(exit == 0, stderr);
        double[] expected = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                                  .Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        for (int c = 0; c < cases.Count; c++)
        {
            (int[] ranked, int[] relevant) = cases[c];
            Assert.Equal(expected[c], EvalMetrics.NdcgAtK(ranked, relevant, relevant.Length, 10), 10);
        }
    }

    [Fact]
    public void DiversityWorkedExampleAndNaivePairwiseMean()
    {
        // Rows at 0°, 90°, 45°: pair cosines 0, 0.7071, 0.7071 → mean 0.4714 → diversity 0.5286.
        float[] unit = Angles(0, 90, 45);
        var scratch = new float[2];
        Assert.Equal(1 - Math.Sqrt(0.5) * 2 / 3, EvalMetrics.Diversity(unit, 2, [0, 1, 2], scratch), 6);
        Assert.Equal(0.0, EvalMetrics.Diversity(unit, 2, [1], scratch));
        Assert.Equal(1.0, EvalMetrics.Diversity(unit, 2, [0, 1], scratch), 6);

        // Random unit vectors in 16-D: the O(n·d) formula equals the naive mean over pairs.
        var rng = new SplitMix64(11);
        const int n = 40, d = 16;
        var table = new float[n * d];
        for (int i = 0; i < table.Length; i++) table[i] = (float)(rng.NextDoubleNonZero() - 0.5);
        float[] units = VectorNorms.NormalizeRows(table, n, d);
        int[] rows = [.. Enumerable.Range(0, n)];
        double naive = 0;
        int pairs = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++, pairs++)
            {
                double dot = 0;
                for (int k = 0; k < d; k++) dot += units[i * d + k] * units[j * d + k];
                naive += dot;
            }
        }
        Assert.Equal(1 - naive / pairs, EvalMetrics.Diversity(units, d, rows, new float[d]), 5);
    }

    [Fact]
    public void MaxCosineIsTheBestQuery()
    {
        float[] unit = Angles(0, 60, 90);
        float[] queries = [.. unit.AsSpan(2, 2), .. unit.AsSpan(4, 2)]; // rows 1 and 2 as queries
        Assert.Equal(0.5f, EvalMetrics.MaxCosine(unit, 2, 0, queries, 2), 5);  // cos 60° beats cos 90°
        Assert.Equal(float.NegativeInfinity, EvalMetrics.MaxCosine(unit, 2, -1, queries, 2));
    }

    [Fact]
    public void BootstrapQuantilesAndIntervals()
    {
        // NumPy's linear interpolation: quantile 0.25 of 1, 2, 3, 4, 5 is 2; of 1, 2, 3, 4 is 1.75.
        Assert.Equal(2.0, Bootstrap.Quantile([1, 2, 3, 4, 5], 0.25), 12);
        Assert.Equal(1.75, Bootstrap.Quantile([1, 2, 3, 4], 0.25), 12);
        // Constant values resample to the same mean; a two-valued series' interval brackets its mean.
        double[] values = [.. Enumerable.Repeat(0.5, 100), .. Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? 0.0 : 1.0)];
        double[] means = Bootstrap.ResampleMeans(values, 2, 100, 500, 7);
        Assert.All(means.AsSpan(0, 500).ToArray(), m => Assert.Equal(0.5, m, 12));
        (double low, double high) = Bootstrap.Interval(means.AsSpan(500, 500).ToArray());
        Assert.InRange(low, 0.35, 0.49);
        Assert.InRange(high, 0.51, 0.65);
        // Standard error of a 0/1 mean over 100 users is 0.05: the 95 % interval is about ±0.1.
        Assert.InRange(high - low, 0.14, 0.26);
        Assert.Equal(means, Bootstrap.ResampleMeans(values, 2, 100, 500, 7));
    }
}
