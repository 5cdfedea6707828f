using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Tests.Clustering;

namespace PinnerSage.Tests.Profiles;

/// <summary>The online rule (batch profile + ≤ 20 pending actions) against an independent naive recomputation (naive
/// O(n³) Ward, brute-force medoids, importance by hand, the fold rule written out), and its properties.</summary>
public sealed class OnlineProfileTests
{
    private const long BatchNow = 1_700_000_000;
    private const double Alpha = 0.5;
    private const int Dimension = 16;

    private static readonly ProfileOptions Options = new() { Alpha = Alpha, DecayLambda = 0.01, ActionWeights = new Dictionary<string, double> { ["save"] = 2 } };

    /// <summary>Topics of items near a random unit centre (squared distance within a topic ≈ 0.02, between topics ≈ 2).</summary>
    private static ItemEmbeddings World(int topics, int perTopic, int seed)
    {
        var rng = new Random(seed);
        var ids = new List<string>();
        var data = new List<float>();
        for (int t = 0; t < topics; t++)
        {
            double[] centre = Unit(Enumerable.Range(0, Dimension).Select(_ => Gaussian(rng)).ToArray());
            for (int i = 0; i < perTopic; i++)
            {
                ids.Add($"t{t:D2}-{i:D2}");
                data.AddRange(Unit(centre.Select(c => c + 0.05 * Gaussian(rng)).ToArray()).Select(x => (float)x));
            }
        }
        return ItemEmbeddings.FromArray(ids, [.. data], Dimension);
    }

    private static UserProfile Batch(ItemEmbeddings items, int[] topics, int perTopic, Random rng, string user)
    {
        var rows = new List<int>();
        var times = new List<long>();
        foreach (int t in topics)
            for (int j = 0; j < 6; j++)
            {
                rows.Add(t * perTopic + rng.Next(perTopic));
                times.Add(BatchNow - rng.Next(80 * 86400));
            }
        var builder = new UserProfileBuilder(items, Options);
        return builder.Build(user, rows.ToArray(), times.ToArray(), Enumerable.Repeat(1.0, rows.Count).ToArray(), BatchNow, out _);
    }

    [Fact]
    public void Matches_a_naive_recomputation_of_the_rule()
    {
        for (int seed = 0; seed < 40; seed++)
        {
            var rng = new Random(seed);
            const int perTopic = 10;
            using ItemEmbeddings items = World(8, perTopic, seed);
            UserProfile? batch = seed % 7 == 0 ? null : Batch(items, [.. Enumerable.Range(0, 8).OrderBy(_ => rng.Next()).Take(1 + rng.Next(4))], perTopic, rng, "u");
            long now = BatchNow + rng.Next(3 * 86400);
            var pending = new OnlineAction[rng.Next(1, 30)];
            for (int i = 0; i < pending.Length; i++)
            {
                int topic = rng.Next(8);
                pending[i] = new OnlineAction(items.Id(topic * perTopic + rng.Next(perTopic)), rng.Next(3) == 0 ? "save" : "click",
                                              BatchNow - 86400 + rng.Next(86400 + (int)(now - BatchNow)));
            }
            var rule = new OnlineProfile(items, Options);
            ServedProfile served = rule.Apply("u", batch, BatchNow, pending, now);
            List<(string Medoid, double Importance, int Size, ClusterSource Source, string[] Members)> expected = Naive(items, batch, pending, now);
            Assert.Equal(expected.Count, served.Profile.Clusters.Count);
            for (int c = 0; c < expected.Count; c++)
            {
                var got = served.Profile.Clusters[c];
                Assert.True(expected[c].Medoid == got.Medoid, $"seed {seed} cluster {c}: medoid {got.Medoid}, expected {expected[c].Medoid}");
                Assert.Equal(expected[c].Importance, got.Importance, 1e-9);
                Assert.Equal(expected[c].Size, got.Size);
                Assert.Equal(expected[c].Source, served.Sources[c]);
                Assert.Equal(expected[c].Members.Order(StringComparer.Ordinal), got.Members.Order(StringComparer.Ordinal));
            }
            Assert.Equal(Math.Min(20, pending.Length), served.PendingUsed);
        }
    }

