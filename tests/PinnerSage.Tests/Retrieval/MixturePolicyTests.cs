using System.Numerics.Tensors;
using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;

namespace PinnerSage.Tests.Retrieval;

/// <summary>The mixture policy (issue 13): the score against a naive log-sum-exp, its τ → ∞ limit against the
/// importance-weighted centroid average, and the recommender's invariants under it.</summary>
public sealed class MixturePolicyTests
{
    private static readonly RetrievalWorld World = RetrievalWorld.Create();

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.3)]
    [InlineData(1.0)]
    [InlineData(50.0)]
    [InlineData(double.PositiveInfinity)]
    public void ScoreMatchesANaiveLogSumExp(double tau)
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 100; trial++)
        {
            int c = 1 + rng.Next(12), n = 1 + rng.Next(20);
            float[] dots = [.. Enumerable.Range(0, n * c).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
            double[] raw = [.. Enumerable.Range(0, c).Select(_ => rng.NextDouble() < 0.15 ? 0 : rng.NextDouble())];
            if (raw.Sum() == 0) raw[0] = 1;
            float[] w = [.. raw.Select(x => (float)(x / raw.Sum()))];
            var scores = new float[n];
            var reasons = new int[n];
            var shares = new float[n];
            InterestMixture.EvaluateRows((float[])dots.Clone(), w, tau, scores, reasons, shares);
            for (int i = 0; i < n; i++)
            {
                float[] row = dots[(i * c)..((i + 1) * c)];
                // Naive: τ·log Σ w·exp(dot/τ) in double, no max-shift (the values here cannot overflow); Σ w·dot for τ = ∞.
                double[] terms = double.IsPositiveInfinity(tau)
                    ? [.. Enumerable.Range(0, c).Select(k => (double)w[k] * row[k])]
                    : [.. Enumerable.Range(0, c).Select(k => w[k] * Math.Exp(row[k] / tau))];
                double naive = double.IsPositiveInfinity(tau) ? terms.Sum() : tau * Math.Log(terms.Sum());
                Assert.Equal(naive, scores[i], 1e-4);
                // The reason is the largest term (up to float rounding of near-ties), its share that term's.
                Assert.True(terms[reasons[i]] >= terms.Max() - 1e-6 * Math.Abs(terms.Max()), $"row {i}: reason {reasons[i]}");
                double total = double.IsPositiveInfinity(tau) ? terms.Where(t => t > 0).Sum() : terms.Sum();
                Assert.Equal(total > 0 ? Math.Max(0, terms.Max()) / total : 0, shares[i], 1e-5);
            }
        }
    }

    [Fact]
    public void LargeTemperatureApproachesTheLinearLimit()
    {
        float[] dots = [0.9f, -0.2f, 0.4f];
        float[] w = [0.5f, 0.3f, 0.2f];
        float Score(double tau, out int reason)
        {
            float score = 0, share = 0;
            reason = -1;
            InterestMixture.EvaluateRows((float[])dots.Clone(), w, tau, new Span<float>(ref score), new Span<int>(ref reason), new Span<float>(ref share));
            return score;
        }
        float linear = Score(double.PositiveInfinity, out _);
        Assert.Equal(0.5 * 0.9 - 0.3 * 0.2 + 0.2 * 0.4, linear, 1e-6);
        Assert.Equal(linear, Score(1e5, out _), 1e-3);
        // τ → 0: the maximum over the weighted components.
        Assert.Equal(0.9, Score(1e-4, out int reason), 1e-3);
        Assert.Equal(0, reason);
    }

    [Fact]
    public void ZeroWeightsNeverCountEvenWithTheLargestDot()
    {
        // The zero-weight component has the largest dot: it must neither shift the maximum nor overflow.
        float[] dots = [50f, 0.2f, 0.1f];
        float[] w = [0f, 0.6f, 0.4f];
        var score = new float[1];
        var reason = new int[1];
        var share = new float[1];
        InterestMixture.EvaluateRows(dots, w, 0.01, score, reason, share);
        double naive = 0.01 * Math.Log(0.6 * Math.Exp(0.2 / 0.01) + 0.4 * Math.Exp(0.1 / 0.01));
        Assert.Equal(naive, score[0], 1e-4);
        Assert.Equal(1, reason[0]);
        // No positive weight: −∞, as the ranker's "nothing to recommend".
        InterestMixture.EvaluateRows(new float[] { 0.5f, 0.1f }, new float[] { 0, 0 }, 0.3, score, reason, share);
        Assert.True(float.IsNegativeInfinity(score[0]));
    }

    [Fact]
    public void InfiniteTemperatureRanksAsTheImportanceWeightedCentroidAverage()
    {
        var rng = new Random(5);
        int d = World.Items.Dimension;
        for (int trial = 0; trial < 20; trial++)
        {
            // More clusters than components, so the merged "rest" component is exercised too.
            UserProfile user = RandomUser(rng, trial, maxClusters: 12);
            var options = new RecommenderOptions
            {
                K = 60,
                Mixture = new MixtureOptions { Tau = double.PositiveInfinity, Components = 3 },
                ExcludeEngaged = false,
            };
            var got = new Recommender(World.ExactIndex(), World.Items, options).Recommend(user, 0L, out _);
            // Naive: the average Σ_c importance_c · mean of the members' unit vectors; rank by the dot product.
            var centre = new float[d];
            foreach (ProfileCluster c in user.Clusters)
            {
                var mean = new float[d];
                foreach (string m in c.Members) TensorPrimitives.Add(mean, Unit(World.Items.Vector(World.Items.TryGetRow(m, out int r) ? r : -1)), mean);
                TensorPrimitives.MultiplyAdd(mean, (float)(c.Importance / c.Members.Count), centre, centre);
            }
            double[] scores = [.. got.Select(x => (double)TensorPrimitives.Dot(Unit(World.Items.Vector(x.Item)), centre))];
            for (int i = 1; i < scores.Length; i++) Assert.True(scores[i] <= scores[i - 1] + 1e-4, $"rank {i} out of order");
            // And the top of the ranking is the average's exact top (the centre query is in the candidates).
            int best = Enumerable.Range(0, World.Items.Count)
                                 .OrderByDescending(r => TensorPrimitives.Dot(Unit(World.Items.Vector(r)), centre)).First();
            Assert.Equal(TensorPrimitives.Dot(Unit(World.Items.Vector(best)), centre), (float)scores[0], 1e-4);
        }
    }

    [Fact]
    public void InvariantsHoldForRandomUsers()
    {
        var rng = new Random(17);
        foreach (VectorMetric metric in Enum.GetValues<VectorMetric>())
        {
            ExactIndex index = World.ExactIndex(metric);
            for (int u = 0; u < 30; u++)
            {
                UserProfile user = RandomUser(rng, u, maxClusters: 9);
                var options = new RecommenderOptions
                {
                    K = 1 + rng.Next(120),
                    Mixture = new MixtureOptions { Tau = new[] { 0.1, 1, double.PositiveInfinity }[rng.Next(3)], Components = 1 + rng.Next(6) },
                };
                var recommender = new Recommender(index, World.Items, options);
                Recommendation[] got = recommender.Recommend(user, 0L, out RecommendationSummary summary);
                Assert.True(got.Length <= options.K);
                Assert.Equal(got.Length, summary.Count);
                HashSet<int> engaged = [.. user.Clusters.SelectMany(c => c.Members).Select(m => World.Items.TryGetRow(m, out int r) ? r : -1)];
                Assert.Equal(got.Length, got.Select(r => r.Item).Distinct().Count());
                for (int i = 0; i < got.Length; i++)
                {
                    Recommendation r = got[i];
                    Assert.DoesNotContain(r.Item, engaged);
                    ProfileCluster c = user.Clusters[r.Cluster];
                    Assert.Equal(c.Medoid, World.Items.Id(r.Medoid));
                    Assert.Equal(c.Importance, r.Importance);
                    Assert.InRange(r.Contribution, 0f, 1f);
                    Assert.Equal(i, r.Rank);
                    Assert.Equal(World.Cosine(r.Medoid, r.Item), r.Similarity, 1e-5);
                }
                // Deterministic: a second recommender (fresh scratch) gives the same list.
                Recommendation[] again = new Recommender(index, World.Items, options).Recommend(user, 99L, out _);
                Assert.Equal(got, again);
            }
        }
    }

    [Fact]
    public void CentreCacheChangesNothingButTheSearches()
    {
        var rng = new Random(23);
        ExactIndex index = World.ExactIndex();
        var centres = new NeighborCache(index, 1000);
        var options = new RecommenderOptions { K = 40 };
        var plain = new Recommender(index, World.Items, options);
        var cached = new Recommender(index, World.Items, options, new NeighborCache(index, 1000), centres);
        for (int u = 0; u < 20; u++)
        {
            UserProfile user = RandomUser(rng, u, maxClusters: 6);
            Recommendation[] expected = plain.Recommend(user, 0L, out _);
            Assert.Equal(expected, cached.Recommend(user, 0L, out _));
            Assert.Equal(expected, cached.Recommend(user, 0L, out _)); // served from the centre cache
        }
        Assert.Equal(20, centres.Hits);
        Assert.Throws<ArgumentException>(() => new Recommender(index, World.Items, options, centres, centres));
    }

    [Fact]
    public void SettingsRoundTripAndBadFilesNameTheKey()
    {
        string dir = Directory.CreateTempSubdirectory("ps-settings").FullName;
        try
        {
            var s = RetrievalSettings.Default with { Tau = double.PositiveInfinity, Lambda = 0.25, AlphaScale = 2 };
            string path = Path.Combine(dir, "s.json");
            File.WriteAllText(path, s.ToJson());
            Assert.Equal(s, RetrievalSettings.Load(path));
            File.WriteAllText(path, "{\"tau\": -1}");
            Assert.Contains("Tau", Assert.Throws<DataFormatException>(() => RetrievalSettings.Load(path)).Message);
            File.WriteAllText(path, "{\"temperature\": 1}");
            Assert.Contains("temperature", Assert.Throws<DataFormatException>(() => RetrievalSettings.Load(path)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static float[] Unit(ReadOnlySpan<float> v)
    {
        var u = v.ToArray();
        float n = TensorPrimitives.Norm(u);
        if (n > 0) TensorPrimitives.Multiply(u, 1 / n, u);
        return u;
    }

    private static UserProfile RandomUser(Random rng, int id, int maxClusters)
    {
        int n = 1 + rng.Next(maxClusters);
        var clusters = Enumerable.Range(0, n)
            .Select(_ => (rng.Next(World.Topics), Math.Round(0.1 + rng.NextDouble() * 5, 3), 1 + rng.Next(30))).ToArray();
        return World.User($"u{id}", clusters);
    }
}
