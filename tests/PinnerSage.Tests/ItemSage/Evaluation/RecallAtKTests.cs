using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.Tests.ItemSage.Evaluation;

public sealed class RecallAtKTests
{
    [Fact]
    public void Recall_matches_a_naive_ranking_with_query_excluded_and_ties_by_row()
    {
        var rng = new Random(4);
        const int n = 200, d = 8, pairCount = 300;
        var emb = new float[n * d];
        for (int i = 0; i < emb.Length; i++) emb[i] = (float)Math.Round(rng.NextDouble() * 4) / 4f; // many ties
        int[] q = new int[pairCount], p = new int[pairCount], t = new int[pairCount];
        for (int i = 0; i < pairCount; i++)
        {
            q[i] = rng.Next(n);
            do p[i] = rng.Next(n); while (p[i] == q[i]);
            t[i] = i % 3 == 0 ? 1 : 0;
        }
        var pairs = new PairSet(q, p, t, new long[pairCount]);
        var result = RecallAtK.Evaluate(pairs, ["a", "b"], n, RecallAtK.FromEmbeddings(emb, d), [1, 10, 50]);
        foreach (int k in new[] { 1, 10, 50 })
        {
            for (int task = 0; task < 2; task++)
            {
                int hits = 0, count = 0;
                for (int i = 0; i < pairCount; i++)
                {
                    if (t[i] != task) continue;
                    count++;
                    float Score(int j) { float s = 0; for (int x = 0; x < d; x++) s += emb[q[i] * d + x] * emb[j * d + x]; return s; }
                    // Naive: sort the candidates (all but the query) by score desc, row asc; hit if p is in the first k.
                    int[] ranked = [.. Enumerable.Range(0, n).Where(j => j != q[i]).OrderByDescending(Score).ThenBy(j => j)];
                    if (Array.IndexOf(ranked, p[i]) < k) hits++;
                }
                Assert.Equal((double)hits / count, result[task == 0 ? "a" : "b"][$"recall@{k}"], 4);
                Assert.Equal(count, result[task == 0 ? "a" : "b"]["pairs"]);
            }
        }
        Assert.Equal(pairCount, result[RecallAtK.AllTasks]["pairs"]);
    }

    [Fact]
    public void Constant_scores_rank_by_value_and_only_the_chosen_tasks_are_evaluated()
    {
        long[] popularity = [5, 9, 9, 1, 0];
        var pairs = new PairSet([0, 0, 3, 4], [2, 3, 1, 2], [0, 0, 1, 1], new long[4]);
        var r = RecallAtK.Evaluate(pairs, ["x", "y"], 5, RecallAtK.Constant(popularity), [1, 2]);
        // Query 0 → candidates 1 (9), 2 (9, after 1 by row), 3, 4: item 2 has rank 1, item 3 rank 2.
        Assert.Equal(0.0, r["x"]["recall@1"]);
        Assert.Equal(0.5, r["x"]["recall@2"]);
        // Query 3 → 1 is rank 0; query 4 → 2 is rank 1.
        Assert.Equal(0.5, r["y"]["recall@1"]);
        Assert.Equal(1.0, r["y"]["recall@2"]);
        var only = RecallAtK.Evaluate(pairs, ["x", "y"], 5, RecallAtK.Constant(popularity), [1], onlyTasks: new HashSet<int> { 1 });
        Assert.False(only.ContainsKey("x"));
        Assert.Equal(2, only["y"]["pairs"]);
    }

    [Fact]
    public void Paired_difference_is_exact_on_degenerate_cases()
    {
        int[] hit = [0, 3, 9, 1], miss = [10, 50, 11, 99];
        Assert.Equal((0.0, 0.0, 0.0), RecallAtK.PairedDifference(hit, hit, 10));
        Assert.Equal((1.0, 1.0, 1.0), RecallAtK.PairedDifference(hit, miss, 10));
        Assert.Equal((-1.0, -1.0, -1.0), RecallAtK.PairedDifference(miss, hit, 10));
        // At k = 2 only ranks 0 and 1 hit: 2 of 4 pairs for the first model, none for the second.
        Assert.Equal(0.5, RecallAtK.PairedDifference(hit, miss, 2).Difference);
        Assert.Throws<ArgumentException>(() => RecallAtK.PairedDifference(hit, [1, 2], 10));
    }

