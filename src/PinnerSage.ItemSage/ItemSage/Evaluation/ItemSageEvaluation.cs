using System.Diagnostics;
using PinnerSage.IO;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.ItemSage.Evaluation;

/// <summary>Options of the ItemSage ablation (<see cref="ItemSageEvaluation.Run"/>).</summary>
public sealed record ItemSageEvalOptions
{
    /// <summary>The default: model selection on the validation split. Every trained model trains up to
    /// <see cref="MaxSteps"/>, its validation recall@50 is measured every <see cref="ValidateEvery"/> steps and the
    /// best checkpoint is evaluated on the test period (<see cref="ValidationSelection"/>). False = train exactly
    /// <see cref="StepsPerVariant"/> steps. Ignored when <see cref="BudgetSeconds"/> is set.</summary>
    public bool SelectOnValidation { get; init; } = true;

    /// <summary>Maximum training steps per model under validation selection: a generous cap; early stopping
    /// (<see cref="Stopping"/>) normally ends training first.</summary>
    public int MaxSteps { get; init; } = ItemSageEvaluation.DefaultMaxSteps;

    /// <summary>Early stopping under validation selection (patience in validation points, learning-rate drops on a
    /// plateau); <see cref="StoppingOptions.None"/> trains every model to <see cref="MaxSteps"/>.</summary>
    public StoppingOptions Stopping { get; init; } = ItemSageEvaluation.DefaultStopping;

    /// <summary>Learning-rate schedule after the warm-up under validation selection (constant by default: early
    /// stopping decides the length, so no step count is baked into the schedule; cosine decays over
    /// <see cref="MaxSteps"/>).</summary>
    public LearningRateDecay SelectionDecay { get; init; } = LearningRateDecay.Constant;

    /// <summary>Steps between validation points under validation selection.</summary>
    public int ValidateEvery { get; init; } = ItemSageEvaluation.DefaultValidateEvery;

    /// <summary>Validation pairs scored at each validation point (evenly spaced; of the model's tasks, pooled).</summary>
    public int MaxValidationPairs { get; init; } = ItemSageEvaluation.DefaultMaxValidationPairs;

    /// <summary>Fixed training steps per trained model when <see cref="SelectOnValidation"/> is false, the same for
    /// every variant (deterministic and independent of the machine's speed and load).</summary>
    public int StepsPerVariant { get; init; } = ItemSageEvaluation.DefaultSteps;

    /// <summary>Optional wall-clock budget instead of <see cref="StepsPerVariant"/>: total training time, split evenly
    /// over the trained models (results then depend on the machine and its load).</summary>
    public double? BudgetSeconds { get; init; }

    /// <summary>Model shape of every transformer variant (feature sizes are filled in per variant).</summary>
    public ItemSageModelOptions Model { get; init; } = ItemSageEvaluation.SmallModel;

    /// <summary>Training options of the full model; ablations change one thing each.</summary>
    public ItemSageTrainingOptions Training { get; init; } = ItemSageEvaluation.DefaultTraining;

    /// <summary>Model shape of the MLP-concat baseline (its own tuned setting, found with the same search as the
    /// transformer's: bench/results/itemsage-eval.md).</summary>
    public ItemSageModelOptions MlpModel { get; init; } = ItemSageEvaluation.SmallModel;

    /// <summary>Training options of the MLP-concat baseline (same loss, batch and steps as the transformer; its own
    /// tuned learning rate).</summary>
    public ItemSageTrainingOptions MlpTraining { get; init; } = ItemSageEvaluation.DefaultMlpTraining;

    /// <summary>Pair building and the time split.</summary>
    public PairOptions Pairs { get; init; } = new();

    /// <summary>Feature choices (text fields, vector sets, vocabulary caps).</summary>
    public ItemSageFeatureOptions Features { get; init; } = new();

    /// <summary>Evaluate at most this many test pairs per task (evenly spaced).</summary>
    public int MaxTestPairsPerTask { get; init; } = ItemSageEvaluation.DefaultMaxTestPairsPerTask;

    /// <summary>Trained models per variant, with seeds <c>Seed</c>, <c>Seed + 1</c>, … of the initialisation and the
    /// training (both the model's and the training options' seeds are offset). Reported recalls are means over the
    /// seeds, and the intervals of the differences resample the seeds too (<see cref="RecallAtK.Difference"/>).
    /// Default 1.</summary>
    public int Seeds { get; init; } = 1;