    [Fact]
    public void One_event_changes_the_interests_at_once()
    {
        var rng = new Random(3);
        const int perTopic = 10;
        using ItemEmbeddings items = World(6, perTopic, 3);
        UserProfile batch = Batch(items, [0, 1], perTopic, rng, "u");
        var rule = new OnlineProfile(items, Options);
        long now = BatchNow + 3600;
        ServedProfile before = rule.Apply("u", batch, BatchNow, [], now);
        Assert.All(before.Sources, s => Assert.Equal(ClusterSource.Batch, s));

        // An item of a new topic: a new online cluster with that item as medoid.
        string fresh = items.Id(4 * perTopic + 3);
        ServedProfile after = rule.Apply("u", batch, BatchNow, [new OnlineAction(fresh, "click", now)], now);
        Assert.Equal(before.Profile.Clusters.Count + 1, after.Profile.Clusters.Count);
        int k = after.Profile.Clusters.ToList().FindIndex(c => c.Medoid == fresh);
        Assert.Equal(ClusterSource.Online, after.Sources[k]);
        Assert.Equal(1.0, after.Profile.Clusters[k].Importance, 1e-12);

        // An item of a topic the user has: folds into that cluster (medoid kept, importance and size grow, member first).
        ProfileCluster target = batch.Clusters[0];
        string sameTopic = items.Id(TopicOf(target.Medoid) * perTopic + 9);
        ServedProfile folded = rule.Apply("u", batch, BatchNow, [new OnlineAction(sameTopic, "save", now)], now);
        Assert.Equal(before.Profile.Clusters.Count, folded.Profile.Clusters.Count);
        int f = folded.Profile.Clusters.ToList().FindIndex(c => c.Medoid == target.Medoid);
        Assert.Equal(ClusterSource.BatchAndOnline, folded.Sources[f]);
        double decayed = before.Profile.Clusters.Single(c => c.Medoid == target.Medoid).Importance;
        Assert.Equal(decayed + 2.0, folded.Profile.Clusters[f].Importance, 1e-9); // save weighs 2, no decay at now
        Assert.Equal(target.Size + 1, folded.Profile.Clusters[f].Size);
        Assert.Equal(sameTopic, folded.Profile.Clusters[f].Members[0]);
    }

    [Fact]
    public void Only_the_twenty_most_recent_pending_actions_count()
    {
        var rng = new Random(11);
        const int perTopic = 10;
        using ItemEmbeddings items = World(6, perTopic, 11);
        UserProfile batch = Batch(items, [0], perTopic, rng, "u");
        var rule = new OnlineProfile(items, Options);
        long now = BatchNow + 86400;
        // 21 events: the oldest on a topic of its own, the 20 others on topic 2.
        var pending = new List<OnlineAction> { new(items.Id(5 * perTopic), "click", BatchNow + 10) };
        for (int i = 0; i < 20; i++) pending.Add(new OnlineAction(items.Id(2 * perTopic + i % perTopic), "click", BatchNow + 100 + i));
        ServedProfile all = rule.Apply("u", batch, BatchNow, [.. pending], now);
        ServedProfile last20 = rule.Apply("u", batch, BatchNow, [.. pending.Skip(1)], now);
        Assert.Equal(20, all.PendingUsed);
        Assert.DoesNotContain(all.Profile.Clusters, c => c.Members.Contains(items.Id(5 * perTopic)));
        Assert.Equal(last20.Profile.Clusters.Select(c => (c.Medoid, c.Importance, c.Size)), all.Profile.Clusters.Select(c => (c.Medoid, c.Importance, c.Size)));
    }

    [Fact]
    public void Without_pending_actions_the_batch_profile_is_served_decayed_to_now()
    {
        var rng = new Random(5);
        using ItemEmbeddings items = World(6, 10, 5);
        UserProfile batch = Batch(items, [0, 3, 5], 10, rng, "u");
        ServedProfile served = new OnlineProfile(items, Options).Apply("u", batch, BatchNow, [], BatchNow + 10 * 86400);
        double decay = Math.Exp(-0.01 * 10);
        Assert.Equal(batch.Clusters.Select(c => c.Medoid), served.Profile.Clusters.Select(c => c.Medoid));
        for (int c = 0; c < batch.Clusters.Count; c++)
        {
            Assert.Equal(batch.Clusters[c].Importance * decay, served.Profile.Clusters[c].Importance, 1e-12);
            Assert.Equal(batch.Clusters[c].Members, served.Profile.Clusters[c].Members);
        }
        // A request "before" the batch's now never inflates importances.
        ServedProfile early = new OnlineProfile(items, Options).Apply("u", batch, BatchNow, [], BatchNow - 86400);
        Assert.Equal(batch.Clusters.Select(c => c.Importance), early.Profile.Clusters.Select(c => c.Importance));
    }

