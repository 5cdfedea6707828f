using PinnerSage.IO;
using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.Tests.ItemSage.Training;

public sealed class ItemSageTrainerTests
{
    internal static readonly ItemSageModelOptions Tiny = new()
    {
        HashRows = 512, HashDim = 16, DModel = 16, Heads = 2, Layers = 1, FfnDim = 32, Dropout = 0f, HeadHidden = 32, OutputDim = 16,
    };

    private static readonly ItemSageTrainingOptions Fast = new()
    {
        BatchSize = 32, RandomNegatives = 16, Steps = 60, WarmupSteps = 5, LearningRate = 5e-3f, Seed = 5,
    };

    private static (ItemSageFeatures Features, EngagementPairs Pairs) Load(string root, string[]? actions = null)
    {
        var layout = DatasetLayout.Open(MiniDataset.Write(root, actionTypes: actions));
        var features = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions());
        return (features, EngagementPairs.Load(layout.ActionsPath, features.Catalog, new PairOptions()));
    }

    [Fact]
    public void Loss_decreases_with_the_transformer_and_the_mlp()
    {
        using var dir = new TempDir();
        (ItemSageFeatures f, EngagementPairs pairs) = Load(dir.Path);
        using (f)
        {
            foreach (bool mlp in new[] { false, true })
            {
                var trainer = new ItemSageTrainer(ItemSageTower.Create(mlp ? ItemSageTowerKind.MlpConcat : ItemSageTowerKind.Transformer, f.Apply(Tiny)), f, pairs.Train, pairs.Tasks, Fast);
                double first = Enumerable.Range(0, 5).Average(_ => trainer.TrainStep());
                for (int i = 0; i < 45; i++) trainer.TrainStep();
                double last = Enumerable.Range(0, 10).Average(_ => trainer.TrainStep());
                Assert.True(last < first - 0.3, $"mlp={mlp}: loss {first:F3} → {last:F3}");
            }
        }
    }

    [Fact]
    public void Same_seed_gives_identical_parameters_and_resume_continues_the_same_run()
    {
        using var dir = new TempDir();
        (ItemSageFeatures f, EngagementPairs pairs) = Load(Path.Combine(dir.Path, "data"), ["click", "save", "checkout"]);
        using (f)
        {
            var options = Fast with { Steps = 12, LearnTemperature = true };
            ItemSageTrainer Fresh() => new(ItemSageTower.Create(ItemSageTowerKind.Transformer, f.Apply(Tiny with { Dropout = 0.1f })), f, pairs.Train, pairs.Tasks, options);
            var a = Fresh();
            a.Train();
            var b = Fresh();
            b.Train(untilStep: 5);
            b.SaveCheckpoint(dir.File("ckpt"));
            var resumed = ItemSageTrainer.Resume(dir.File("ckpt"), f, pairs.Train, pairs.Tasks, options);
            Assert.Equal(5, resumed.Step);
            resumed.Train();
            Assert.Equal(12, resumed.Step);
            Assert.Equal(a.Tower.Parameters, resumed.Tower.Parameters);
            Assert.Equal(a.Temperature, resumed.Temperature);
            var c = Fresh();
            c.Train();
            Assert.Equal(a.Tower.Parameters, c.Tower.Parameters);
        }
    }

    [Fact]
    public void Task_shares_set_rows_per_task_by_largest_remainder()
    {
        int[][] pairsOfTask = [[1, 2], [3], [], [4]];
        string[] tasks = ["a", "b", "c", "d"];
        var equal = ItemSageTrainer.RowsPerTask(new ItemSageTrainingOptions { BatchSize = 256 }, tasks, pairsOfTask);
        Assert.Equal([86, 85, 0, 85], equal); // c has no pairs
        var weighted = ItemSageTrainer.RowsPerTask(new ItemSageTrainingOptions
        {
            BatchSize = 10, TaskShares = new Dictionary<string, double> { ["a"] = 1, ["d"] = 3 },
        }, tasks, pairsOfTask);
        Assert.Equal([3, 0, 0, 7], weighted);
        Assert.Throws<ArgumentException>(() => ItemSageTrainer.RowsPerTask(new ItemSageTrainingOptions
        {
            TaskShares = new Dictionary<string, double> { ["c"] = 1 },
        }, tasks, pairsOfTask));
    }

    [Fact]
    public void Frozen_query_space_trains_only_the_product_side()
    {
        using var dir = new TempDir();
        (ItemSageFeatures f, EngagementPairs pairs) = Load(dir.Path);
        using (f)
        {
            var rng = new Random(3);
            var queries = new float[f.ItemCount * Tiny.OutputDim];
            for (int i = 0; i < queries.Length; i++) queries[i] = (float)rng.NextDouble() - 0.5f;
            for (int r = 0; r < f.ItemCount; r++)
            {
                var row = queries.AsSpan(r * Tiny.OutputDim, Tiny.OutputDim);
                float n = System.Numerics.Tensors.TensorPrimitives.Norm(row);
                for (int j = 0; j < row.Length; j++) row[j] /= n;
            }
            var trainer = new ItemSageTrainer(ItemSageTower.Create(ItemSageTowerKind.Transformer, f.Apply(Tiny)), f, pairs.Train, pairs.Tasks, Fast, queries);
            double first = Enumerable.Range(0, 5).Average(_ => trainer.TrainStep());
            for (int i = 0; i < 45; i++) trainer.TrainStep();
            double last = Enumerable.Range(0, 10).Average(_ => trainer.TrainStep());
            Assert.True(last < first, $"loss {first:F3} → {last:F3}");
        }
    }

    [Fact]
    public void Options_validate()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ItemSageTrainingOptions { BatchSize = 1 }.Validate());
        Assert.Throws<ArgumentException>(() => new ItemSageTrainingOptions { InBatchNegatives = false, RandomNegatives = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ItemSageTrainingOptions { Temperature = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new ItemSageTrainingOptions { TaskShares = new Dictionary<string, double> { ["a"] = -1 } }.Validate());
        new ItemSageTrainingOptions().Validate();
    }
}

public sealed class ItemSageEmbedderTests
{
    [Fact]
    public void EmbedAll_gives_unit_rows_independent_of_the_batch_size()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.Path));
        using var f = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions());
        IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, f.Apply(ItemSageTrainerTests.Tiny));
        float[] a = ItemSageEmbedder.EmbedAll(tower, f, batchSize: 25);
        float[] b = ItemSageEmbedder.EmbedAll(tower, f, batchSize: 60);
        Assert.Equal(f.ItemCount * 16, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 4);
        for (int r = 0; r < f.ItemCount; r++)
            Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Norm(a.AsSpan(r * 16, 16)), 4);
    }
}
