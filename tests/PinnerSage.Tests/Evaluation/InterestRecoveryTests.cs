using PinnerSage.Evaluation;
using PinnerSage.Profiles;
using PinnerSage.Synthetic;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Evaluation;

/// <summary>Acceptance (issue 2): on the synthetic world the clusters recover the ground-truth interests.</summary>
/// <remarks>
/// Why the floors hold (see bench/results/alpha-sweep.md for the full sweep):
/// the generator puts items of one topic at squared distance ≈ 2 − 2/(1+0.7²) ≈ 0.66, items of sibling topics (same
/// family) at ≈ 1.2 and unrelated items at ≈ 2 (unit vectors). Ward's merge cost between two groups of sizes a, b is
/// 2ab/(a+b)·‖c_a − c_b‖², so within a topic merges stay near 0.66·(sizes) while merges across topics grow with the
/// group sizes; a cut at α ≈ 2.5 separates topics except for a few sibling pairs and small interests, and heavy users'
/// repeatedly engaged items (Ward size = number of actions) split an interest now and then. The sweep measures a mean
/// ARI of 0.78 at α = 2.5 on 5,000 users (per-user ARI has a standard deviation ≈ 0.25, so the mean over the ≈ 330
/// scored users here has a standard error ≈ 0.014): the floor 0.70 is > 5 standard errors below it, and far above
/// the shuffled-label baseline (≈ 0, the same clusters with members permuted: no information).
/// </remarks>
public sealed class InterestRecoveryTests(ITestOutputHelper output)
{
    /// <summary>The α the sweep recommends for unit-norm embeddings with per-action Ward sizes.</summary>
    private const double RecommendedAlpha = 2.5;

    private static readonly SyntheticWorld World = SyntheticWorld.Create(new SyntheticWorldOptions { Users = 500, Seed = 2026 });

    private RecoverySummary Evaluate(double alpha)
    {
        UserRecovery[][] results = InterestRecovery.EvaluateWorld(World, [new ProfileOptions { Alpha = alpha }], World.EndTime);
        RecoverySummary s = InterestRecovery.Summarize(results[0]);
        output.WriteLine($"α = {alpha}: mean ARI {s.MeanAri:F3} (median {s.MedianAri:F3}) over {s.Users} users; " +
                         $"shuffled baseline {s.MeanRandomAri:F3}; clusters/user {s.MeanClusters:F2}; true interests/user " +
                         $"{s.MeanInterests:F2}; unclustered {s.UnclusteredShare:P1}; single-interest users kept whole " +
                         $"{s.SingleInterestWholeShare:P1} of {s.SingleInterestUsers}");
        return s;
    }

    [Fact]
    public void ClustersRecoverTheGroundTruthInterestsAtTheRecommendedAlpha()
    {
        RecoverySummary s = Evaluate(RecommendedAlpha);
        Assert.True(s.Users >= 250, $"enough users with ≥ 2 interests ({s.Users})");
        Assert.True(s.MeanAri >= 0.70, $"mean ARI {s.MeanAri:F3} < 0.70");
        Assert.InRange(s.MeanRandomAri, -0.05, 0.05);
        Assert.True(s.MeanAri - s.MeanRandomAri >= 0.6);
        Assert.True(s.SingleInterestWholeShare >= 0.4, $"single-interest users kept whole {s.SingleInterestWholeShare:P1}");
    }

    [Fact]
    public void ClustersCarryInterestInformationAtTheDefaultAlpha()
    {
        // The product default α (ProfileOptions.DefaultAlpha) sits below the sweep's optimum, so interests split into
        // several clusters and the ARI is lower; it must still be clearly above the no-information baseline.
        RecoverySummary s = Evaluate(ProfileOptions.DefaultAlpha);
        Assert.True(s.MeanAri >= s.MeanRandomAri + 0.15, $"mean ARI {s.MeanAri:F3} vs baseline {s.MeanRandomAri:F3}");
        Assert.InRange(s.MeanRandomAri, -0.05, 0.05);
    }

    [Fact]
    public void PerfectAndDegenerateClusteringsScoreAsExpected()
    {
        int[] truth = [3, 3, 3, 7, 7, 9];
        Assert.Equal(1.0, InterestRecovery.Ari(truth, [0, 0, 0, 1, 1, -1]), 12);  // the lone item dropped = its own interest
        Assert.Equal(1.0, InterestRecovery.Ari(truth, [0, 0, 0, 1, 1, 2]), 12);
        Assert.True(InterestRecovery.Ari(truth, [0, 0, 0, 0, 0, 0]) < 0.5);        // everything merged
        Assert.True(InterestRecovery.Ari(truth, [-1, -1, -1, -1, -1, -1]) == 0);     // everything dropped = all singletons
    }

    [Fact]
    public void WindowItemsFollowTheProfileWindowAndCap()
    {
        long now = 1_000_000_000;
        int[] items = [5, 6, 5, 7, 8, 9];
        long[] times = [now - 91 * 86_400, now - 10, now - 5, now, now + 1, now - 3];
        Assert.Equal([5, 6, 7, 9], InterestRecovery.WindowItems(items, times, now, 90, 100));
        Assert.Equal([7, 9], InterestRecovery.WindowItems(items, times, now, 90, 2)); // the two most recent in window
    }
}
