using PinnerSage.IO;
using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;
using PinnerSage.Tests.ItemSage.Training;

namespace PinnerSage.Tests.ItemSage.Evaluation;

public sealed class ValidationSelectionTests
{
    private static readonly ItemSageTrainingOptions Fast = new()
    {
        BatchSize = 32, RandomNegatives = 16, Steps = 60, WarmupSteps = 5, LearningRate = 5e-3f, Seed = 5,
    };

    /// <summary>A two-task mini dataset with a 20 % validation period and up to 150 of its pairs.</summary>
    private sealed class TwoTaskData : IDisposable
    {
        private readonly TempDir _dir = new();

        public TwoTaskData()
        {
            var layout = DatasetLayout.Open(MiniDataset.Write(_dir.Path, users: 120, actionTypes: ["click", "save"]));
            Features = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions());
            Pairs = EngagementPairs.Load(layout.ActionsPath, Features.Catalog, new PairOptions { ValidationShare = 0.2 });
            Validation = ValidationSelection.Subsample(Pairs.Validation, 150);
        }

        public ItemSageFeatures Features { get; }

        public EngagementPairs Pairs { get; }

        public PairSet Validation { get; }

        public void Dispose()
        {
            Features.Dispose();
            _dir.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Selects_the_best_validation_checkpoint_and_restores_exactly_its_parameters(bool mlp)
    {
        using var data = new TwoTaskData();
        (ItemSageFeatures f, EngagementPairs pairs, PairSet validation) = (data.Features, data.Pairs, data.Validation);
        Assert.True(validation.Count > 50, $"{validation.Count} validation pairs");
        ItemSageTrainer Fresh() => new(ItemSageTower.Create(mlp ? ItemSageTowerKind.MlpConcat : ItemSageTowerKind.Transformer, f.Apply(ItemSageTrainerTests.Tiny)), f, pairs.Train, pairs.Tasks, Fast);

        var trainer = Fresh();
        SelectionResult result = ValidationSelection.Train(trainer, f, validation, maxSteps: 60, evaluateEvery: 10);

        Assert.Equal(60, trainer.Step);
        Assert.Equal([10, 20, 30, 40, 50, 60], result.Curve.Select(c => c.Step));
        // The selected point is the first maximum of the curve.
        double best = result.Curve.Max(c => c.Recall);
        Assert.Equal(result.Curve.First(c => c.Recall == best).Step, result.SelectedStep);
        Assert.Equal(best, result.SelectedRecall);
        // The restored parameters reproduce that checkpoint's validation recall exactly …
        Assert.Equal(result.SelectedRecall, ValidationSelection.Recall(trainer.Tower, f, validation, pairs.Tasks));
        // … and are bitwise the parameters of a run of the same schedule stopped at the selected step (the validation
        // passes in between do not disturb training).
        var reference = Fresh();
        reference.Train(untilStep: result.SelectedStep);
        Assert.Equal(reference.Tower.Parameters, trainer.Tower.Parameters);
        // Every other point of the curve is reproduced by the same schedule too.
        foreach ((int step, double recall) in result.Curve.Where(c => c.Step > result.SelectedStep).Take(1))
        {
            reference.Train(untilStep: step);
            Assert.Equal(recall, ValidationSelection.Recall(reference.Tower, f, validation, pairs.Tasks));
        }
    }

    /// <summary>The stopping rule against a naive reading of the full validation curve: a run without early stopping
    /// records every point; with patience P the run must stop at the first point that is the P-th in a row without a new
    /// best, keep the best point before it, and leave exactly that checkpoint's parameters (same batches up to there).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Early_stopping_stops_where_the_full_curve_says_and_keeps_the_best_point(int patience)
    {
        using var data = new TwoTaskData();
        (ItemSageFeatures f, EngagementPairs pairs, PairSet validation) = (data.Features, data.Pairs, data.Validation);
        ItemSageTrainingOptions constant = Fast with { Steps = 300, Decay = LearningRateDecay.Constant, LearningRate = 2e-2f };
        ItemSageTrainer Fresh() => new(ItemSageTower.Create(ItemSageTowerKind.Transformer, f.Apply(ItemSageTrainerTests.Tiny)), f, pairs.Train, pairs.Tasks, constant);

        SelectionResult full = ValidationSelection.Train(Fresh(), f, validation, maxSteps: 300, evaluateEvery: 10);
        Assert.Equal(StopReason.MaxSteps, full.Reason);
        Assert.Equal(30, full.Curve.Count);
        // Naive: walk the curve, count points since the best.
        int expectedStop = -1, expectedBest = 0, since = 0;
        double best = double.NegativeInfinity;
        foreach ((int step, double recall) in full.Curve)
        {
            if (recall > best) { best = recall; expectedBest = step; since = 0; continue; }
            if (++since == patience) { expectedStop = step; break; }
        }
        Assert.True(expectedStop > 0, "the curve never plateaus; the test needs a noisier run");

        var trainer = Fresh();
        SelectionResult stopped = ValidationSelection.Train(trainer, f, validation, 300, 10,
            stopping: new StoppingOptions { Patience = patience, PlateauDrops = 0 });
        Assert.Equal(StopReason.Patience, stopped.Reason);
        Assert.Equal(expectedStop, stopped.StoppedStep);
        Assert.Equal(expectedStop, trainer.Step);
        Assert.Equal(expectedBest, stopped.SelectedStep);
        Assert.Equal(full.Curve.TakeWhile(c => c.Step <= expectedStop), stopped.Curve);
        var reference = Fresh();
        reference.Train(untilStep: expectedBest);
        Assert.Equal(reference.Tower.Parameters, trainer.Tower.Parameters);

        // With one drop the run is the same up to the first plateau, then continues at a tenth of the rate.
        var dropping = Fresh();
        SelectionResult dropped = ValidationSelection.Train(dropping, f, validation, 300, 10,
            stopping: new StoppingOptions { Patience = patience, PlateauDrops = 1, PlateauFactor = 0.1f });
        Assert.Equal([expectedStop], dropped.LearningRateDrops!);
        Assert.Equal(0.1f, dropping.LearningRateScale);
        Assert.Equal(full.Curve.TakeWhile(c => c.Step <= expectedStop), dropped.Curve.TakeWhile(c => c.Step <= expectedStop));
        Assert.True(dropped.StoppedStep > expectedStop);
        Assert.Equal(dropped.Curve.Max(c => c.Recall), dropped.SelectedRecall);
    }

    [Fact]
    public void The_learning_rate_scale_multiplies_the_schedule()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.Path));
        using var f = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions());
        var pairs = EngagementPairs.Load(layout.ActionsPath, f.Catalog, new PairOptions());
        var tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, f.Apply(ItemSageTrainerTests.Tiny));
        var options = new AdamWOptions { LearningRate = 1e-2f, WarmupSteps = 2, TotalSteps = 10 };
        var optimizer = new AdamW(tower, options) { LearningRateScale = 0.25f };
        optimizer.Step();
        Assert.Equal(options.LearningRateAt(1) * 0.25f, optimizer.LearningRate);
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.LearningRateScale = 0);
    }

    [Fact]
    public void Without_validation_pairs_the_last_step_is_kept()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.Path));
        using var f = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions());
        var pairs = EngagementPairs.Load(layout.ActionsPath, f.Catalog, new PairOptions());
        var trainer = new ItemSageTrainer(ItemSageTower.Create(ItemSageTowerKind.Transformer, f.Apply(ItemSageTrainerTests.Tiny)), f, pairs.Train, pairs.Tasks, Fast);
        SelectionResult result = ValidationSelection.Train(trainer, f, ValidationSelection.Subsample(pairs.Validation, 10, task: 99), 20, 10);
        Assert.Empty(result.Curve);
        Assert.Equal(20, result.SelectedStep);
        Assert.True(double.IsNaN(result.SelectedRecall));
    }

    [Fact]
    public void Subsample_is_evenly_spaced_and_filters_by_task()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.Path, users: 120, actionTypes: ["click", "save"]));
        using var f = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions());
        PairSet all = EngagementPairs.Load(layout.ActionsPath, f.Catalog, new PairOptions()).Train;
        PairSet few = ValidationSelection.Subsample(all, 7);
        Assert.Equal(7, few.Count);
        for (int j = 0; j < 7; j++)
        {
            int i = (int)((long)j * all.Count / 7);
            Assert.Equal((all.Query[i], all.Positive[i], all.Task[i], all.Time[i]), (few.Query[j], few.Positive[j], few.Task[j], few.Time[j]));
        }
        PairSet saves = ValidationSelection.Subsample(all, int.MaxValue, task: 1);
        Assert.Equal(all.CountPerTask(2)[1], saves.Count);
        Assert.All(saves.Task, t => Assert.Equal(1, t));
    }

    [Fact]
    public void The_eval_reports_the_selected_step_of_every_trained_variant()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.Path, users: 120, actionTypes: ["click", "save"]));
        var options = new ItemSageEvalOptions
        {
            MaxSteps = 40, ValidateEvery = 20, Model = ItemSageTrainerTests.Tiny, MlpModel = ItemSageTrainerTests.Tiny,
            Training = Fast, MlpTraining = Fast, Variants = ["popularity", "transformer", "mlp-concat", "single-task"],
            Pairs = new PairOptions { ValidationShare = 0.2 },
        };
        ItemSageEvalReport report = ItemSageEvaluation.Run(layout, options);
        Assert.False(report.Results["popularity"][RecallAtK.AllTasks].ContainsKey(ItemSageEvaluation.SelectedStepKey));
        foreach (string v in new[] { "transformer", "mlp-concat", "single-task" })
        {
            foreach ((string task, var metrics) in report.Results[v])
            {
                Assert.Contains(metrics[ItemSageEvaluation.SelectedStepKey], new double[] { 20, 40 });
                Assert.InRange(metrics[ItemSageEvaluation.ValidationRecallKey], 0, 1);
            }
        }
        Assert.All(report.Runs.Values, r => Assert.InRange(r.Steps, 20, 40));
        Assert.All(report.Runs.Values, r => Assert.NotNull(r.Reason));
        // The JSON carries every run's stopping step and reason.
        string json = Path.Combine(dir.Path, "eval.json");
        report.WriteJson(json);
        using (var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json)))
        {
            var runs = doc.RootElement.GetProperty(ItemSageEvalReport.RunsKey);
            foreach ((string name, VariantRun run) in report.Runs)
            {
                Assert.Equal(run.Steps, runs.GetProperty(name).GetProperty("steps").GetInt32());
                Assert.Equal(run.Reason.ToString(), runs.GetProperty(name).GetProperty("stop_reason").GetString());
            }
            Assert.True(doc.RootElement.GetProperty("transformer").GetProperty(RecallAtK.AllTasks).TryGetProperty(ItemSageEvaluation.StoppedStepKey, out _));
        }
        // Fixed steps still work and report no selection.
        ItemSageEvalReport fixedSteps = ItemSageEvaluation.Run(layout, options with { SelectOnValidation = false, StepsPerVariant = 30, Variants = ["transformer"] });
        Assert.Equal(30, fixedSteps.Runs["transformer"].Steps);
        Assert.Null(fixedSteps.Runs["transformer"].SelectedStep);
        Assert.False(fixedSteps.Results["transformer"][RecallAtK.AllTasks].ContainsKey(ItemSageEvaluation.SelectedStepKey));
    }
}
