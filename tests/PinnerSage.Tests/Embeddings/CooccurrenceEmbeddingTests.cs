using System.Globalization;
using System.Text;
using PinnerSage.Embeddings;
using PinnerSage.Numerics;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Embeddings;

/// <summary>Counts and PPMI against a naive dense implementation; the randomised SVD against numpy.linalg.svd.</summary>
public sealed class CooccurrenceEmbeddingTests(ITestOutputHelper output)
{
    /// <summary>Random histories drawn from a few topics (so the PPMI matrix has a clear low-rank structure).</summary>
    internal static (int[] UserStart, int[] Items) Histories(int users, int items, int topics, int seed, int maxLength = 12)
    {
        var random = new Random(seed);
        var start = new List<int> { 0 };
        var sequence = new List<int>();
        for (int u = 0; u < users; u++)
        {
            int length = random.Next(0, maxLength + 1);
            int topic = random.Next(topics);
            for (int a = 0; a < length; a++)
            {
                if (random.NextDouble() < 0.3) topic = random.Next(topics);
                // Item i belongs to topic i % topics; a few are never engaged (the last ones).
                int i = topic + topics * random.Next(Math.Max(1, (items - topics) / topics));
                sequence.Add(Math.Min(i, items - 1));
            }
            start.Add(sequence.Count);
        }
        return ([.. start], [.. sequence]);
    }

