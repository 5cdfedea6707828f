using PinnerSage.IO;
using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;
using PinnerSage.Synthetic;
using Xunit.Abstractions;

namespace PinnerSage.Tests.ItemSage.Evaluation;

public sealed class ItemSageEvaluationTests(ITestOutputHelper output)
{
    private static readonly ItemSageModelOptions Small = new()
    {
        HashRows = 4096, HashDim = 32, DModel = 32, Heads = 4, Layers = 1, FfnDim = 64, Dropout = 0.1f, HeadHidden = 64, OutputDim = 32,
    };

    private static ItemSageEvalOptions Options(int steps, params string[] variants) => new()
    {
        StepsPerVariant = steps,
        Model = Small,
        Training = new ItemSageTrainingOptions { BatchSize = 64, RandomNegatives = 64, WarmupSteps = 10, LearningRate = 3e-3f, Seed = 3 },
        MaxTestPairsPerTask = 600,
        Variants = variants,
    };

    [Fact]
    public void Multi_task_is_at_least_as_good_as_single_task_on_the_sparse_tasks_of_the_synthetic_world()
    {
        using var dir = new TempDir();
        var world = SyntheticWorld.Create(new SyntheticWorldOptions { Users = 500, Items = 800, Topics = 25, Days = 60, Dimension = 16, Seed = 11 });
        SyntheticWorldWriter.Write(world, dir.Path, 1);
        ItemSageEvalReport report = ItemSageEvaluation.Run(DatasetLayout.Open(dir.Path), Options(120, "popularity", "transformer", "single-task"),
            line => output.WriteLine(line));
        Assert.Equal(["add_to_cart", "checkout", "click", "save"], report.TrainPairs.Keys.Order(StringComparer.Ordinal));
        foreach (string task in new[] { "add_to_cart", "checkout" })
        {
            double multi = report.Results["transformer"][task]["recall@50"], single = report.Results["single-task"][task]["recall@50"];
            output.WriteLine($"{task}: multi-task {multi:F3} vs single-task {single:F3} (popularity {report.Results["popularity"][task]["recall@50"]:F3})");
            Assert.True(multi >= single, $"{task}: multi-task recall@50 {multi:F3} < single-task {single:F3}");
        }
    }

    /// <summary>The fast version of the real-data acceptance; movielens-small and amazon-beauty need the eval's
    /// budget (bench/results/itemsage-eval.md), too slow for a test.</summary>
    [Theory]
    [InlineData("amazon-scientific", 150)]
    public void Transformer_beats_popularity_on_real_data_with_a_small_budget(string name, int steps)
    {
        string? root = TestData.RequireDataset(name, output);
        if (root is null) return;
        ItemSageEvalReport report = ItemSageEvaluation.Run(DatasetLayout.Open(root), Options(steps, "popularity", "transformer") with { MaxTestPairsPerTask = 500 },
            line => output.WriteLine(line));
        double model = report.Results["transformer"][RecallAtK.AllTasks]["recall@50"];
        double popularity = report.Results["popularity"][RecallAtK.AllTasks]["recall@50"];
        Assert.True(model > popularity, $"{name}: transformer recall@50 {model:F3} ≤ popularity {popularity:F3}");
    }

    [Fact]
    public void Unknown_variant_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => new ItemSageEvalOptions { Variants = ["nope"] }.Validate());
    }
}