    /// <summary>Cut-offs k of recall@k.</summary>
    public IReadOnlyList<int> Ks { get; init; } = [10, 50];

    /// <summary>Run only these variants (names of <see cref="ItemSageEvaluation.VariantNames"/>); null = all that apply.</summary>
    public IReadOnlyList<string>? Variants { get; init; }

    /// <summary>Checks the options.</summary>
    public void Validate()
    {
        if (BudgetSeconds is double b && !(b > 0)) throw new ArgumentOutOfRangeException(nameof(BudgetSeconds), b, "must be > 0");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(StepsPerVariant);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxSteps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ValidateEvery);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxValidationPairs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Seeds);
        ArgumentNullException.ThrowIfNull(Stopping);
        Stopping.Validate();
        ArgumentNullException.ThrowIfNull(Model);
        ArgumentNullException.ThrowIfNull(Training);
        ArgumentNullException.ThrowIfNull(MlpModel);
        ArgumentNullException.ThrowIfNull(MlpTraining);
        Training.Validate();
        MlpTraining.Validate();
        Pairs.Validate();
        Features.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxTestPairsPerTask);
        if (Ks.Count == 0 || Ks.Any(k => k < 1)) throw new ArgumentOutOfRangeException(nameof(Ks), "cut-offs must be ≥ 1");
        if (Variants?.FirstOrDefault(v => !ItemSageEvaluation.VariantNames.Contains(v)) is string bad)
            throw new ArgumentException($"Unknown variant '{bad}'; known: {string.Join(", ", ItemSageEvaluation.VariantNames)}.", nameof(Variants));
    }
}

