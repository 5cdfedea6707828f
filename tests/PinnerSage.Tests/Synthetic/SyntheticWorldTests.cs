using System.Numerics.Tensors;
using PinnerSage.Embeddings;
using PinnerSage.Synthetic;

namespace PinnerSage.Tests.Synthetic;

public sealed class SyntheticWorldTests
{
    private static readonly SyntheticWorld World = SyntheticWorld.Create(new SyntheticWorldOptions { Users = 3000, Seed = 11 });

    private static List<SyntheticAction> AllActions(SyntheticWorld world)
    {
        var actions = new List<SyntheticAction>();
        for (int b = 0; b < world.BlockCount; b++) world.GenerateBlock(b, actions);
        return actions;
    }

    [Fact]
    public void SameSeedGivesSameWorldAndUsersDoNotDependOnBlocks()
    {
        SyntheticWorld again = SyntheticWorld.Create(new SyntheticWorldOptions { Users = 3000, Seed = 11 });
        Assert.True(World.ItemVectors.SequenceEqual(again.ItemVectors));
        Assert.Equal(AllActions(World), AllActions(again));

        // A user generated alone equals its slice of the block output.
        List<SyntheticAction> all = AllActions(World);
        var alone = new List<SyntheticAction>();
        World.GenerateUser(2047, alone);
        Assert.Equal(all.Where(a => a.User == 2047), alone);

        SyntheticWorld other = SyntheticWorld.Create(new SyntheticWorldOptions { Users = 3000, Seed = 12 });
        Assert.False(World.ItemVectors.SequenceEqual(other.ItemVectors));
    }

    [Fact]
    public void ActionsAreGroupedByUserAndChronologicalWithinTheWindow()
    {
        List<SyntheticAction> actions = AllActions(World);
        for (int i = 1; i < actions.Count; i++)
        {
            Assert.True(actions[i].User >= actions[i - 1].User);
            if (actions[i].User == actions[i - 1].User) Assert.True(actions[i].Timestamp >= actions[i - 1].Timestamp);
        }
        Assert.All(actions, a => Assert.InRange(a.Timestamp, World.StartTime, World.EndTime));
        Assert.Equal(120L * 86_400, World.EndTime - World.StartTime);
        Assert.Equal(World.UserCount, actions.Select(a => a.User).Distinct().Count());
        Assert.All(actions, a => Assert.Equal(World.ItemTopic(a.Item), a.Topic));
    }

    [Fact]
    public void StatisticsAreInTheirDesignedRanges()
    {
        List<SyntheticAction> actions = AllActions(World);
        double perUser = (double)actions.Count / World.UserCount;
        Assert.InRange(perUser, 50, 70); // log-normal with mean 60

        int[] counts = actions.GroupBy(a => a.User).Select(g => g.Count()).OrderBy(c => c).ToArray();
        Assert.True(counts[counts.Length / 2] < perUser, "heavy tail: the median is below the mean");
        Assert.True(counts[^1] > 5 * perUser, "heavy tail: some users are far above the mean");

        double Share(EngagementType t) => actions.Count(a => a.Action == t) / (double)actions.Count;
        Assert.InRange(Share(EngagementType.Click), 0.68, 0.72);
        Assert.InRange(Share(EngagementType.Save), 0.18, 0.22);
        Assert.InRange(Share(EngagementType.AddToCart), 0.06, 0.08);
        Assert.InRange(Share(EngagementType.Checkout), 0.02, 0.04);

        int[] interests = actions.GroupBy(a => a.User).Select(g => g.Select(a => a.Topic).Distinct().Count()).ToArray();
        Assert.All(interests, k => Assert.InRange(k, 1, 20));
        Assert.InRange(interests.Average(), 2, 6);
        Assert.True(interests.Count(k => k <= 3) > interests.Length / 2, "most users have few interests");
        Assert.Contains(interests, k => k >= 10);

        // Bursty: most consecutive actions of a user are minutes apart, yet a user spans days.
        int close = 0, pairs = 0;
        for (int i = 1; i < actions.Count; i++)
            if (actions[i].User == actions[i - 1].User)
            {
                pairs++;
                if (actions[i].Timestamp - actions[i - 1].Timestamp <= 1800) close++;
            }
        Assert.InRange(close / (double)pairs, 0.5, 0.9);
    }