    [Fact]
    public void Paired_difference_equals_the_difference_of_recalls_and_its_interval_matches_the_normal_approximation()
    {
        // Two correlated models on the same 20,000 pairs: B agrees with A on most pairs, so the paired interval must be
        // much narrower than either recall's own spread; the reference is the CLT interval Δ ± 1.96·sd(d)/√n.
        var rng = new Random(9);
        const int n = 20_000;
        int[] a = new int[n], b = new int[n], tasks = new int[n], query = new int[n], positive = new int[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = rng.Next(100);
            b[i] = rng.NextDouble() < 0.9 ? a[i] : rng.Next(100);
            tasks[i] = i % 2;
            query[i] = i;
            positive[i] = i + 1;
        }
        var pairs = new PairSet(query, positive, tasks, new long[n]);
        int[] all = [.. Enumerable.Range(0, n)];
        foreach (int k in new[] { 10, 50 })
        {
            (double delta, double low, double high) = RecallAtK.PairedDifference(a, b, k);
            double expected = RecallAtK.Summarize(pairs, ["x", "y"], all, a, [k])[RecallAtK.AllTasks][$"recall@{k}"]
                            - RecallAtK.Summarize(pairs, ["x", "y"], all, b, [k])[RecallAtK.AllTasks][$"recall@{k}"];
            Assert.Equal(expected, delta, 12);
            double[] d = [.. Enumerable.Range(0, n).Select(i => (a[i] < k ? 1.0 : 0.0) - (b[i] < k ? 1.0 : 0.0))];
            double mean = d.Average(), sd = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / (n - 1));
            double halfWidth = 1.96 * sd / Math.Sqrt(n);
            Assert.InRange(low, delta - 1.15 * halfWidth, delta - 0.85 * halfWidth);
            Assert.InRange(high, delta + 0.85 * halfWidth, delta + 1.15 * halfWidth);
        }
    }

    [Fact]
    public void Clusters_of_identical_pairs_give_the_interval_of_the_pairs_they_repeat()
    {
        // Every pair copied five times into one cluster carries no more information than the pair itself, so the
        // cluster bootstrap must reproduce the pair bootstrap of the originals exactly (the same draws over 2,000
        // clusters as over 2,000 pairs); resampling the 10,000 copies as independent pairs would be √5 too narrow.
        var rng = new Random(4);
        const int n = 2_000, copies = 5;
        int[] a = new int[n], b = new int[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = rng.Next(60);
            b[i] = rng.NextDouble() < 0.7 ? a[i] : rng.Next(60);
        }
        int[] aa = [.. a.SelectMany(r => Enumerable.Repeat(r, copies))], bb = [.. b.SelectMany(r => Enumerable.Repeat(r, copies))];
        int[] users = [.. Enumerable.Range(0, n).SelectMany(u => Enumerable.Repeat(1000 + 7 * u, copies))];
        var single = RecallAtK.PairedDifference(a, b, 10);
        var clustered = RecallAtK.Difference([aa], [bb], 10, users);
        Assert.Equal(single.Difference, clustered.Difference, 12);
        Assert.Equal(single.Low, clustered.Low, 12);
        Assert.Equal(single.High, clustered.High, 12);
        var naive = RecallAtK.PairedDifference(aa, bb, 10);
        double ratio = (naive.High - naive.Low) / (clustered.High - clustered.Low);
        Assert.InRange(ratio, 1 / Math.Sqrt(copies) * 0.85, 1 / Math.Sqrt(copies) * 1.15);
        Assert.Throws<ArgumentException>(() => RecallAtK.Difference([aa], [bb], 10, users.AsSpan(1)));
    }

    [Fact]
    public void Cluster_interval_matches_the_linearised_ratio_estimator()
    {
        // 3,000 users with 1–9 pairs each and a user effect on both models (correlated hits within a user). Reference:
        // the delta-method standard error of Δ = Σ_c D_c / Σ_c N_c, SE² = C/(C−1)·Σ_c (D_c − Δ·N_c)² / (Σ_c N_c)².
        var rng = new Random(21);
        var a = new List<int>();
        var b = new List<int>();
        var users = new List<int>();
        const int clusters = 3_000;
        for (int u = 0; u < clusters; u++)
        {
            int size = 1 + rng.Next(9);
            double skill = rng.NextDouble();
            for (int j = 0; j < size; j++)
            {
                int ra = rng.NextDouble() < skill ? rng.Next(10) : 10 + rng.Next(50);
                a.Add(ra);
                b.Add(rng.NextDouble() < 0.8 ? ra : rng.NextDouble() < skill * 0.9 ? rng.Next(10) : 10 + rng.Next(50));
                users.Add(u);
            }
        }
        (double delta, double low, double high) = RecallAtK.Difference([a.ToArray()], [b.ToArray()], 10, users.ToArray(), resamples: 4000);
        var d = new double[clusters];
        var size2 = new double[clusters];
        for (int i = 0; i < a.Count; i++)
        {
            d[users[i]] += (a[i] < 10 ? 1 : 0) - (b[i] < 10 ? 1 : 0);
            size2[users[i]]++;
        }
        double total = size2.Sum();
        Assert.Equal(d.Sum() / total, delta, 12);
        double se = Math.Sqrt(clusters / (clusters - 1.0) * Enumerable.Range(0, clusters).Sum(c => Math.Pow(d[c] - delta * size2[c], 2))) / total;
        Assert.InRange((high - low) / 2, 1.96 * se * 0.85, 1.96 * se * 1.15);
    }

    [Fact]
    public void Seeds_are_resampled_so_their_spread_widens_the_interval()
    {
        // A model whose two seeds hit every pair and none: its mean recall is 0.5, the baseline's too, and the pairs
        // alone would give a narrow interval around 0. Resampling the seeds draws both runs of one kind a quarter of the
        // time each, so the interval must reach ±0.5.
        const int n = 1_000;
        int[] all = new int[n], none = [.. Enumerable.Repeat(99, n)], half = [.. Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 0 : 99)];
        (double delta, double low, double high) = RecallAtK.Difference([all, none], [half], 10);
        Assert.Equal(0.0, delta, 12);
        Assert.True(low <= -0.49 && high >= 0.49, $"interval [{low}, {high}] ignores the seeds' spread");
        // Identical seeds add nothing: the interval is the single run's up to Monte-Carlo error.
        var one = RecallAtK.Difference([half], [none], 10);
        var three = RecallAtK.Difference([half, half, half], [none, none], 10);
        Assert.Equal(one.Difference, three.Difference, 12);
        Assert.InRange(three.High - three.Low, 0.85 * (one.High - one.Low), 1.15 * (one.High - one.Low));
        Assert.Throws<ArgumentException>(() => RecallAtK.Difference([half], [], 10));
        Assert.Throws<ArgumentException>(() => RecallAtK.Difference([half], [none[..10]], 10));
    }
}