/// <summary>The result of an ablation: variant → task → metric → value, plus what was run.</summary>
/// <param name="Results">Variant → task ("all" pooled) → metric ("recall@10", "recall@50", "pairs") → value.</param>
/// <param name="Runs">Per trained variant: steps, seconds, examples/s and final training loss.</param>
/// <param name="TrainPairs">Training pairs per task.</param>
/// <param name="TestPairs">Test pairs per task (before subsampling).</param>
public sealed record ItemSageEvalReport(
    IReadOnlyDictionary<string, Dictionary<string, Dictionary<string, double>>> Results,
    IReadOnlyDictionary<string, VariantRun> Runs,
    IReadOnlyDictionary<string, int> TrainPairs,
    IReadOnlyDictionary<string, int> TestPairs)
{
    /// <summary>Key of the per-model run records in the JSON written by <see cref="WriteJson"/>.</summary>
    public const string RunsKey = "_runs";

    /// <summary>Writes <see cref="Results"/> as indented JSON (variant → task → metric → value) plus, under
    /// <see cref="RunsKey"/>, every trained model's run (per seed: steps, stopping step and reason, seconds,
    /// examples/s), atomically.</summary>
    public void WriteJson(string path) => AtomicFile.WriteText(path, w =>
    {
        var document = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach ((string variant, var tasks) in Results) document[variant] = tasks;
        document[RunsKey] = Runs.ToDictionary(kv => kv.Key, kv => (object)new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["steps"] = kv.Value.Steps,
            ["selected_step"] = kv.Value.SelectedStep,
            ["validation_recall@50"] = kv.Value.ValidationRecall,
            ["stop_reason"] = kv.Value.Reason?.ToString(),
            ["learning_rate_drops"] = kv.Value.LearningRateDrops,
            ["seconds"] = Math.Round(kv.Value.Seconds, 2),
            ["examples_per_second"] = Math.Round(kv.Value.ExamplesPerSecond),
            ["final_loss"] = kv.Value.FinalLoss,
        });
        w.Write(System.Text.Json.JsonSerializer.Serialize(document, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    });
}

/// <summary>How one trained model of a variant ran.</summary>
/// <param name="Steps">Steps trained.</param>
/// <param name="Seconds">Wall time (training, and validation when selecting).</param>
/// <param name="ExamplesPerSecond">Training pairs per second of wall time.</param>
/// <param name="FinalLoss">Mean training loss at the last step trained.</param>
/// <param name="SelectedStep">Under validation selection: the step of the evaluated checkpoint; otherwise null.</param>
/// <param name="ValidationRecall">Under validation selection: that checkpoint's validation recall@50.</param>
/// <param name="Reason">Under validation selection: why training stopped (at <paramref name="Steps"/>).</param>
/// <param name="LearningRateDrops">Under validation selection: steps after which the learning rate dropped on a plateau.</param>
public sealed record VariantRun(int Steps, double Seconds, double ExamplesPerSecond, double FinalLoss, int? SelectedStep = null,
    double? ValidationRecall = null, StopReason? Reason = null, IReadOnlyList<int>? LearningRateDrops = null);

/// <summary>The ItemSage ablation: popularity and trained variants, recall@k of the engaged item against the whole
/// catalogue on the held-out later period, per task.</summary>
/// <remarks>Variants (ItemSage, Baltescu et al., KDD 2022, §4): <c>popularity</c> (training-period engagement counts);
/// <c>transformer</c> (the full model: every feature, multi-task, both loss terms, logQ); <c>text-only</c> and
/// <c>vectors-only</c> (only when the dataset has both kinds; otherwise they equal <c>transformer</c> and are left out);
/// <c>mlp-concat</c> (the paper's baseline tower on the same features and loss); <c>single-task</c> (one model per task,
/// trained on that task's pairs only and evaluated on it; only with ≥ 2 tasks); <c>no-random-negatives</c>;
/// <c>no-logq</c>. Query side: the shared tower (no query space exists in the generic layout). Budget (our choice): by
/// default every trained model trains up to the same maximum steps and is evaluated at the checkpoint with the best
/// validation recall@50 (<see cref="ValidationSelection"/>: model selection on the validation period, never on the
/// test period); optionally the same fixed steps for every model, or equal wall-clock time per model. Steps are fixed
/// numbers, so results are reproducible and do not depend on the machine's load. Each tower has its own learning rate and shape,
/// tuned with the same search effort (bench/results/itemsage-eval.md). With <see cref="ItemSageEvalOptions.Seeds"/> &gt; 1
/// every model is trained once per seed and the recalls are means; every variant's difference from the transformer gets
/// a bootstrap interval over the users who formed the test pairs and over the seeds.</remarks>
public static class ItemSageEvaluation
{
    /// <summary>Variant names in report order.</summary>
    public static readonly IReadOnlyList<string> VariantNames =
        ["popularity", "transformer", "text-only", "vectors-only", "mlp-concat", "single-task", "no-random-negatives", "no-logq"];

    /// <summary>Training steps per trained model of the default budget (our choice: a full ablation of one of the
    /// real datasets then takes a few minutes on 2 idle cores; bench/results/itemsage-eval.md).</summary>
    public const int DefaultSteps = 1000;

    /// <summary>Maximum steps per trained model of the default (validation-selected, early-stopped) budget: a cap
    /// that only guards against a run that never converges (our choice; on the shared datasets every tower stops on
    /// patience long before it, bench/results/itemsage-eval.md).</summary>
    public const int DefaultMaxSteps = 20_000;

    /// <summary>Early stopping of the default budget (our choice, made on the validation split of the shared
    /// datasets: bench/results/itemsage-eval.md).</summary>
    public static StoppingOptions DefaultStopping { get; } = new();

    /// <summary>Steps between validation points of the default budget.</summary>
    public const int DefaultValidateEvery = 250;

    /// <summary>Test pairs evaluated per task by default (our choice: every pair of the real datasets here but
    /// amazon-beauty's; the standard error of a recall of 0.1 is then ≤ 0.004, and scoring a pair against the whole
    /// catalogue costs microseconds, so the cap only bounds very large test periods).</summary>
    public const int DefaultMaxTestPairsPerTask = 20_000;

    /// <summary>Validation pairs scored at each validation point by default (our choice: half the test cap, as a model
    /// is validated up to nine times).</summary>
    public const int DefaultMaxValidationPairs = 10_000;

    /// <summary>Metric key of the selected step in <see cref="ItemSageEvalReport.Results"/> (validation selection).</summary>
    public const string SelectedStepKey = "selected_step";

    /// <summary>Metric key of the last step trained in <see cref="ItemSageEvalReport.Results"/> (validation selection;
    /// the per-seed reasons are in the JSON's <see cref="ItemSageEvalReport.RunsKey"/>).</summary>
    public const string StoppedStepKey = "stopped_step";

    /// <summary>Metric key, in a variant's pooled ("all") results, of its recall@k minus the transformer's on the same
    /// test pairs (means over the seeds); "_low" and "_high" suffixed keys hold the 95 % bootstrap interval, which
    /// resamples the users who formed the test pairs (the same users for both models) and the seeds
    /// (<see cref="RecallAtK.Difference"/>).</summary>
    public static string DeltaKey(int k) => $"delta_recall@{k}_vs_transformer";

    /// <summary>Suffix of a recall's standard deviation over the seeds (with <see cref="ItemSageEvalOptions.Seeds"/> &gt; 1).</summary>
    public const string SeedSdSuffix = "_seed_sd";

    /// <summary>Metric key of the number of seeds averaged (with <see cref="ItemSageEvalOptions.Seeds"/> &gt; 1).</summary>
    public const string SeedsKey = "seeds";

    /// <summary>Metric key of the selected checkpoint's validation recall@50 in <see cref="ItemSageEvalReport.Results"/>.</summary>
    public const string ValidationRecallKey = "validation_recall@50";

    /// <summary>Training options of the eval's models (our choice; bench/results/itemsage-eval.md has the search).</summary>
    public static ItemSageTrainingOptions DefaultTraining { get; } = new()
    {
        BatchSize = 128, RandomNegatives = 128, Steps = DefaultSteps, WarmupSteps = 30, LearningRate = 2e-3f,
    };

    /// <summary>A small model for a few-minute evaluation on 2 cores (our choice; dropout 0 and the widths are the
    /// result of the tuning in bench/results/itemsage-eval.md). The paper's 8 heads and one projection per feature
    /// group, where every vector set (an image encoder, a language model) is its own group — for MLP-concat that means
    /// the sets are concatenated, the baseline's literal form; both choices also raised both towers' validation recall.</summary>
    public static ItemSageModelOptions SmallModel { get; } = new()
    {
        HashRows = 20_000, HashDim = 64, DModel = 64, Heads = 8, Layers = 1, FfnDim = 128, Dropout = 0f,
        HeadHidden = 128, OutputDim = 64, ProjectionPerVectorSet = true,
    };

    /// <summary>Training options of the MLP-concat baseline: <see cref="DefaultTraining"/> with its own learning rate
    /// (1e-3: the higher validation recall of the two rates tried under validation selection, bench/results/itemsage-eval.md).</summary>
    public static ItemSageTrainingOptions DefaultMlpTraining { get; } = DefaultTraining with { LearningRate = 1e-3f };

    /// <summary>Runs the ablation on a dataset in the generic layout.</summary>
    public static ItemSageEvalReport Run(DatasetLayout dataset, ItemSageEvalOptions options, Action<string>? log = null,
        Action<string, TrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using ItemSageFeatures full = ItemSageFeatures.Build(dataset, options.Features);
        EngagementPairs pairs = EngagementPairs.Load(dataset.ActionsPath, full.Catalog, options.Pairs);
        IReadOnlyList<string> tasks = pairs.Tasks;
        int[] trainCounts = pairs.Train.CountPerTask(tasks.Count), testCounts = pairs.Test.CountPerTask(tasks.Count);
        log?.Invoke($"{full.ItemCount:N0} items, {full.Vocabulary}, vector sets: {(full.VectorSets.Count == 0 ? "none" : string.Join(", ", full.VectorSets))}; " +
                    $"pairs train {pairs.Train.Count:N0} / validation {pairs.Validation.Count:N0} / test {pairs.Test.Count:N0}; tasks {string.Join(", ", tasks)}");
        bool hasText = full.TextFields.Count > 0, hasVectors = full.VectorSets.Count > 0;
        bool Wanted(string v) => options.Variants is null || options.Variants.Contains(v);
        int[] trainedTasks = [.. Enumerable.Range(0, tasks.Count).Where(t => trainCounts[t] > 0)];

        var plan = new List<string>();
        foreach (string v in VariantNames.Skip(1))
        {
            bool applies = v switch
            {
                "text-only" or "vectors-only" => hasText && hasVectors,
                "single-task" => trainedTasks.Length >= 2,
                _ => true,
            };
            if (applies && Wanted(v)) plan.Add(v);
        }
        int models = plan.Sum(v => v == "single-task" ? trainedTasks.Length : 1);
        TimeSpan? perModel = options.BudgetSeconds is double budget ? TimeSpan.FromSeconds(budget / Math.Max(1, models)) : null;

        var results = new Dictionary<string, Dictionary<string, Dictionary<string, double>>>(StringComparer.Ordinal);
        var runs = new Dictionary<string, VariantRun>(StringComparer.Ordinal);
        // Every variant but single-task scores the same test pairs; their ranks (one array per seed) are kept for the
        // paired comparison, which resamples the users who formed the pairs.
        int[] testPairs = RecallAtK.SelectPairs(pairs.Test, tasks.Count, options.MaxTestPairsPerTask);
        int[] testUsers = pairs.Test.User.Length == 0 ? [] : [.. testPairs.Select(i => pairs.Test.User[i])];
        var ranks = new Dictionary<string, List<int[]>>(StringComparer.Ordinal);
        Dictionary<string, Dictionary<string, double>> Score(string variant, int itemCount, RecallAtK.Scorer scorer)
        {
            int[] r = RecallAtK.Ranks(pairs.Test, testPairs, itemCount, scorer);
            if (!ranks.TryGetValue(variant, out List<int[]>? list)) ranks[variant] = list = [];
            list.Add(r);
            return RecallAtK.Summarize(pairs.Test, tasks, testPairs, r, options.Ks);
        }
        if (Wanted("popularity"))
        {
            results["popularity"] = Score("popularity", full.ItemCount, RecallAtK.Constant(pairs.TrainPopularity));
            log?.Invoke(Summary("popularity", results["popularity"], options.Ks));
        }
        foreach (string v in plan)
        {
            ItemSageFeatures? own = v switch
            {
                "text-only" => ItemSageFeatures.Build(dataset, options.Features with { VectorSets = [] }),
                "vectors-only" => ItemSageFeatures.Build(dataset, options.Features with { TextFields = [] }),
                _ => null,
            };
            try
            {
                ItemSageFeatures features = own ?? full;
                var perSeed = new List<Dictionary<string, Dictionary<string, double>>>();
                for (int seed = 0; seed < options.Seeds; seed++)
                {
                    ItemSageEvalOptions o = options with
                    {
                        Model = options.Model with { Seed = options.Model.Seed + (ulong)seed },
                        Training = options.Training with { Seed = options.Training.Seed + (ulong)seed },
                    };
                    string name = options.Seeds == 1 ? v : $"{v} (seed {o.Training.Seed})";
                    ItemSageTrainingOptions training = o.Training;
                    if (v == "no-random-negatives") training = training with { RandomNegatives = 0 };
                    if (v == "no-logq") training = training with { LogQCorrection = false };
                    if (v == "single-task")
                    {
                        var merged = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
                        foreach (int t in trainedTasks)
                        {
                            ItemSageTrainingOptions one = training with { TaskShares = new Dictionary<string, double> { [tasks[t]] = 1 } };
                            (float[] emb, VariantRun run) = TrainAndEmbed(name + ":" + tasks[t], false, features, pairs, one, o, perModel, progress, t, log);
                            runs[name + ":" + tasks[t]] = run;
                            foreach (var kv in RecallAtK.Evaluate(pairs.Test, tasks, features.ItemCount, RecallAtK.FromEmbeddings(emb, o.Model.OutputDim),
                                         o.Ks, o.MaxTestPairsPerTask, new HashSet<int> { t }))
                            {
                                if (kv.Key != RecallAtK.AllTasks) merged[kv.Key] = WithSelection(kv.Value, run);
                            }
                        }
                        perSeed.Add(merged);
                    }
                    else
                    {
                        bool mlp = v == "mlp-concat";
                        (float[] emb, VariantRun run) = TrainAndEmbed(name, mlp, features, pairs, mlp ? o.MlpTraining with { Seed = training.Seed } : training,
                            o, perModel, progress, null, log);
                        runs[name] = run;
                        var scored = Score(v, features.ItemCount, RecallAtK.FromEmbeddings(emb, ShapeOf(o, mlp).OutputDim));
                        foreach (var metrics in scored.Values) WithSelection(metrics, run);
                        perSeed.Add(scored);
                    }
                    if (options.Seeds > 1) log?.Invoke(Summary(name, perSeed[^1], options.Ks));
                }
                results[v] = options.Seeds == 1 ? perSeed[0] : MeanOverSeeds(perSeed, options.Ks);
                log?.Invoke(Summary(v, results[v], options.Ks));
            }
            finally
            {
                own?.Dispose();
            }
        }
        if (ranks.TryGetValue("transformer", out List<int[]>? transformerRanks))
        {
            foreach ((string v, List<int[]> r) in ranks)
            {
                if (v == "transformer") continue;
                Dictionary<string, double> all = results[v][RecallAtK.AllTasks];
                foreach (int k in options.Ks)
                {
                    (double delta, double low, double high) = RecallAtK.Difference(r, transformerRanks, k, testUsers);
                    all[DeltaKey(k)] = delta;
                    all[DeltaKey(k) + "_low"] = low;
                    all[DeltaKey(k) + "_high"] = high;
                }
            }
        }
        return new ItemSageEvalReport(results, runs,
            Enumerable.Range(0, tasks.Count).ToDictionary(t => tasks[t], t => trainCounts[t]),
            Enumerable.Range(0, tasks.Count).ToDictionary(t => tasks[t], t => testCounts[t]));
    }

    private static IItemTower CreateTower(ItemSageFeatures features, ItemSageModelOptions shape, bool mlp) =>
        ItemSageTower.Create(mlp ? ItemSageTowerKind.MlpConcat : ItemSageTowerKind.Transformer, features.Apply(shape));

    private static (float[] Embeddings, VariantRun Run) TrainAndEmbed(string name, bool mlp, ItemSageFeatures features,
        EngagementPairs pairs, ItemSageTrainingOptions training, ItemSageEvalOptions options, TimeSpan? budget,
        Action<string, TrainingProgress>? progress, int? task, Action<string>? log)
    {
        if (options.SelectOnValidation && budget is null) return TrainSelectAndEmbed(name, mlp, features, pairs, training, options, progress, task, log);
        var clock = Stopwatch.StartNew();
        int steps = budget is TimeSpan b ? CalibrateSteps(mlp, features, pairs, training, options, b) : options.StepsPerVariant;
        training = training with { Steps = steps };
        IItemTower tower = CreateTower(features, ShapeOf(options, mlp), mlp);
        var trainer = new ItemSageTrainer(tower, features, pairs.Train, pairs.Tasks, training);
        // Under a time budget the calibrated schedule is only an estimate: train on (at the final learning rate) until
        // the budget is spent, so every model gets the same time.
        double loss = budget is TimeSpan limit
            ? trainer.Train(p => progress?.Invoke(name, p), limit - clock.Elapsed, untilStep: int.MaxValue)
            : trainer.Train(p => progress?.Invoke(name, p));
        double seconds = clock.Elapsed.TotalSeconds;
        float[] embeddings = ItemSageEmbedder.EmbedAll(tower, features);
        return (embeddings, new VariantRun(trainer.Step, seconds, trainer.Step * training.BatchSize / Math.Max(1e-9, seconds), loss));
    }

    private static (float[] Embeddings, VariantRun Run) TrainSelectAndEmbed(string name, bool mlp, ItemSageFeatures features,
        EngagementPairs pairs, ItemSageTrainingOptions training, ItemSageEvalOptions options, Action<string, TrainingProgress>? progress,
        int? task, Action<string>? log)
    {
        var clock = Stopwatch.StartNew();
        training = training with { Steps = options.MaxSteps, Decay = options.SelectionDecay };
        IItemTower tower = CreateTower(features, ShapeOf(options, mlp), mlp);
        var trainer = new ItemSageTrainer(tower, features, pairs.Train, pairs.Tasks, training);
        PairSet validation = ValidationSelection.Subsample(pairs.Validation, options.MaxValidationPairs, task);
        SelectionResult selection = ValidationSelection.Train(trainer, features, validation, options.MaxSteps, options.ValidateEvery,
            progress: p => progress?.Invoke(name, p), stopping: options.Stopping);
        double seconds = clock.Elapsed.TotalSeconds;
        log?.Invoke($"{name}: validation recall@50 ({validation.Count:N0} pairs) " + (selection.Curve.Count == 0
            ? "not measured (no validation pairs): the last step is used"
            : string.Join(", ", selection.Curve.Select(c => System.FormattableString.Invariant($"{c.Step}: {c.Recall:F4}"))) +
              $"; selected step {selection.SelectedStep}; stopped at {selection.StoppedStep} ({selection.Reason})" +
              (selection.LearningRateDrops is { Count: > 0 } d
                  ? System.FormattableString.Invariant($"; learning rate × {options.Stopping.PlateauFactor} after {string.Join(", ", d)}") : "")));
        float[] embeddings = ItemSageEmbedder.EmbedAll(tower, features);
        return (embeddings, new VariantRun(trainer.Step, seconds, trainer.Step * training.BatchSize / Math.Max(1e-9, seconds),
            selection.FinalLoss, selection.SelectedStep, double.IsNaN(selection.SelectedRecall) ? null : selection.SelectedRecall,
            selection.Reason, selection.LearningRateDrops));
    }

    /// <summary>Task → metric → mean over the seeds' results; every recall also gets its sample standard deviation over
    /// the seeds (<c>recall@k_seed_sd</c>), and <c>seeds</c> counts them.</summary>
    private static Dictionary<string, Dictionary<string, double>> MeanOverSeeds(
        List<Dictionary<string, Dictionary<string, double>>> perSeed, IReadOnlyList<int> ks)
    {
        var mean = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
        foreach ((string task, Dictionary<string, double> first) in perSeed[0])
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (string metric in first.Keys)
                metrics[metric] = perSeed.Average(r => r[task][metric]);
            foreach (int k in ks)
            {
                string key = $"recall@{k}";
                if (!metrics.TryGetValue(key, out double m)) continue;
                double ss = perSeed.Sum(r => (r[task][key] - m) * (r[task][key] - m));
                metrics[key + SeedSdSuffix] = Math.Sqrt(ss / (perSeed.Count - 1));
            }
            metrics[SeedsKey] = perSeed.Count;
            mean[task] = metrics;
        }
        return mean;
    }

    private static Dictionary<string, double> WithSelection(Dictionary<string, double> metrics, VariantRun run)
    {
        if (run.SelectedStep is int step) metrics[SelectedStepKey] = step;
        if (run.Reason is not null) metrics[StoppedStepKey] = run.Steps;
        if (run.ValidationRecall is double recall) metrics[ValidationRecallKey] = recall;
        return metrics;
    }

    /// <summary>Steps that fit in <paramref name="budget"/>: times a few steps of a throwaway model (after four warm-up
    /// steps) so the real run's learning-rate schedule can decay over the whole budget; the time spent here counts.</summary>
    private static int CalibrateSteps(bool mlp, ItemSageFeatures features, EngagementPairs pairs, ItemSageTrainingOptions training,
        ItemSageEvalOptions options, TimeSpan budget)
    {
        var clock = Stopwatch.StartNew();
        var probe = new ItemSageTrainer(CreateTower(features, ShapeOf(options, mlp), mlp), features, pairs.Train, pairs.Tasks, training with { Steps = 12 });
        for (int i = 0; i < 4; i++) probe.TrainStep(); // warm-up: JIT and first-touch allocations
        TimeSpan start = clock.Elapsed;
        const int timed = 8;
        for (int i = 0; i < timed; i++) probe.TrainStep();
        double perStep = (clock.Elapsed - start).TotalSeconds / timed;
        return (int)Math.Clamp((budget - clock.Elapsed).TotalSeconds / Math.Max(perStep, 1e-6), 10, 1_000_000);
    }

    private static ItemSageModelOptions ShapeOf(ItemSageEvalOptions options, bool mlp) =>
        mlp ? options.MlpModel with { Seed = options.Model.Seed } : options.Model;

    private static string Summary(string variant, Dictionary<string, Dictionary<string, double>> r, IReadOnlyList<int> ks) =>
        variant + ": " + string.Join("; ", r.Select(kv => kv.Key + " " + string.Join(" ",
            ks.Select(k => System.FormattableString.Invariant($"R@{k}={kv.Value[$"recall@{k}"]:F3}")))));
}
