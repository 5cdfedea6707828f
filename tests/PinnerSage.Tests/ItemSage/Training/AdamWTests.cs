using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;
using PinnerSage.Tests.ItemSage.Model;

namespace PinnerSage.Tests.ItemSage.Training;

/// <summary>AdamW against a scalar textbook implementation (Loshchilov &amp; Hutter 2019, Alg. 2) in double, with
/// lazy sparse rows and global-norm clipping; the schedule; convergence on a quadratic.</summary>
public sealed class AdamWTests
{
    [Theory]
    [InlineData(0f)]
    [InlineData(0.5f)]
    public void MatchesScalarReference(float clipNorm)
    {
        const int n = 46, sparseOffset = 14, rows = 4, rowLength = 8;
        var options = new AdamWOptions { LearningRate = 0.01f, WeightDecay = 0.1f, ClipNorm = clipNorm, WarmupSteps = 2, TotalSteps = 8 };
        var random = new Random(1);
        float[] p = GradientCheck.RandomVector(random, n), g = new float[n];
        var table = new SparseTable("E", sparseOffset, rows, rowLength);
        var sparse = new SparseRowSet(table);
        (int, int, bool)[] dense = [(0, 10, true), (10, 4, false)];
        var adam = new AdamW(p, g, sparse, dense, options);
        double[] rp = p.Select(x => (double)x).ToArray(), rm = new double[n], rv = new double[n];
        for (int t = 1; t <= 8; t++)
        {
            Array.Clear(g);
            table.Clear();
            for (int i = 0; i < sparseOffset; i++) g[i] = (float)(random.NextDouble() * 2 - 1);
            var touched = new List<int>();
            for (int row = 0; row < rows; row++)
            {
                if (random.Next(2) == 0) continue;
                table.Touch(row);
                touched.Add(row);
                for (int j = 0; j < rowLength; j++) g[sparseOffset + row * rowLength + j] = (float)(random.NextDouble() * 2 - 1);
            }
            float norm = adam.Step();

            double lr = options.LearningRateAt(t), sq = 0;
            for (int i = 0; i < n; i++) sq += (double)g[i] * g[i];
            Assert.Equal(Math.Sqrt(sq), norm, 4);
            double clip = clipNorm > 0 && Math.Sqrt(sq) > clipNorm ? clipNorm / Math.Sqrt(sq) : 1;
            for (int i = 0; i < n; i++)
            {
                bool isSparse = i >= sparseOffset;
                if (isSparse && !touched.Contains((i - sparseOffset) / rowLength)) continue; // lazy: untouched rows frozen
                double gi = g[i] * clip;
                rm[i] = 0.9 * rm[i] + 0.1 * gi;
                rv[i] = 0.999 * rv[i] + 0.001 * gi * gi;
                double mhat = rm[i] / (1 - Math.Pow(0.9, t)), vhat = rv[i] / (1 - Math.Pow(0.999, t));
                double decay = i < 10 ? 0.1 : 0;
                rp[i] -= lr * (mhat / (Math.Sqrt(vhat) + 1e-8) + decay * rp[i]);
            }
            for (int i = 0; i < n; i++) Assert.True(Math.Abs(rp[i] - p[i]) < 1e-5, $"step {t}, p[{i}]: {p[i]} vs {rp[i]}");
        }
        Assert.Equal(8, adam.StepCount);
    }

    [Fact]
    public void ScheduleWarmsUpAndDecays()
    {
        var cosine = new AdamWOptions { LearningRate = 1f, WarmupSteps = 10, TotalSteps = 110, MinLearningRateRatio = 0.1f };
        Assert.Equal(0f, cosine.LearningRateAt(0));
        Assert.Equal(0.5f, cosine.LearningRateAt(5), 6);
        Assert.Equal(1f, cosine.LearningRateAt(10), 6);
        Assert.Equal(0.55f, cosine.LearningRateAt(60), 5);
        Assert.Equal(0.1f, cosine.LearningRateAt(110), 6);
        Assert.Equal(0.1f, cosine.LearningRateAt(1000), 6);
        var linear = cosine with { Decay = LearningRateDecay.Linear };
        Assert.Equal(0.775f, linear.LearningRateAt(35), 5);
        var constant = cosine with { Decay = LearningRateDecay.Constant };
        Assert.Equal(1f, constant.LearningRateAt(500));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamWOptions { Beta2 = 1 }.Validate());
    }

    [Fact]
    public void QuadraticConverges()
    {
        const int n = 50;
        var random = new Random(3);
        float[] target = GradientCheck.RandomVector(random, n, 3), curvature = GradientCheck.RandomVector(random, n);
        for (int i = 0; i < n; i++) curvature[i] = 0.1f + Math.Abs(curvature[i]) * 10;
        float[] p = new float[n], g = new float[n];
        var adam = new AdamW(p, g, new SparseRowSet(), [(0, n, true)],
                             new AdamWOptions { LearningRate = 0.05f, WeightDecay = 0, ClipNorm = 0, WarmupSteps = 20, TotalSteps = 3000 });
        for (int step = 0; step < 3000; step++)
        {
            for (int i = 0; i < n; i++) g[i] = 2 * curvature[i] * (p[i] - target[i]);
            adam.Step();
        }
        for (int i = 0; i < n; i++) Assert.True(Math.Abs(p[i] - target[i]) < 1e-2, $"p[{i}] = {p[i]}, target {target[i]}");
    }

    [Fact]
    public void DecaysOnlyWeightMatricesOfATower()
    {
        IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, ItemSageTowerTests.Small);
        float[] before = (float[])tower.Parameters.Clone();
        var adam = new AdamW(tower, new AdamWOptions { LearningRate = 0.1f, WeightDecay = 0.5f });
        adam.Step(); // zero gradients: only decay moves parameters
        int decayed = 0, kept = 0;
        for (int i = 0; i < before.Length; i++)
        {
            if (tower.Parameters[i] == before[i]) kept++;
            else
            {
                Assert.Equal(before[i] * (1 - 0.1f * 0.5f), tower.Parameters[i], 6);
                decayed++;
            }
        }
        Assert.True(decayed > 0 && kept > 0);
        // The hash table E (first in the layout) and every LayerNorm gain (1 at init) are untouched.
        Assert.Equal(before.AsSpan(0, 13 * 8).ToArray(), tower.Parameters.AsSpan(0, 13 * 8).ToArray());
        Assert.Equal(before.Count(x => x == 1f), tower.Parameters.Count(x => x == 1f));
    }

    [Fact]
    public void StateRoundTrips()
    {
        IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.MlpConcat, ItemSageTowerTests.Small);
        var adam = new AdamW(tower, new AdamWOptions());
        Array.Fill(tower.Gradients, 0.01f);
        adam.Step();
        using var stream = new MemoryStream();
        adam.SaveState(stream);
        var other = new AdamW(tower, new AdamWOptions());
        stream.Position = 0;
        other.LoadState(stream);
        Assert.Equal(1, other.StepCount);
        Assert.Throws<PinnerSage.IO.DataFormatException>(() => other.LoadState(new MemoryStream([1, 2, 3])));
    }
}