    [Fact]
    public void InterestsDriftOverTheWindow()
    {
        // Per (user, interest) with enough actions to see a period: when it starts and how long it lasts.
        List<SyntheticAction> actions = AllActions(World);
        var spans = actions.GroupBy(a => (a.User, a.Topic)).Where(g => g.Count() >= 8)
            .Select(g => (Start: (g.Min(a => a.Timestamp) - World.StartTime) / 86_400.0,
                          Length: (g.Max(a => a.Timestamp) - g.Min(a => a.Timestamp)) / 86_400.0))
            .ToArray();
        Assert.True(spans.Length > 1000);
        double lateStarts = spans.Count(s => s.Start > 40) / (double)spans.Length;
        double longLived = spans.Count(s => s.Length > 90) / (double)spans.Length;
        double shortLived = spans.Count(s => s.Length < 60) / (double)spans.Length;
        Assert.InRange(lateStarts, 0.15, 0.6);  // new interests appear during the window
        Assert.InRange(longLived, 0.2, 0.7);    // some last all along
        Assert.InRange(shortLived, 0.15, 0.7);  // others come and go
    }

    [Fact]
    public void TopicPopularityIsSkewed()
    {
        List<SyntheticAction> actions = AllActions(World);
        int[] byTopic = actions.GroupBy(a => a.Topic).Select(g => g.Count()).OrderByDescending(c => c).ToArray();
        Assert.True(byTopic[0] > 5 * byTopic[byTopic.Length / 2], "the top topic is far more engaged than the median one");
    }

    /// <summary>Mean cosine of random item pairs of the same topic, of sibling topics (same family) and of unrelated
    /// topics, 300+ pairs each.</summary>
    private static (double Same, double Sibling, double Unrelated) TopicCosines(SyntheticWorld world)
    {
        int d = world.Dimension, n = world.ItemCount;
        ReadOnlySpan<float> v = world.ItemVectors;
        Assert.Equal(n * d, v.Length);
        for (int i = 0; i < n; i++) Assert.InRange(TensorPrimitives.Norm(v.Slice(i * d, d)), 0.999f, 1.001f);
        var random = new Random(3);
        double same = 0, sibling = 0, unrelated = 0;
        int sameCount = 0, siblingCount = 0, unrelatedCount = 0;
        while (sameCount < 300 || siblingCount < 300 || unrelatedCount < 300)
        {
            int i = random.Next(n), j = random.Next(n);
            if (i == j) continue;
            double cos = TensorPrimitives.Dot(v.Slice(i * d, d), v.Slice(j * d, d));
            SyntheticTopic ti = world.Topics[world.ItemTopic(i)], tj = world.Topics[world.ItemTopic(j)];
            if (ti.Id == tj.Id) { same += cos; sameCount++; }
            else if (ti.FamilyIndex == tj.FamilyIndex) { sibling += cos; siblingCount++; }
            else { unrelated += cos; unrelatedCount++; }
        }
        return (same / sameCount, sibling / siblingCount, unrelated / unrelatedCount);
    }

    [Fact]
    public void SeparableItemVectorsAreUnitNormAndClusteredByTopicAndFamily()
    {
        (double same, double sibling, double unrelated) = TopicCosines(SyntheticWorld.Create(SyntheticWorldOptions.Separable with { Users = 3000, Seed = 11 }));
        Assert.InRange(same, 0.58, 0.75);      // ≈ 1/(1+0.7²) = 0.67
        Assert.InRange(sibling, 0.3, 0.5);     // ≈ 0.67 · 1/(1+0.8²) = 0.41
        Assert.InRange(unrelated, -0.05, 0.05);
    }

    [Fact]
    public void CalibratedItemVectorsShareADirectionAndFollowTopicsLoosely()
    {
        // cos ≈ a + (1 − a)·(residual cosine), a = 0.55: residual ≈ 0 for unrelated topics, ≈ 1/(1+1²) · 0.13 · 0.74 ≈ 0.05
        // for siblings and ≈ 1/(1+2.6²) · 1/(1+0.6²) ≈ 0.1 inside a topic (products, then variants); measured 0.55, 0.57,
        // 0.61 on 400,000 pairs of the quickstart world; the standard error of 300 pairs is ≈ 0.005.
        (double same, double sibling, double unrelated) = TopicCosines(World);
        Assert.InRange(unrelated, 0.52, 0.58);
        Assert.InRange(sibling, unrelated + 0.005, 0.62);
        Assert.InRange(same, sibling + 0.005, 0.68);
    }

