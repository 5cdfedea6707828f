using System.CommandLine;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.ItemSage;
using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage itemsage train | embed | eval | export`: ItemSage product embeddings from a dataset's text fields and
/// pretrained vectors, trained on item-to-item engagement pairs.</summary>
internal static class ItemSageCommand
{
    public static Command Create()
    {
        var cmd = new Command("itemsage", "ItemSage multimodal item embeddings: train a tower, embed a catalogue, run the ablation.");
        cmd.Subcommands.Add(CreateTrain());
        cmd.Subcommands.Add(CreateEmbed());
        cmd.Subcommands.Add(CreateEval());
        cmd.Subcommands.Add(ItemSageExportCommand.Create());
        return cmd;
    }

    private static readonly Option<string> Dataset = new("--dataset")
    { Description = "Dataset folder in the generic layout (actions.tsv, items.tsv, vectors/NAME.npy + .ids).", Required = true };

    private static readonly Option<string?> TextFields = new("--text-fields")
    { Description = "Text columns of items.tsv to use, comma-separated (default: every column but item_id; 'none' = no text)." };

    private static readonly Option<string?> Vectors = new("--vectors")
    { Description = "Vector sets (vectors/NAME.npy) to use, comma-separated (default: all; 'none' = no vectors)." };

    private static readonly Option<ulong> Seed = new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1 };

    private static readonly Option<int> Threads = new("--threads")
    { Description = "Threads of the model's kernels (results are the same for any count).", DefaultValueFactory = _ => Environment.ProcessorCount };

    private static readonly Option<int?> Heads = new("--heads") { Description = "Attention heads of the transformer (must divide --d-model)." };

    private static readonly Option<int?> Layers = new("--layers") { Description = "Transformer encoder layers." };

    private static readonly Option<int?> FfnDim = new("--ffn-dim") { Description = "Feed-forward width of the transformer layers." };

    private static readonly Option<float?> Dropout = new("--dropout") { Description = "Dropout of the transformer layers." };

    private static readonly Option<int?> HeadHidden = new("--head-hidden") { Description = "Hidden width of the output head (LayerNorm → Linear → GELU → Linear)." };

    private static readonly Option<bool?> ProjectionPerVectorSet = new("--projection-per-vector-set")
    { Description = "true/false: every vector set is its own feature group (own projection and slot; the MLP concatenates the sets instead of averaging them). Default: on in eval and with --small, off for the paper-size model." };

    private static readonly Option<string?> Init = new("--init")
    { Description = "Initial weights of the linear layers: orthogonal (default) or glorot (earlier versions)." };

    private static readonly Option<float?> Temperature = new("--temperature") { Description = "Temperature τ of the cosine logits (default 0.05)." };

    private static readonly Option<bool?> LearnTemperature = new("--learn-temperature") { Description = "Learn τ, starting at --temperature (default off; eval also takes true/false)." };

    /// <summary>The shape options shared by train and eval, applied over <paramref name="shape"/>.</summary>
    private static ItemSageModelOptions ApplyShape(ParseResult pr, ItemSageModelOptions shape) => shape with
    {
        Heads = pr.GetValue(Heads) ?? shape.Heads,
        Layers = pr.GetValue(Layers) ?? shape.Layers,
        FfnDim = pr.GetValue(FfnDim) ?? shape.FfnDim,
        Dropout = pr.GetValue(Dropout) ?? shape.Dropout,
        HeadHidden = pr.GetValue(HeadHidden) ?? shape.HeadHidden,
        ProjectionPerVectorSet = pr.GetValue(ProjectionPerVectorSet) ?? shape.ProjectionPerVectorSet,
        Initialization = pr.GetValue(Init) switch
        {
            null => shape.Initialization,
            "orthogonal" => LinearInitialization.Orthogonal,
            "glorot" => LinearInitialization.GlorotUniform,
            string other => throw new ArgumentException($"--init must be orthogonal or glorot, not '{other}'."),
        },
    };

    private static readonly Option<int?> Patience = new("--patience")
    { Description = $"Early stopping: validation points without a new best before the learning rate drops or training stops (0 = train to --max-steps; default {ItemSageEvaluation.DefaultStopping.Patience})." };

    private static readonly Option<int?> PlateauDrops = new("--plateau-drops")
    { Description = $"Early stopping: learning-rate drops (× {ItemSageEvaluation.DefaultStopping.PlateauFactor}) on a validation plateau before stopping (default {ItemSageEvaluation.DefaultStopping.PlateauDrops})." };

    private static StoppingOptions Stopping(ParseResult pr, StoppingOptions defaults) => defaults with
    {
        Patience = pr.GetValue(Patience) ?? defaults.Patience,
        PlateauDrops = pr.GetValue(PlateauDrops) ?? defaults.PlateauDrops,
    };

    private static readonly Option<int> Window = new("--window")
    { Description = "Pair each engagement with the same user's next N engagements.", DefaultValueFactory = _ => 3 };

    private static readonly Option<double?> MinValue = new("--min-value")
    { Description = "Only actions with value ≥ this are engagements (e.g. 4 for ratings)." };

    private static Command CreateTrain()
    {
        var output = new Option<string>("--out") { Description = "Model folder to write.", Required = true };
        var epochs = new Option<double?>("--epochs") { Description = "Passes over the training pairs (default 1 unless --steps)." };
        var steps = new Option<int?>("--steps") { Description = "Training steps (batches); overrides --epochs." };
        var batch = new Option<int>("--batch") { Description = "Pairs per batch.", DefaultValueFactory = _ => 256 };
        var negatives = new Option<int>("--negatives") { Description = "Random catalogue negatives per batch (0 = none).", DefaultValueFactory = _ => 256 };
        var tasks = new Option<string?>("--tasks") { Description = "Train on these action types only, comma-separated (default: all)." };
        var shares = new Option<string?>("--task-shares") { Description = "Batch share per task, e.g. click=1,checkout=2 (default: equal over the tasks present)." };
        var tower = new Option<string>("--tower") { Description = "transformer (ItemSage) or mlp (the paper's MLP-concat baseline).", DefaultValueFactory = _ => "transformer" };
        var small = new Option<bool>("--small") { Description = "A small model for laptops (d_model 64, 4 heads, output 64) instead of the paper's 512/8/256." };
        var dModel = new Option<int?>("--d-model") { Description = "Transformer width (default 512, 64 with --small)." };
        var outputDim = new Option<int?>("--output-dim") { Description = "Embedding dimension (default 256, 64 with --small)." };
        var noLogQ = new Option<bool>("--no-logq") { Description = "No logQ correction of the in-batch softmax." };
        var lr = new Option<float>("--lr") { Description = "Peak AdamW learning rate.", DefaultValueFactory = _ => 2e-3f };
        var queries = new Option<string?>("--query-embeddings")
        { Description = "Frozen query space Q.npy (+ .ids; dimension = output dimension): only the product tower learns, as in the paper. Default: the query item through the same tower." };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Write MODEL/checkpoint every N steps (0 = only at the end).", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue from MODEL/checkpoint." };
        var validate = new Option<bool>("--validate")
        { Description = "Hold out the validation period (before the test period) and train until its recall@50 stops improving (early stopping, --patience, --plateau-drops; at most --steps, default " + ItemSageEvaluation.DefaultMaxSteps.ToString("N0", CultureInfo.InvariantCulture) + "); the best checkpoint is saved. Not with --resume or --checkpoint-every." };
        var validateEvery = new Option<int>("--validate-every") { Description = "With --validate: steps between validation points.", DefaultValueFactory = _ => ItemSageEvaluation.DefaultValidateEvery };
        var cmd = new Command("train", "Train an ItemSage tower on (item, next engaged item) pairs of a dataset; writes a model folder.")
        {
            Dataset, output, epochs, steps, batch, negatives, TextFields, Vectors, tasks, shares, Seed, tower, small, dModel,
            Heads, Layers, FfnDim, Dropout, HeadHidden, ProjectionPerVectorSet, Init, outputDim, Temperature, LearnTemperature, noLogQ, lr, Window, MinValue, queries, checkpointEvery, resume,
            validate, validateEvery, Patience, PlateauDrops, Threads,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            bool isSmall = pr.GetValue(small);
            ItemSageModelOptions shape = isSmall ? ItemSageEvaluation.SmallModel : new ItemSageModelOptions();
            shape = ApplyShape(pr, shape) with
            {
                DModel = pr.GetValue(dModel) ?? shape.DModel,
                OutputDim = pr.GetValue(outputDim) ?? shape.OutputDim,
                Seed = pr.GetValue(Seed),
            };
            string towerKind = pr.GetValue(tower)!;
            if (towerKind is not ("transformer" or "mlp")) throw new ArgumentException("--tower must be transformer or mlp.");
            // The library refuses the same combination; this says it in the flags' names.
            if (pr.GetValue(validate) && (pr.GetValue(resume) || pr.GetValue(checkpointEvery) > 0))
                throw new ArgumentException("--validate does not combine with --resume or --checkpoint-every (the early-stopping state is not checkpointed).");
            using ItemEmbeddings? queryEmbeddings = pr.GetValue(queries) is string q
                ? ItemEmbeddings.Load(q, null, new EmbeddingsLoadOptions { Normalize = true, AllowZeroVectors = true })
                : null;
            var options = new ItemSageOptions
            {
                Tower = towerKind == "mlp" ? ItemSageTowerKind.MlpConcat : ItemSageTowerKind.Transformer,
                Model = shape,
                Features = FeatureOptions(pr),
                Pairs = PairOptions(pr) with { Tasks = SplitList(pr.GetValue(tasks)) },
                Training = new ItemSageTrainingOptions
                {
                    BatchSize = pr.GetValue(batch),
                    RandomNegatives = pr.GetValue(negatives),
                    TaskShares = ParseShares(pr.GetValue(shares)),
                    Temperature = pr.GetValue(Temperature) ?? new ItemSageTrainingOptions().Temperature,
                    LearnTemperature = pr.GetValue(LearnTemperature) ?? false,
                    LogQCorrection = !pr.GetValue(noLogQ),
                    LearningRate = pr.GetValue(lr),
                    Seed = pr.GetValue(Seed),
                    Threads = pr.GetValue(Threads),
                },
                Steps = pr.GetValue(steps),
                Epochs = pr.GetValue(epochs),
                QueryEmbeddings = queryEmbeddings,
                CheckpointEvery = pr.GetValue(checkpointEvery),
                Resume = pr.GetValue(resume),
                Validation = pr.GetValue(validate) ? new ItemSageValidation(pr.GetValue(validateEvery), Stopping(pr, ItemSageEvaluation.DefaultStopping)) : null,
            };
            Train(pr.GetValue(Dataset)!, pr.GetValue(output)!, options, AnsiConsole.Console, quiet: false);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateEmbed()
    {
        var model = new Option<string>("--model") { Description = "Model folder written by itemsage train.", Required = true };
        var output = new Option<string>("--out") { Description = "Embeddings to write, .npy float32 [n, d] (+ .ids beside it).", Required = true };
        var onnx = new Option<string?>("--onnx") { Description = "Compute the embeddings with ONNX Runtime (CPU provider) from this export of the model (itemsage export) instead of the built-in tower." };
        var cmd = new Command("embed", "Embed a whole catalogue (including items never seen in training) with a trained model; the output feeds profiles build.")
        {
            model, Dataset, output, onnx, Threads,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            string outPath = pr.GetValue(output)!;
            DatasetLayout layout = DatasetLayout.Open(pr.GetValue(Dataset)!);
            OutputPaths.Check("--out", outPath, OutputPaths.DatasetFiles(layout));
            OutputPaths.Check("--out", ItemEmbeddings.DefaultIdsPath(outPath), OutputPaths.DatasetFiles(layout));
            OutputPaths.Check("--out", outPath, ("--onnx", pr.GetValue(onnx)));
            ItemSageModel trained = ItemSageModel.Load(pr.GetValue(model)!);
            trained.Threads = pr.GetValue(Threads);
            var catalog = ItemSageCatalog.FromDataset(layout);
            using ItemEmbeddings embeddings = pr.GetValue(onnx) is string onnxPath
                ? ItemSageOnnxEmbed.Embed(trained, catalog, onnxPath)
                : trained.Embed(catalog);
            trained.WriteEmbeddings(embeddings, outPath);
            (int items, int d) = (embeddings.Count, embeddings.Dimension);
            string metaPath = EmbeddingsMeta.PathFor(outPath);
            string cut = EmbeddingsMeta.TryRead(metaPath)?.TrainedUntil is long t
                ? $"trained on actions before {EmbeddingsMeta.FormatTime(t)}" : "training cut unknown (model saved before cuts were recorded)";
            AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"embedded {items:N0} items, d = {d} → {outPath} + {ItemEmbeddings.DefaultIdsPath(outPath)} + {metaPath} ({cut})")));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateEval()
    {
        var json = new Option<string?>("--json") { Description = "Write the results as JSON: variant → task → metric → value." };
        var budget = new Option<double?>("--budget-seconds") { Description = "Train for a wall-clock budget instead of fixed steps: total seconds, split evenly over the trained models (results depend on the machine's load)." };
        var steps = new Option<int?>("--steps") { Description = $"Train every model exactly N steps, no validation selection (implies --no-select; default with --no-select: {ItemSageEvaluation.DefaultSteps})." };
        var noSelect = new Option<bool>("--no-select") { Description = "Fixed steps (--steps) instead of the default model selection on the validation split." };
        var maxSteps = new Option<int>("--max-steps") { Description = "Validation selection (the default): train every model until validation recall@50 stops improving, at most N steps, and evaluate its best checkpoint.", DefaultValueFactory = _ => ItemSageEvaluation.DefaultMaxSteps };
        var validateEvery = new Option<int>("--validate-every") { Description = "Validation selection: steps between validation points.", DefaultValueFactory = _ => ItemSageEvaluation.DefaultValidateEvery };
        var maxValidation = new Option<int>("--max-validation-pairs") { Description = "Validation selection: validation pairs scored per point (evenly spaced, tasks pooled).", DefaultValueFactory = _ => ItemSageEvaluation.DefaultMaxValidationPairs };
        var seeds = new Option<int>("--seeds") { Description = "Train every model with N seeds (--seed, --seed + 1, …) and report mean recalls; the intervals then cover the seeds' spread too.", DefaultValueFactory = _ => 1 };
        var variants = new Option<string?>("--variants") { Description = "Only these variants: " + string.Join(",", ItemSageEvaluation.VariantNames) };
        var maxPairs = new Option<int>("--max-test-pairs") { Description = "Evaluate at most N test pairs per task (evenly spaced).", DefaultValueFactory = _ => ItemSageEvaluation.DefaultMaxTestPairsPerTask };
        var lr = new Option<float?>("--lr") { Description = "Peak AdamW learning rate of every tower (default: each tower's tuned rate)." };
        var dModel = new Option<int?>("--d-model") { Description = "Transformer width (default 64)." };
        var batch = new Option<int?>("--batch") { Description = "Pairs per batch (default 128; as many random negatives)." };
        var cmd = new Command("eval", "Ablation: recall@10/@50 of the engaged item on the later held-out period, per task, for popularity and ItemSage variants.")
        {
            Dataset, json, budget, steps, noSelect, maxSteps, validateEvery, Patience, PlateauDrops, maxValidation, variants, seeds, maxPairs, TextFields, Vectors, Seed, Window, MinValue, lr, dModel, Heads, Layers, FfnDim, Dropout, HeadHidden, ProjectionPerVectorSet, Init, batch,
            Temperature, LearnTemperature, Threads,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var defaults = new ItemSageEvalOptions();
            ItemSageTrainingOptions Training(ItemSageTrainingOptions t) => t with
            {
                Seed = pr.GetValue(Seed),
                LearningRate = pr.GetValue(lr) ?? t.LearningRate,
                BatchSize = pr.GetValue(batch) ?? t.BatchSize,
                RandomNegatives = pr.GetValue(batch) ?? t.RandomNegatives,
                Temperature = pr.GetValue(Temperature) ?? t.Temperature,
                LearnTemperature = pr.GetValue(LearnTemperature) ?? t.LearnTemperature,
                Threads = pr.GetValue(Threads),
            };
            ItemSageModelOptions Model(ItemSageModelOptions m) => ApplyShape(pr, m) with
            {
                Seed = pr.GetValue(Seed),
                DModel = pr.GetValue(dModel) ?? m.DModel,
            };
            var options = defaults with
            {
                BudgetSeconds = pr.GetValue(budget),
                StepsPerVariant = pr.GetValue(steps) ?? ItemSageEvaluation.DefaultSteps,
                SelectOnValidation = !pr.GetValue(noSelect) && pr.GetValue(steps) is null,
                MaxSteps = pr.GetValue(maxSteps),
                ValidateEvery = pr.GetValue(validateEvery),
                Stopping = Stopping(pr, defaults.Stopping),
                MaxValidationPairs = pr.GetValue(maxValidation),
                Variants = SplitList(pr.GetValue(variants)),
                Seeds = pr.GetValue(seeds),
                MaxTestPairsPerTask = pr.GetValue(maxPairs),
                Features = FeatureOptions(pr),
                Pairs = PairOptions(pr),
                Training = Training(defaults.Training),
                MlpTraining = Training(defaults.MlpTraining),
                Model = Model(defaults.Model),
                MlpModel = Model(defaults.MlpModel),
            };
            IAnsiConsole console = AnsiConsole.Console;
            string datasetPath = pr.GetValue(Dataset)!;
            DateTime lastReport = DateTime.MinValue;
            ItemSageEvalReport report = ItemSageEvaluation.Run(DatasetLayout.Open(datasetPath), options,
                line => console.MarkupLine(Markup.Escape(line)),
                (variant, p) =>
                {
                    if (DateTime.UtcNow - lastReport < TimeSpan.FromSeconds(10)) return;
                    lastReport = DateTime.UtcNow;
                    console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"  {variant}: step {p.Step:N0}, loss {p.Loss:F3}, {p.ExamplesPerSecond:N0} examples/s")));
                });
            // The results file first: a console problem must not cost minutes of training.
            if (pr.GetValue(json) is string jsonPath)
                report.WriteJson(jsonPath);
            console.Write(ResultsTable(report));
            if (DeltaTable(report) is Table deltas) console.Write(deltas);
            foreach ((string name, VariantRun run) in report.Runs)
            {
                string selected = run.SelectedStep is int step
                    ? string.Create(CultureInfo.InvariantCulture, $", selected step {step:N0} (validation recall@50 {run.ValidationRecall:F4}), stopped: {ItemSageModel.StopText(run.Reason)}")
                    : "";
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name}: {run.Steps:N0} steps in {run.Seconds:F1} s, {run.ExamplesPerSecond:N0} examples/s, final loss {run.FinalLoss:F3}{selected}"));
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Trains on the dataset folder <paramref name="dataset"/> and writes the model folder
    /// <paramref name="output"/> (the library does the work; this prints its lines and progress).</summary>
    /// <returns>The trained model.</returns>
    internal static ItemSageModel Train(string dataset, string output, ItemSageOptions options, IAnsiConsole console, bool quiet)
    {
        DatasetLayout layout = DatasetLayout.Open(dataset);
        ItemSageModel Run(Action<TrainingProgress>? progress)
        {
            try
            {
                return ItemSageModel.Train(ItemSageCatalog.FromDataset(layout), ActionSource.File(layout.ActionsPath), options, output,
                    quiet ? null : console.WriteLine, progress);
            }
            catch (ArgumentException e) when (e.ParamName is null && FlagNames.Any(f => e.Message.Contains(f.Option, StringComparison.Ordinal)))
            {
                // The library names its options; the user typed flags.
                string message = e.Message;
                foreach ((string option, string flag) in FlagNames) message = message.Replace(option, flag, StringComparison.Ordinal);
                throw new ArgumentException(message, e);
            }
        }
        ItemSageModel model;
        bool interactive = !quiet && console.Profile.Capabilities.Interactive;
        if (interactive)
        {
            ItemSageModel? trained = null;
            console.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask? task = null;
                    trained = Run(p =>
                    {
                        task ??= ctx.AddTask("training", maxValue: p.TotalSteps);
                        task.Value = p.Step;
                        task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                            $"step {p.Step:N0}/{p.TotalSteps:N0} loss {p.Loss:F3} {p.ExamplesPerSecond:N0} ex/s"));
                    });
                });
            model = trained!;
        }
        else
        {
            DateTime last = DateTime.MinValue;
            model = Run(quiet ? null : p =>
            {
                if (DateTime.UtcNow - last < TimeSpan.FromSeconds(5) && p.Step != p.TotalSteps) return;
                last = DateTime.UtcNow;
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"step {p.Step:N0}/{p.TotalSteps:N0}  loss {p.Loss:F4}  {p.ExamplesPerSecond:N0} examples/s  τ {p.Temperature:F3}"));
            });
        }
        if (!quiet) console.MarkupLine(Markup.Escape($"model → {output} (tower, features.json, vocabulary.tsv; checkpoint/)"));
        return model;
    }

    /// <summary>The library's option paths in its messages and the flags that set them.</summary>
    private static readonly (string Option, string Flag)[] FlagNames = [("Pairs.Tasks", "--tasks"), ("Pairs.Window", "--window"), ("Validation", "--validate")];

    /// <summary>For quickstart: trains a small ItemSage model on the dataset in <paramref name="datasetDirectory"/> for
    /// about <paramref name="seconds"/>, embeds its whole catalogue into
    /// <c>itemsage/embeddings.npy</c> (+ .ids) inside it and returns that path; the model folder is <c>itemsage/model</c>.</summary>
    internal static string QuickstartEmbeddings(string datasetDirectory, ulong seed, IAnsiConsole console,
        double seconds = QuickstartTrainingSeconds)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string modelDir = Path.Combine(datasetDirectory, "itemsage", "model");
        var options = new ItemSageOptions
        {
            Model = ItemSageEvaluation.SmallModel with { Seed = seed },
            Pairs = new PairOptions { TestShare = 0, ValidationShare = 0 },
            Training = new ItemSageTrainingOptions { BatchSize = 128, RandomNegatives = 128, Seed = seed, WarmupSteps = 20 },
            Steps = 100_000,
            TimeLimit = TimeSpan.FromSeconds(seconds),
        };
        ItemSageModel model = Train(datasetDirectory, modelDir, options, console, quiet: true);
        string npy = Path.Combine(datasetDirectory, "itemsage", "embeddings.npy");
        using ItemEmbeddings embeddings = model.Embed(ItemSageCatalog.FromDataset(DatasetLayout.Open(datasetDirectory)));
        model.WriteEmbeddings(embeddings, npy);
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[blue]ItemSage[/] {Markup.Escape($"small model trained on the world's titles, categories and vectors (final loss {model.FinalLoss:F2}), {embeddings.Count:N0} items embedded, d = {embeddings.Dimension} → {npy}")} [grey]({clock.Elapsed.TotalSeconds:F1} s)[/]"));
        return npy;
    }

    /// <summary>Training time of the quickstart's ItemSage model.</summary>
    internal const double QuickstartTrainingSeconds = 20;

    private static ItemSageFeatureOptions FeatureOptions(ParseResult pr) => new()
    {
        TextFields = SplitListOrNone(pr.GetValue(TextFields)),
        VectorSets = SplitListOrNone(pr.GetValue(Vectors)),
    };

    private static PairOptions PairOptions(ParseResult pr) => new() { Window = pr.GetValue(Window), MinValue = pr.GetValue(MinValue) };

    private static string[]? SplitList(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string[]? SplitListOrNone(string? text) =>
        text?.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) == true ? [] : SplitList(text);

    private static Dictionary<string, double>? ParseShares(string? text)
    {
        if (SplitList(text) is not { } parts) return null;
        var shares = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string part in parts)
        {
            string[] kv = part.Split('=', 2);
            if (kv.Length != 2 || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new ArgumentException($"--task-shares: expected task=share, got '{part}'.");
            shares[kv[0].Trim()] = v;
        }
        return shares;
    }

    private static Table ResultsTable(ItemSageEvalReport report)
    {
        var table = new Table().AddColumns("variant", "task", "recall@10", "recall@50", "pairs", "selected step", "stopped at");
        foreach ((string variant, var tasks) in report.Results)
        {
            foreach ((string task, var m) in tasks)
            {
                // With several seeds: the mean ± the standard deviation over the seeds.
                string Recall(int k) => m.TryGetValue($"recall@{k}{ItemSageEvaluation.SeedSdSuffix}", out double sd)
                    ? string.Create(CultureInfo.InvariantCulture, $"{m.GetValueOrDefault($"recall@{k}"):F4} ± {sd:F4}")
                    : m.GetValueOrDefault($"recall@{k}").ToString("F4", CultureInfo.InvariantCulture);
                table.AddRow(Markup.Escape(variant), Markup.Escape(task), Recall(10), Recall(50),
                    m.GetValueOrDefault("pairs").ToString("F0", CultureInfo.InvariantCulture),
                    m.TryGetValue(ItemSageEvaluation.SelectedStepKey, out double step) ? step.ToString("F0", CultureInfo.InvariantCulture) : "–",
                    m.TryGetValue(ItemSageEvaluation.StoppedStepKey, out double stopped) ? stopped.ToString("F0", CultureInfo.InvariantCulture) : "–");
            }
        }
        return table;
    }

    /// <summary>Every variant's pooled recall minus the transformer's on the same test pairs, with the 95 % paired
    /// bootstrap interval (users and seeds resampled); null when the report has no such comparison.</summary>
    private static Table? DeltaTable(ItemSageEvalReport report)
    {
        static string Delta(Dictionary<string, double> m, int k)
        {
            string key = ItemSageEvaluation.DeltaKey(k);
            return m.TryGetValue(key, out double d)
                ? string.Create(CultureInfo.InvariantCulture, $"{d:+0.0000;-0.0000;0.0000} ({m[key + "_low"]:+0.0000;-0.0000;0.0000} … {m[key + "_high"]:+0.0000;-0.0000;0.0000})")
                : "–";
        }
        var table = new Table().AddColumns("minus transformer", "Δ recall@10 (95% CI)", "Δ recall@50 (95% CI)");
        foreach ((string variant, var tasks) in report.Results)
        {
            if (tasks.TryGetValue(RecallAtK.AllTasks, out var m) && m.ContainsKey(ItemSageEvaluation.DeltaKey(10)))
                table.AddRow(Markup.Escape(variant), Delta(m, 10), Delta(m, 50));
        }
        return table.Rows.Count == 0 ? null : table;
    }
}