    private static double[,] NaivePpmi(int[] userStart, int[] items, int n, int window, double alpha)
    {
        var c = new double[n, n];
        for (int u = 0; u + 1 < userStart.Length; u++)
            for (int p = userStart[u]; p < userStart[u + 1]; p++)
                for (int q = p + 1; q < userStart[u + 1] && q - p <= window; q++)
                    if (items[p] != items[q])
                    {
                        c[items[p], items[q]]++;
                        c[items[q], items[p]]++;
                    }
        var row = new double[n];
        var col = new double[n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                row[i] += c[i, j];
                col[j] += c[i, j];
            }
        double z = col.Sum(x => Math.Pow(x, alpha));
        var total = c.Cast<double>().Sum();
        var ppmi = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (c[i, j] == 0) continue;
                // P(i,j) / (P(i)·P_α(j)) with P = count / total and P_α(j) = col_j^α / Σ col^α.
                double pmi = Math.Log((c[i, j] / total) / ((row[i] / total) * (Math.Pow(col[j], alpha) / z)));
                ppmi[i, j] = Math.Max(0, pmi);
            }
        return ppmi;
    }

    [Fact]
    public void CountsAndPpmiMatchNaiveDenseComputation()
    {
        for (int trial = 0; trial < 12; trial++)
        {
            int n = 5 + trial * 3, window = 1 + trial % 5;
            (int[] start, int[] items) = Histories(30 + trial * 5, n, 3, trial);
            double alpha = trial % 2 == 0 ? 0.75 : 1.0;
            SparseMatrix ppmi = CooccurrenceEmbedding.Ppmi(CooccurrenceEmbedding.Counts(start, items, n, window), alpha);
            double[,] expected = NaivePpmi(start, items, n, window, alpha);
            for (int i = 0; i < n; i++)
            {
                for (int k = ppmi.RowStart[i] + 1; k < ppmi.RowStart[i + 1]; k++) Assert.True(ppmi.Columns[k - 1] < ppmi.Columns[k]);
                for (int j = 0; j < n; j++)
                    Assert.True(Math.Abs(expected[i, j] - ppmi[i, j]) <= 1e-12 * (1 + expected[i, j]), $"trial {trial} ({i}, {j}): {expected[i, j]:R} vs {ppmi[i, j]:R}");
            }
            Assert.DoesNotContain(ppmi.Values, v => v <= 0);
        }
    }

    [Fact]
    public void RandomizedSvdMatchesNumpy()
    {
        if (!TestData.RequirePython(output, "numpy", "scipy")) return;
        // (items, k, oversampling, power iterations): exact when k + oversampling ≥ n; a low-rank-plus-noise case otherwise.
        (int N, int K, int P, int Q)[] cases = [(12, 4, 10, 0), (40, 6, 10, 4), (150, 8, 12, 3)];
        foreach ((int n, int k, int p, int q) in cases)
        {
            (int[] start, int[] items) = Histories(20 * n, n, k, n, maxLength: 20); // k topics: a gap after σ_k
            SparseMatrix ppmi = CooccurrenceEmbedding.Ppmi(CooccurrenceEmbedding.Counts(start, items, n, 5), 0.75);
            (double[] u, double[] sigma) = RandomizedSvd.Compute(ppmi, ppmi.Transpose(), k, p, q, 7);
            using var dir = new TempDir();
            var sb = new StringBuilder();
            for (int i = 0; i < n; i++) sb.AppendJoin(' ', Enumerable.Range(0, n).Select(j => ppmi[i, j].ToString("R", CultureInfo.InvariantCulture))).Append('\n');
            File.WriteAllText(dir.File("m.txt"), sb.ToString());
            sb.Clear();
            for (int i = 0; i < n; i++) sb.AppendJoin(' ', Enumerable.Range(0, k).Select(c => u[i * k + c].ToString("R", CultureInfo.InvariantCulture))).Append('\n');
            File.WriteAllText(dir.File("u.txt"), sb.ToString());
            string script = $$"""
                import numpy as np
                from scipy.linalg import subspace_angles
                m = np.loadtxt(r'{{dir.File("m.txt")}}', ndmin=2); u = np.loadtxt(r'{{dir.File("u.txt")}}', ndmin=2)
                uu, s, vt = np.linalg.svd(m)
                print(' '.join(repr(float(x)) for x in s[:{{k + 1}}]))
                print(repr(float(np.max(subspace_angles(uu[:, :{{k}}], u)))))
                print(repr(float(np.max(np.abs(u.T @ u - np.eye({{k}}))))))
                """;
            (int code, string stdout, string stderr) = TestData.RunPython(script, []);
            Assert.True(code == 0, stderr);
            string[] lines = stdout.Trim().Split('\n');
            double[] s = lines[0].Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            double angle = double.Parse(lines[1], CultureInfo.InvariantCulture), orthogonality = double.Parse(lines[2], CultureInfo.InvariantCulture);
            bool exact = k + p >= n;
            output.WriteLine($"n {n} k {k}: σ numpy {string.Join(", ", s.Select(x => x.ToString("G6")))}; ours {string.Join(", ", sigma.Select(x => x.ToString("G6")))}; max angle {angle:G3} rad");
            for (int c = 0; c < k; c++)
                Assert.True(Math.Abs(s[c] - sigma[c]) <= (exact ? 1e-9 : 2e-3) * s[0], $"n {n}: σ{c} numpy {s[c]:R} ours {sigma[c]:R}");
            Assert.True(orthogonality < 1e-9, $"n {n}: UᵀU deviates from I by {orthogonality}");
            Assert.True(angle < (exact ? 1e-6 : 0.1), $"n {n}: largest principal angle {angle} rad (σ_k {s[k - 1]:G4}, σ_k+1 {s[k]:G4})");
        }
    }

    [Fact]
    public void DefaultSvdIsAccurateOnRealData()
    {
        // amazon-beauty histories (time order, all actions), PPMI as the CLI builds it, the default options, against
        // scipy.sparse.linalg.svds (Lanczos, exact to its tolerance) for the leading 64 singular values. The PPMI
        // spectrum is flat (σ64/σ1 ≈ 0.19), the hard case for randomised SVD.
        if (TestData.RequireDataset("amazon-beauty/actions.tsv", output) is not string path) return;
        if (!TestData.RequirePython(output, "numpy", "scipy")) return;
        var users = new Dictionary<string, List<(long T, int Item)>>();
        var items = new Dictionary<string, int>();
        using (var reader = new PinnerSage.IO.ActionsTsvReader(path))
            while (reader.MoveNext())
            {
                string item = reader.ItemId.ToString(), user = reader.UserId.ToString();
                if (!items.TryGetValue(item, out int index)) items[item] = index = items.Count;
                if (!users.TryGetValue(user, out var list)) users[user] = list = [];
                list.Add((reader.Timestamp, index));
            }
        var start = new List<int> { 0 };
        var sequence = new List<int>();
        foreach (var list in users.Values)
        {
            sequence.AddRange(list.OrderBy(a => a.T).Select(a => a.Item));
            start.Add(sequence.Count);
        }
        var options = new CooccurrenceOptions();
        SparseMatrix ppmi = CooccurrenceEmbedding.Ppmi(CooccurrenceEmbedding.Counts([.. start], [.. sequence], items.Count, options.Window), options.ContextSmoothing);
        (_, double[] sigma) = RandomizedSvd.Compute(ppmi, ppmi.Transpose(), options.Dimension, options.Oversampling, options.PowerIterations, options.Seed);
        using var dir = new TempDir();
        using (var w = new StreamWriter(dir.File("m.txt")))
            for (int r = 0; r < ppmi.Rows; r++)
                for (int k = ppmi.RowStart[r]; k < ppmi.RowStart[r + 1]; k++)
                    w.Write(string.Create(CultureInfo.InvariantCulture, $"{r} {ppmi.Columns[k]} {ppmi.Values[k]:R}\n"));
        string script = $$"""
            import numpy as np, scipy.sparse as sp
            from scipy.sparse.linalg import svds
            t = np.loadtxt(r'{{dir.File("m.txt")}}', ndmin=2)
            m = sp.csr_matrix((t[:, 2], (t[:, 0].astype(int), t[:, 1].astype(int))), shape=({{ppmi.Rows}}, {{ppmi.Rows}}))
            s = np.sort(svds(m, k={{options.Dimension}}, return_singular_vectors=False, random_state=0))[::-1]
            print(' '.join(repr(float(x)) for x in s))
            """;
        (int code, string stdout, string stderr) = TestData.RunPython(script, []);
        Assert.True(code == 0, stderr);
        double[] exact = stdout.Trim().Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        double[] relative = exact.Select((e, i) => Math.Abs(sigma[i] - e) / e).ToArray();
        output.WriteLine($"σ1 {exact[0]:G6} vs {sigma[0]:G6}; σ64 {exact[^1]:G6} vs {sigma[^1]:G6}; relative error max {relative.Max():G3}, mean {relative.Average():G3}");
        Assert.True(relative.Take(8).Max() < 1e-6, $"leading singular values off by up to {relative.Take(8).Max():G3}");
        Assert.True(relative.Max() < 0.05 && relative.Average() < 0.015, $"singular values off by up to {relative.Max():G3} (mean {relative.Average():G3})");
        Assert.All(sigma.Zip(exact), p => Assert.True(p.First <= p.Second * (1 + 1e-9))); // a projection never exceeds the truth
    }

    [Fact]
    public void FitGivesUnitRowsZeroForUnseenAndIgnoresUserOrder()
    {
        const int n = 60;
        (int[] start, int[] items) = Histories(300, n, 4, 1);
        var options = new CooccurrenceOptions { Dimension = 8, Window = 4, Seed = 3 };
        float[] e = CooccurrenceEmbedding.Fit(start, items, n, options, out double[] sigma);
        Assert.Equal(n * 8, e.Length);
        for (int c = 1; c < sigma.Length; c++) Assert.True(sigma[c] <= sigma[c - 1]);
        var seen = new HashSet<int>();
        for (int u = 0; u + 1 < start.Length; u++)
            for (int p = start[u]; p < start[u + 1]; p++)
                for (int q = p + 1; q < start[u + 1] && q - p <= 4; q++)
                    if (items[p] != items[q]) seen.UnionWith([items[p], items[q]]);
        for (int i = 0; i < n; i++)
        {
            double norm = Math.Sqrt(e.AsSpan(i * 8, 8).ToArray().Sum(x => (double)x * x));
            Assert.Equal(seen.Contains(i) ? 1.0 : 0.0, norm, 5);
        }
        Assert.Contains(Enumerable.Range(0, n), i => !seen.Contains(i)); // the case covers unseen items

        // Reversing the users leaves every count, hence every result, unchanged; same seed, same bits.
        var reversedItems = new List<int>();
        var reversedStart = new List<int> { 0 };
        for (int u = start.Length - 2; u >= 0; u--)
        {
            reversedItems.AddRange(items[start[u]..start[u + 1]]);
            reversedStart.Add(reversedItems.Count);
        }
        Assert.Equal(e, CooccurrenceEmbedding.Fit([.. reversedStart], [.. reversedItems], n, options));
        Assert.NotEqual(e, CooccurrenceEmbedding.Fit(start, items, n, options with { Window = 1 }));
    }

    [Fact]
    public void RejectsBadInput()
    {
        var options = new CooccurrenceOptions();
        Assert.Throws<ArgumentException>(() => CooccurrenceEmbedding.Fit([0, 2], [0, 5], 3, options));
        Assert.Throws<ArgumentException>(() => CooccurrenceEmbedding.Fit([0, 1], [0, 1], 3, options));
        Assert.Throws<ArgumentException>(() => CooccurrenceEmbedding.Fit([0, 2, 1, 2], [0, 1], 3, options));
        Assert.Throws<ArgumentOutOfRangeException>(() => CooccurrenceEmbedding.Fit([0, 2], [0, 1], 3, options with { Dimension = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => CooccurrenceEmbedding.Fit([0, 2], [0, 1], 3, options with { ContextSmoothing = 0 }));
        Assert.Equal(new float[3 * 64], CooccurrenceEmbedding.Fit([0], [], 3, options)); // no actions: all rows zero
    }

    [Fact]
    public void ColdStartVectorsAreUnitStableAndDistinct()
    {
        var a = new float[32];
        var b = new float[32];
        CooccurrenceEmbedding.ColdStartVector(1, "item-a", a);
        CooccurrenceEmbedding.ColdStartVector(1, "item-a", b);
        Assert.Equal(a, b);
        Assert.Equal(1.0, Math.Sqrt(a.Sum(x => (double)x * x)), 5);
        CooccurrenceEmbedding.ColdStartVector(1, "item-b", b);
        Assert.NotEqual(a, b);
    }
}