    /// <summary>Issue 13: the default world's geometry matches real content vectors (amazon-scientific text_lm and image,
    /// bench/results/synthetic-geometry.md) within the tolerances stated there.</summary>
    [Fact]
    public void GeometryMatchesRealContentVectors()
    {
        var world = SyntheticWorld.Create(new SyntheticWorldOptions { Users = 2000 });
        List<SyntheticAction> actions = AllActions(world);
        int[] start = new int[world.UserCount + 1];
        foreach (SyntheticAction a in actions) start[a.User + 1]++;
        for (int u = 0; u < world.UserCount; u++) start[u + 1] += start[u];
        int[] items = [.. actions.Select(a => a.Item)]; // grouped by user, in time order
        EmbeddingGeometryReport r = EmbeddingGeometry.Measure(world.ItemVectors, world.ItemCount, world.Dimension, start, items,
                                                              new GeometryOptions { MaxUsers = 500 });
        UserGeometry g = r.Users!;
        Assert.InRange(r.RandomPairs.Mean, 0.45, 0.65);          // real 0.496 (text), 0.599 (image)
        Assert.InRange(r.RandomPairs.Sd, 0.06, 0.14);            // real 0.102, 0.099
        Assert.InRange(r.CatalogueMeanNorm, 0.65, 0.82);         // real 0.704, 0.774
        Assert.InRange(r.NearestNeighbour.Median, 0.82, 0.93);   // real 0.887, 0.871
        Assert.InRange(g.SameUserPairs.Mean - r.RandomPairs.Mean, 0.01, 0.15); // real +0.098, +0.038
        Assert.InRange(g.MeanNorm.Median, 0.75, 0.88);           // real 0.810, 0.837
        Assert.InRange(g.MeanNearest.Median - g.ItemsNearest.Median, -0.08, 0.05); // real −0.028, +0.018
        Assert.InRange(g.NextPercentileMean.Median, 0.08, 0.45); // real 0.147, 0.387
        Assert.InRange(g.NextPercentileMax.Median, 0.08, 0.45);  // real 0.143, 0.365
    }

    [Fact]
    public void IdsSortOrdinallyInNumericOrderAndTitlesAreReadable()
    {
        Assert.Equal("u0001", World.UserId(0));
        Assert.Equal("u3000", World.UserId(2999));
        Assert.True(string.CompareOrdinal(World.UserId(998), World.UserId(999)) < 0);
        Assert.Equal(World.ItemCount.ToString().Length + 1, World.ItemId(0).Length);
        for (int i = 0; i < 50; i++)
        {
            string title = World.ItemTitle(i);
            Assert.Matches(@"^[A-Z][\w\-' .,/()+]+$", title);
            Assert.DoesNotContain('\t', title);
            Assert.Contains(World.Topics[World.ItemTopic(i)].Name.Split(' ')[0].ToLowerInvariant(), title.ToLowerInvariant());
        }
    }

    [Fact]
    public void DefaultsScaleWithUsers()
    {
        Assert.Equal(5_000, new SyntheticWorldOptions { Users = 1_000 }.ResolvedItems);
        Assert.Equal(20_000, new SyntheticWorldOptions { Users = 100_000 }.ResolvedItems);
        Assert.Equal(200_000, new SyntheticWorldOptions { Users = 1_000_000 }.ResolvedItems);
        Assert.Equal(447, new SyntheticWorldOptions { Users = 1_000_000 }.ResolvedTopics);
    }

    [Theory]
    [InlineData(0, 256, 120)]
    [InlineData(10, 1, 120)]
    [InlineData(10, 256, 0)]
    [InlineData(10, 65_536, 120, 40_000)]
    public void ValidateRejectsOutOfRangeOptions(int users, int dimension, int days, int? items = null) =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            SyntheticWorld.Create(new SyntheticWorldOptions { Users = users, Dimension = dimension, Days = days, Items = items }));
}