    private static List<(string, double, int, ClusterSource, string[])> Naive(ItemEmbeddings items, UserProfile? batch,
                                                                                OnlineAction[] pending, long now)
    {
        long at = Math.Max(now, BatchNow);
        double decay = Math.Exp(-0.01 * ((at - BatchNow) / 86400.0));
        var result = new List<(string Medoid, double Importance, int Size, ClusterSource Source, List<string> Members)>();
        foreach (ProfileCluster c in batch?.Clusters ?? [])
            result.Add((c.Medoid, c.Importance * decay, c.Size, ClusterSource.Batch, [.. c.Members]));
        int batchCount = result.Count;
        int[] batchItems = [.. (batch?.Clusters ?? []).Select(c => c.Members.Count)];
        // Ward's merge distance of an online group (g items) and a batch cluster, medoids standing in for the centres.
        double Cost(int g, int c, double[] medoidVector) =>
            2.0 * g * batchItems[c] / (g + batchItems[c]) * Sq(medoidVector, Vector(items, result[c].Medoid));

        var used = pending.Select((a, i) => (a, i)).Where(x => x.a.Timestamp <= at && x.a.Timestamp > at - 90 * 86400)
            .OrderBy(x => x.a.Timestamp).ThenBy(x => x.i).Select(x => x.a).ToArray();
        used = used[Math.Max(0, used.Length - 20)..];
        string[] distinct = [.. used.Select(a => a.ItemId).Distinct().Order(StringComparer.Ordinal)];
        double[][] points = [.. distinct.Select(id => Vector(items, id))];
        List<int[]> groups = distinct.Length == 1 ? [[0]] : NaiveWard.Partition(distinct.Length, NaiveWard.Run(points).Sets, Alpha);
        foreach (int[] g in groups)
        {
            int medoid = g.OrderBy(m => g.Sum(j => Sq(points[m], points[j]))).ThenBy(m => m).First();
            string medoidId = distinct[medoid];
            var memberIds = g.Select(m => distinct[m]).ToHashSet();
            double importance = used.Where(a => memberIds.Contains(a.ItemId))
                .Sum(a => (a.Action == "save" ? 2.0 : 1.0) * Math.Exp(-0.01 * ((at - a.Timestamp) / 86400.0)));
            int size = used.Count(a => memberIds.Contains(a.ItemId));
            int target = -1;
            for (int c = 0; c < batchCount && target < 0; c++)
                if (result[c].Members.Contains(medoidId)) target = c;
            if (target < 0 && batchCount > 0)
            {
                int best = Enumerable.Range(0, batchCount).OrderBy(c => Cost(g.Length, c, points[medoid])).First();
                if (Cost(g.Length, best, points[medoid]) <= Alpha) target = best;
            }
            if (target < 0)
            {
                result.Add((medoidId, importance, size, ClusterSource.Online, [.. memberIds]));
                continue;
            }
            var t = result[target];
            result[target] = (t.Medoid, t.Importance + importance, t.Size + size, ClusterSource.BatchAndOnline,
                              [.. memberIds.Concat(t.Members).Distinct()]);
        }
        return [.. result.OrderByDescending(r => r.Importance).ThenBy(r => r.Medoid, StringComparer.Ordinal)
                         .Select(r => (r.Medoid, r.Importance, r.Size, r.Source, r.Members.ToArray()))];
    }

    private static int TopicOf(string id) => int.Parse(id.AsSpan(1, 2), System.Globalization.CultureInfo.InvariantCulture);

    private static double[] Vector(ItemEmbeddings items, string id)
    {
        items.TryGetRow(id, out int row);
        return Unit(items.Vector(row).ToArray().Select(x => (double)x).ToArray());
    }

    private static double Sq(double[] a, double[] b) => a.Zip(b, (x, y) => (x - y) * (x - y)).Sum();

    private static double[] Unit(double[] v)
    {
        double n = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / n).ToArray();
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
