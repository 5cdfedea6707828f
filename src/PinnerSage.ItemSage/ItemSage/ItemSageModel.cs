using System.Globalization;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.OnnxExport;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.ItemSage;

/// <summary>A trained ItemSage model: the entry point to train one (<see cref="Train"/>), read one back
/// (<see cref="Load"/>) and embed any catalogue with it (<see cref="Embed(ItemSageCatalog, Action{int, int}?)"/>),
/// from a dataset folder or from memory through the same code.</summary>
/// <remarks>ItemSage (Baltescu et al., KDD 2022): one embedding per product from its text fields and image (here:
/// pretrained) vectors, trained on engagement pairs of several tasks. The tower, its parameters and gradients stay
/// internal; a model is its tower, the feature choices and vocabulary that featurise items exactly as in training, and
/// the end of the actions it learnt from (<see cref="TrainedUntil"/>). A model folder holds <c>tower.bin</c>,
/// <c>features.json</c>, <c>vocabulary.tsv</c>, <c>training.meta.json</c> and the trainer's <c>checkpoint/</c>.</remarks>
public sealed class ItemSageModel
{
    private const int EmbedBatch = 256;
    private readonly IItemTower _tower;
    private readonly ItemSageFeatures.SavedFeatures _features;

    internal ItemSageModel(IItemTower tower, ItemSageFeatures.SavedFeatures features, long? trainedUntil, double finalLoss)
    {
        _tower = tower;
        _features = features;
        TrainedUntil = trainedUntil;
        FinalLoss = finalLoss;
    }

    /// <summary>The tower kind.</summary>
    public ItemSageTowerKind Tower => ItemSageTower.KindOf(_tower);

    /// <summary>The tower's sizes (as trained, with the feature sizes filled in).</summary>
    public ItemSageModelOptions Options => _tower.Options;

    /// <summary>Embedding dimension.</summary>
    public int Dimension => _tower.Options.OutputDim;

    /// <summary>Exclusive end (Unix seconds) of the actions the training pairs came from; null = unknown (a model
    /// saved before cuts were recorded).</summary>
    public long? TrainedUntil { get; }

    /// <summary>Mean loss of the last training interval; NaN for a loaded model.</summary>
    public double FinalLoss { get; }

    /// <summary>Threads of the tower's kernels while embedding (default: the machine's processor count; results do
    /// not depend on it). Per model: two models in one process never share it.</summary>
    public int Threads
    {
        get => _tower.Threads;
        set => _tower.Threads = value;
    }

    /// <summary>The text fields the model reads, in feature order.</summary>
    public IReadOnlyList<string> TextFields => _features.TextFields;

    /// <summary>The vector sets the model reads, in position order.</summary>
    public IReadOnlyList<string> VectorSets => _features.VectorSets;

    /// <summary>Trains a model on <paramref name="items"/> and the engagements in <paramref name="actions"/>: builds the
    /// features and the (query item, next engaged item) pairs, trains (with early stopping on the validation period when
    /// <see cref="ItemSageOptions.Validation"/> is set) and, when <paramref name="directory"/> is given, writes the model
    /// folder and the trainer's checkpoint there (every <see cref="ItemSageOptions.CheckpointEvery"/> steps and at the end).</summary>
    /// <param name="items">The catalogue.</param>
    /// <param name="actions">The engagements (items missing from the catalogue are ignored).</param>
    /// <param name="options">The run's options, validated once here.</param>
    /// <param name="directory">Model folder to write; null = keep the model in memory only (no checkpoints).</param>
    /// <param name="log">Receives one line per stage (data summary, validation points, the stop).</param>
    /// <param name="progress">Receives training progress about twice a second.</param>
    /// <exception cref="ArgumentException">Invalid options, no pairs of a requested task, a checkpoint schedule or resume
    /// without a folder, or validation without validation pairs (messages name the option by its path, e.g.
    /// <c>Pairs.Tasks</c>).</exception>
    /// <exception cref="DataFormatException">Malformed data, or no training pairs at all.</exception>
    public static ItemSageModel Train(ItemSageCatalog items, IActionSource actions, ItemSageOptions options, string? directory = null,
        Action<string>? log = null, Action<TrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (directory is null && (options.Resume || options.CheckpointEvery > 0))
            throw new ArgumentException("Resume and CheckpointEvery need a model folder.", nameof(directory));
        using ItemSageFeatures features = ItemSageFeatures.Build(items, options.Features);
        EngagementPairs pairs = EngagementPairs.Load(actions, features.Catalog, options.Pairs);
        if (options.Pairs.Tasks?.FirstOrDefault(t => !pairs.Tasks.Contains(t)) is string unknown)
        {
            // The error path only: which types the source does have takes a second, unfiltered pass.
            IReadOnlyList<string> present = EngagementPairs.Load(actions, features.Catalog, options.Pairs with { Tasks = null }).Tasks;
            throw new ArgumentException($"Pairs.Tasks: no training pairs of action type '{unknown}' in {actions.Name} " +
                                        $"(types with pairs: {(present.Count == 0 ? "none" : string.Join(", ", present))}).");
        }
        if (pairs.Train.Count == 0) throw new DataFormatException(actions.Name, 0, null, "no training pairs (no user has two engagements with catalogue items)");
        if (options.Validation is not null && pairs.Validation.Count == 0)
            throw new ArgumentException("Validation: the validation period has no pairs (too few actions, or Pairs.Window too small).");
        int steps = options.Validation is not null
            ? options.Steps ?? ItemSageEvaluation.DefaultMaxSteps
            : options.Steps ?? (int)Math.Ceiling((options.Epochs ?? 1) * pairs.Train.Count / options.Training.BatchSize);
        float[]? frozen = options.QueryEmbeddings is { } q ? QuerySpace(q, features) : null;
        ItemSageModelOptions shape = frozen is null ? options.Model : options.Model with { OutputDim = frozen.Length / features.ItemCount };
        ItemSageTrainingOptions training = options.Validation is null ? options.Training with { Steps = steps }
            : options.Training with { Steps = steps, Decay = LearningRateDecay.Constant };
        log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"{features.ItemCount:N0} items ({features.Vocabulary}; text fields: {(features.TextFields.Count == 0 ? "none" : string.Join(", ", features.TextFields))}; " +
            $"vectors: {(features.VectorSets.Count == 0 ? "none" : string.Join(", ", features.VectorSets))}); " +
            $"{pairs.Train.Count:N0} training pairs ({string.Join(", ", pairs.Tasks.Select((t, i) => $"{t} {pairs.Train.CountPerTask(pairs.Tasks.Count)[i]:N0}"))}); {steps:N0} steps of {training.BatchSize}"));

        string? checkpoint = directory is null ? null : Path.Combine(directory, ItemSageModelFolder.CheckpointFolder);
        ItemSageTrainer trainer = options.Resume
            ? ItemSageTrainer.Resume(checkpoint!, features, pairs.Train, pairs.Tasks, training, frozen)
            : new ItemSageTrainer(ItemSageTower.Create(options.Tower, features.Apply(shape)), features, pairs.Train, pairs.Tasks, training, frozen);
        double loss = options.Validation is { } v
            ? TrainWithValidation(trainer, features, pairs, steps, v, log, progress)
            : TrainPlanned(trainer, steps, options, checkpoint, progress);
        var model = new ItemSageModel(trainer.Tower, features.Saved, pairs.TrainedUntil, loss);
        if (directory is not null)
        {
            trainer.SaveCheckpoint(checkpoint!);
            model.Save(directory);
        }
        return model;
    }

    /// <summary>Reads a model folder written by <see cref="Save"/> (or by <see cref="Train"/>).</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="DataFormatException">A malformed or mismatched tower, feature spec or vocabulary.</exception>
    public static ItemSageModel Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Model folder '{directory}' does not exist.");
        string towerPath = Path.Combine(directory, ItemSageModelFolder.TowerFile);
        IItemTower tower = ItemSageTower.Load(towerPath);
        ItemSageFeatures.SavedFeatures features = ItemSageFeatures.ReadSpec(directory);
        ItemSageModelOptions o = tower.Options;
        if (o.TextFields != features.TextFields.Length || (o.ImageDim != 0 && o.ImageDim != features.ImageDim) || o.VocabularySize < features.Vocabulary.Size)
            throw new DataFormatException(towerPath, 0, null, "the tower does not match the saved features (text fields, vector dimension or vocabulary size)");
        EmbeddingsMeta? meta = EmbeddingsMeta.TryRead(Path.Combine(directory, ItemSageModelFolder.TrainingMetaFile));
        return new ItemSageModel(tower, features, meta?.TrainedUntil, double.NaN);
    }

    /// <summary>Writes the model folder: the tower, the features' spec and vocabulary and the training cut, each file
    /// atomically.</summary>
    public void Save(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        ItemSageFeatures.WriteSpec(directory, _features);
        _tower.Save(Path.Combine(directory, ItemSageModelFolder.TowerFile));
        Meta.Write(Path.Combine(directory, ItemSageModelFolder.TrainingMetaFile));
    }

    /// <summary>Embeds every item of <paramref name="items"/> (including items never seen in training) with the built-in
    /// tower: one unit row per item, in catalogue order.</summary>
    /// <param name="items">The catalogue; it must offer the model's text fields and vector sets.</param>
    /// <param name="progress">(items done, items in all) after every batch.</param>
    /// <exception cref="DataFormatException">The catalogue lacks a field or vector set of the model, or its vectors
    /// have another dimension.</exception>
    public ItemEmbeddings Embed(ItemSageCatalog items, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        using ItemSageFeatures features = _features.For(items);
        float[] embeddings = ItemSageEmbedder.EmbedAll(_tower, features, EmbedBatch, done => progress?.Invoke(done, features.ItemCount));
        return ItemEmbeddings.FromArray(features.Catalog.Ids, embeddings, Dimension);
    }

    /// <summary>Embeds every item of <paramref name="items"/> with another runtime (e.g. ONNX Runtime over an
    /// <c>itemsage export</c> of this model): the model featurises batches exactly as in training and
    /// <paramref name="runtime"/> maps each batch's inputs to its embeddings ([batch, <see cref="Dimension"/>]).</summary>
    /// <exception cref="DataFormatException">As <see cref="Embed(ItemSageCatalog, Action{int, int}?)"/>.</exception>
    public ItemEmbeddings Embed(ItemSageCatalog items, Func<ItemSageOnnxInputs, float[]> runtime)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(runtime);
        using ItemSageFeatures features = _features.For(items);
        int n = features.ItemCount, d = Dimension;
        var result = new float[(long)n * d];
        ItemFeatureBatch batch = features.CreateBatch(EmbedBatch);
        int[] rows = new int[EmbedBatch];
        for (int start = 0; start < n; start += EmbedBatch)
        {
            int count = Math.Min(EmbedBatch, n - start);
            for (int i = 0; i < count; i++) rows[i] = start + i;
            features.Fill(rows.AsSpan(0, count), batch);
            runtime(ItemSageOnnxInputs.FromBatch(batch, _tower.Options)).AsSpan(0, count * d).CopyTo(result.AsSpan(start * d));
        }
        return ItemEmbeddings.FromArray(features.Catalog.Ids, result, d);
    }

    /// <summary>Writes embeddings made by this model: <paramref name="npyPath"/> (float32 [n, d]), its <c>.ids</c> and its
    /// <c>.meta.json</c> (the model's training cut, which later stages check against their own data).</summary>
    public void WriteEmbeddings(ItemEmbeddings embeddings, string npyPath, string? idsPath = null)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(npyPath);
        string metaPath = EmbeddingsMeta.PathFor(npyPath);
        File.Delete(metaPath);
        embeddings.Save(npyPath, idsPath);
        Meta.Write(metaPath);
    }

    private EmbeddingsMeta Meta => new(ItemSageModelFolder.MetaKind, TrainedUntil);

    private static double TrainWithValidation(ItemSageTrainer trainer, ItemSageFeatures features, EngagementPairs pairs, int steps,
        ItemSageValidation v, Action<string>? log, Action<TrainingProgress>? progress)
    {
        PairSet held = ValidationSelection.Subsample(pairs.Validation, v.MaxPairs);
        SelectionResult selection = ValidationSelection.Train(trainer, features, held, steps, v.Every, progress: progress, stopping: v.Stopping,
            onPoint: log is null ? null : (step, recall, best) => log(string.Create(CultureInfo.InvariantCulture,
                $"validation recall@50 at step {step:N0}: {recall:F4}{(best ? " (best)" : "")}")));
        string drops = selection.LearningRateDrops is { Count: > 0 } d
            ? string.Create(CultureInfo.InvariantCulture, $"; learning rate × {v.Stopping.PlateauFactor} after step {string.Join(", ", d)}") : "";
        log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"stopped at step {selection.StoppedStep:N0}: {StopText(selection.Reason)}; kept step {selection.SelectedStep:N0} (validation recall@50 {selection.SelectedRecall:F4}, {held.Count:N0} pairs){drops}"));
        return selection.FinalLoss;
    }

    /// <summary>Trains to the planned steps (or the time limit), saving the checkpoint at every multiple of
    /// <see cref="ItemSageOptions.CheckpointEvery"/>.</summary>
    private static double TrainPlanned(ItemSageTrainer trainer, int steps, ItemSageOptions options, string? checkpoint,
        Action<TrainingProgress>? progress)
    {
        double loss = double.NaN;
        int every = options.CheckpointEvery;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (trainer.Step < steps && (options.TimeLimit is null || clock.Elapsed < options.TimeLimit))
        {
            int target = every > 0 ? Math.Min(steps, (trainer.Step / every + 1) * every) : steps;
            loss = trainer.Train(progress, options.TimeLimit - clock.Elapsed, untilStep: target);
            if (every > 0) trainer.SaveCheckpoint(checkpoint!);
        }
        return loss;
    }

    /// <summary>Why a selection run stopped, in words.</summary>
    public static string StopText(StopReason? reason) => reason switch
    {
        StopReason.Patience => "validation stopped improving",
        StopReason.MaxSteps => "maximum steps reached",
        StopReason.NoValidation => "no validation pairs (last step kept)",
        _ => "–",
    };

    /// <summary>The frozen query space aligned with catalogue rows (zero rows for items without a query vector).</summary>
    private static float[] QuerySpace(ItemEmbeddings q, ItemSageFeatures features)
    {
        int dimension = q.Dimension;
        var table = new float[features.ItemCount * dimension];
        for (int r = 0; r < features.ItemCount; r++)
            if (q.TryGetRow(features.Catalog.Ids[r], out int row)) q.Vector(row).CopyTo(table.AsSpan(r * dimension));
        return table;
    }
}
