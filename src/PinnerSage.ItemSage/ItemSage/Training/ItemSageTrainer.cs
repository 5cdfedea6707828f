using System.Diagnostics;
using PinnerSage.IO;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;

namespace PinnerSage.ItemSage.Training;

/// <summary>Trains an ItemSage product tower on (query item, engaged item, task) pairs.</summary>
/// <remarks>ItemSage (Baltescu et al., KDD 2022, §3.4–3.5): one embedding, several engagement types in every batch,
/// the loss of <see cref="ItemSageLoss"/> (in-batch softmax with logQ correction from a <see cref="CountMinSketch"/> +
/// softmax over random catalogue negatives). Our choices:
/// <list type="bullet">
/// <item>Query side: with a frozen query space (a matrix aligned with catalogue rows) the queries are looked up and
/// only the product tower learns, as in the paper; without one, the query item is encoded by the same tower (shared
/// weights, gradients through both sides). Queries, positives and negatives go through one forward/backward pass.</item>
/// <item>Batches: row counts per task follow the task shares (largest remainder, so a 4-task batch of 256 has exactly
/// 64 rows per task with equal shares); each row is a uniformly drawn training pair of its task. Negatives: uniform
/// catalogue items.</item>
/// <item>The sketch counts the positives of each batch before its logQ is read (so no candidate has count 0); log Q =
/// log(estimate / total).</item>
/// <item>Determinism: sampling uses one SplitMix64 stream whose state is checkpointed; dropout seeds are a hash of
/// (seed, step); the result is fixed for a seed and thread count (the model's kernels fix the reduction order).</item>
/// </list></remarks>
internal sealed class ItemSageTrainer
{
    private const int CheckpointVersion = 1;
    private const string TowerFile = "tower.bin", OptimizerFile = "optimizer.bin", StateFile = "trainer.bin";

    private readonly IItemFeatureSource _features;
    private readonly PairSet _pairs;
    private readonly float[]? _frozenQueries;
    private readonly int[][] _pairsOfTask;
    private readonly int[] _rowsPerTask;
    private readonly TrainingRandom _random;
    private readonly AdamW _optimizer;
    private readonly ItemFeatureBatch _batch;
    private readonly int _dim;
    private readonly int[] _rows, _queryIds, _positiveIds, _negativeIds;
    private readonly float[] _output, _dOutput, _frozenBatch, _logQ, _dQueries, _dPositives, _dNegatives;
    private CountMinSketch _sketch;
    private float _logScale, _scaleMoment1, _scaleMoment2;

    /// <summary>Creates a trainer.</summary>
    /// <param name="tower">The tower to train (its <see cref="IItemTower.Options"/> must match the features).</param>
    /// <param name="features">Item features; pair items are its rows.</param>
    /// <param name="pairs">Training pairs.</param>
    /// <param name="tasks">Task labels (index = <see cref="PairSet.Task"/>).</param>
    /// <param name="options">Training options.</param>
    /// <param name="frozenQueries">Optional frozen query space: [features.ItemCount, OutputDim] row-major, rows
    /// unit-normalised (zero rows = no query vector: such pairs are skipped); null = shared tower.</param>
    /// <exception cref="ArgumentException">No training pairs for the chosen tasks, or a size mismatch.</exception>
    public ItemSageTrainer(IItemTower tower, IItemFeatureSource features, PairSet pairs, IReadOnlyList<string> tasks,
        ItemSageTrainingOptions options, float[]? frozenQueries = null)
    {
        ArgumentNullException.ThrowIfNull(tower);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Tower = tower;
        tower.Threads = options.Threads;
        Options = options;
        Tasks = tasks;
        _features = features;
        _pairs = pairs;
        _dim = tower.Options.OutputDim;
        if (frozenQueries is not null && frozenQueries.Length != features.ItemCount * _dim)
            throw new ArgumentException($"The frozen query space must be [{features.ItemCount}, {_dim}].", nameof(frozenQueries));
        _frozenQueries = frozenQueries;

        var lists = new List<int>[tasks.Count];
        for (int t = 0; t < tasks.Count; t++) lists[t] = [];
        for (int i = 0; i < pairs.Count; i++)
        {
            if (frozenQueries is not null && IsZero(frozenQueries.AsSpan(pairs.Query[i] * _dim, _dim))) continue;
            lists[pairs.Task[i]].Add(i);
        }
        _pairsOfTask = [.. lists.Select(l => l.ToArray())];
        _rowsPerTask = RowsPerTask(options, tasks, _pairsOfTask);

        int b = options.BatchSize, m = options.RandomNegatives;
        int encoded = (frozenQueries is null ? 2 * b : b) + m;
        _batch = features.CreateBatch(encoded);
        _rows = new int[encoded];
        _queryIds = new int[b];
        _positiveIds = new int[b];
        _negativeIds = new int[m];
        _output = new float[encoded * _dim];
        _dOutput = new float[encoded * _dim];
        _logQ = new float[b];
        _frozenBatch = frozenQueries is null ? [] : new float[b * _dim];
        _dQueries = new float[b * _dim];
        _dPositives = new float[b * _dim];
        _dNegatives = new float[m * _dim];
        _random = new TrainingRandom(options.Seed);
        _sketch = new CountMinSketch(options.SketchWidth, options.SketchDepth, options.Seed);
        _logScale = -MathF.Log(options.Temperature);
        _optimizer = new AdamW(tower, new AdamWOptions
        {
            LearningRate = options.LearningRate,
            WeightDecay = options.WeightDecay,
            WarmupSteps = options.WarmupSteps,
            TotalSteps = Math.Max(1, options.Steps),
            ClipNorm = options.ClipNorm,
            MinLearningRateRatio = 0.1f,
            Decay = options.Decay,
        });
    }

    /// <summary>The tower being trained.</summary>
    public IItemTower Tower { get; }

    /// <summary>The options.</summary>
    public ItemSageTrainingOptions Options { get; }

    /// <summary>Task labels.</summary>
    public IReadOnlyList<string> Tasks { get; }

    /// <summary>Steps done so far (restored by <see cref="Resume"/>).</summary>
    public int Step { get; private set; }

    /// <summary>Factor on the scheduled learning rate (1 by default); see <see cref="AdamW.LearningRateScale"/>.</summary>
    public float LearningRateScale
    {
        get => _optimizer.LearningRateScale;
        set => _optimizer.LearningRateScale = value;
    }

    /// <summary>Current temperature τ.</summary>
    public float Temperature => MathF.Exp(-_logScale);

    /// <summary>Rows per batch of each task (index = task).</summary>
    public IReadOnlyList<int> RowsPerTaskInBatch => _rowsPerTask;

    /// <summary>Runs one step: samples a batch, forward, loss, backward, AdamW update. Returns the batch loss.</summary>
    public float TrainStep()
    {
        int b = Options.BatchSize, m = Options.RandomNegatives;
        bool shared = _frozenQueries is null;
        int row = 0;
        for (int t = 0; t < _rowsPerTask.Length; t++)
        {
            int[] list = _pairsOfTask[t];
            for (int k = 0; k < _rowsPerTask[t]; k++, row++)
            {
                int pair = list[_random.NextInt(list.Length)];
                _queryIds[row] = _pairs.Query[pair];
                _positiveIds[row] = _pairs.Positive[pair];
            }
        }
        for (int k = 0; k < m; k++) _negativeIds[k] = _random.NextInt(_features.ItemCount);

        // Layout of the encoded batch: [queries (shared tower only) | positives | negatives].
        int at = 0;
        if (shared) { _queryIds.CopyTo(_rows, 0); at = b; }
        _positiveIds.CopyTo(_rows, at);
        _negativeIds.CopyTo(_rows, at + b);
        int encoded = at + b + m;
        _features.Fill(_rows.AsSpan(0, encoded), _batch);
        Tower.ZeroGradients();
        Tower.Forward(_batch, _output.AsSpan(0, encoded * _dim), training: true, TrainingRandom.Mix(Options.Seed, (ulong)Step));

        if (!shared)
        {
            for (int i = 0; i < b; i++)
                _frozenQueries.AsSpan(_queryIds[i] * _dim, _dim).CopyTo(_frozenBatch.AsSpan(i * _dim));
        }

        foreach (int p in _positiveIds) _sketch.Add(p);
        bool correct = Options.LogQCorrection && Options.InBatchNegatives;
        if (correct)
            for (int i = 0; i < b; i++) _logQ[i] = (float)Math.Log(_sketch.Probability(_positiveIds[i]));
        var inputs = new LossInputs
        {
            Queries = shared ? _output.AsSpan(0, b * _dim) : _frozenBatch,
            Positives = _output.AsSpan(at * _dim, b * _dim),
            Negatives = _output.AsSpan((at + b) * _dim, m * _dim),
            QueryIds = _queryIds,
            PositiveIds = _positiveIds,
            NegativeIds = _negativeIds,
            LogQ = correct ? _logQ : [],
            Dimension = _dim,
            LogScale = _logScale,
            InBatch = Options.InBatchNegatives,
        };
        float loss = ItemSageLoss.Compute(inputs, _dQueries, _dPositives, _dNegatives, out float dLogScale);
        if (shared) _dQueries.CopyTo(_dOutput, 0);
        _dPositives.CopyTo(_dOutput, at * _dim);
        _dNegatives.CopyTo(_dOutput, (at + b) * _dim);
        Tower.Backward(_dOutput.AsSpan(0, encoded * _dim));
        _optimizer.Step();
        if (Options.LearnTemperature) UpdateScale(dLogScale);
        Step++;
        return loss;
    }

    /// <summary>Trains until <see cref="ItemSageTrainingOptions.Steps"/> steps (or <paramref name="untilStep"/>) are done,
    /// counting restored steps, the <paramref name="deadline"/> passes or <paramref name="cancellation"/> is signalled;
    /// reports progress about every <paramref name="reportEvery"/>. An <paramref name="untilStep"/> beyond the planned
    /// steps trains on at the schedule's final learning rate (for time budgets).</summary>
    /// <returns>Mean loss of the last report interval.</returns>
    public double Train(Action<TrainingProgress>? progress = null, TimeSpan? deadline = null, TimeSpan? reportEvery = null,
        int? untilStep = null, CancellationToken cancellation = default)
    {
        int stop = untilStep ?? Options.Steps;
        var clock = Stopwatch.StartNew();
        TimeSpan every = reportEvery ?? TimeSpan.FromMilliseconds(500);
        TimeSpan last = TimeSpan.Zero;
        double sum = 0, lastMean = double.NaN;
        int count = 0;
        while (Step < stop && !cancellation.IsCancellationRequested && (deadline is null || clock.Elapsed < deadline))
        {
            sum += TrainStep();
            count++;
            TimeSpan now = clock.Elapsed;
            if (now - last >= every || Step == stop)
            {
                lastMean = sum / count;
                double seconds = Math.Max(1e-9, (now - last).TotalSeconds);
                progress?.Invoke(new TrainingProgress(Step, stop == int.MaxValue ? Options.Steps : stop, lastMean, count * Options.BatchSize / seconds, Temperature));
                last = now;
                sum = 0;
                count = 0;
            }
        }
        if (count > 0)
        {
            lastMean = sum / count;
            progress?.Invoke(new TrainingProgress(Step, stop == int.MaxValue ? Options.Steps : stop, lastMean,
                count * Options.BatchSize / Math.Max(1e-9, (clock.Elapsed - last).TotalSeconds), Temperature));
        }
        return lastMean;
    }

    /// <summary>Writes a checkpoint folder: the tower, the optimizer state and the trainer state (step, sampling
    /// stream position, temperature, sketch). Each file is written atomically.</summary>
    public void SaveCheckpoint(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        Tower.Save(Path.Combine(directory, TowerFile));
        AtomicFile.Write(Path.Combine(directory, OptimizerFile), _optimizer.SaveState);
        AtomicFile.Write(Path.Combine(directory, StateFile), s =>
        {
            using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            w.Write(CheckpointVersion);
            w.Write(Step);
            w.Write(_random.State);
            w.Write(_logScale);
            w.Write(_scaleMoment1);
            w.Write(_scaleMoment2);
            w.Write(Options.Seed);
            _sketch.Write(w);
        });
    }

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/>: the tower is loaded from it, and training
    /// continues exactly where it stopped (same batches as an uninterrupted run).</summary>
    /// <exception cref="DataFormatException">A checkpoint of another version or seed.</exception>
    public static ItemSageTrainer Resume(string directory, IItemFeatureSource features, PairSet pairs, IReadOnlyList<string> tasks,
        ItemSageTrainingOptions options, float[]? frozenQueries = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        IItemTower tower = ItemSageTower.Load(Path.Combine(directory, TowerFile));
        var trainer = new ItemSageTrainer(tower, features, pairs, tasks, options, frozenQueries);
        string statePath = Path.Combine(directory, StateFile);
        using (var r = new BinaryReader(File.OpenRead(statePath)))
        {
            int version = r.ReadInt32();
            if (version != CheckpointVersion) throw new DataFormatException(statePath, 0, "version", $"checkpoint version {version}, expected {CheckpointVersion}");
            trainer.Step = r.ReadInt32();
            trainer._random.State = r.ReadUInt64();
            trainer._logScale = r.ReadSingle();
            trainer._scaleMoment1 = r.ReadSingle();
            trainer._scaleMoment2 = r.ReadSingle();
            ulong seed = r.ReadUInt64();
            if (seed != options.Seed) throw new DataFormatException(statePath, 0, "seed", $"the checkpoint was trained with seed {seed}, not {options.Seed}");
            trainer._sketch = CountMinSketch.Read(r);
        }
        string optimizerPath = Path.Combine(directory, OptimizerFile);
        using (FileStream s = File.OpenRead(optimizerPath))
            trainer._optimizer.LoadState(s, optimizerPath);
        return trainer;
    }

    /// <summary>Rows per task in a batch: shares × batch size by largest remainder; tasks without pairs get none.</summary>
    internal static int[] RowsPerTask(ItemSageTrainingOptions options, IReadOnlyList<string> tasks, int[][] pairsOfTask)
    {
        var share = new double[tasks.Count];
        for (int t = 0; t < tasks.Count; t++)
        {
            if (pairsOfTask[t].Length == 0) continue;
            share[t] = options.TaskShares is null ? 1 : options.TaskShares.GetValueOrDefault(tasks[t]);
        }
        double total = share.Sum();
        if (total <= 0)
            throw new ArgumentException("No training pairs for the tasks with a positive share (tasks with pairs: " +
                string.Join(", ", Enumerable.Range(0, tasks.Count).Where(t => pairsOfTask[t].Length > 0).Select(t => tasks[t])) + ").");
        int b = options.BatchSize;
        var rows = new int[tasks.Count];
        var remainder = new double[tasks.Count];
        int assigned = 0;
        for (int t = 0; t < tasks.Count; t++)
        {
            double exact = share[t] / total * b;
            rows[t] = (int)Math.Floor(exact);
            remainder[t] = exact - rows[t];
            assigned += rows[t];
        }
        foreach (int t in Enumerable.Range(0, tasks.Count).Where(t => share[t] > 0).OrderByDescending(t => remainder[t]).ThenBy(t => t))
        {
            if (assigned == b) break;
            rows[t]++;
            assigned++;
        }
        return rows;
    }

    private void UpdateScale(float gradient)
    {
        // Adam on the scalar log-scale (our choice: the same β as AdamW, no decay), clamped to τ ∈ [0.01, 1].
        const float beta1 = 0.9f, beta2 = 0.999f, lr = 1e-2f;
        _scaleMoment1 = beta1 * _scaleMoment1 + (1 - beta1) * gradient;
        _scaleMoment2 = beta2 * _scaleMoment2 + (1 - beta2) * gradient * gradient;
        float m = _scaleMoment1 / (1 - MathF.Pow(beta1, Step + 1)), v = _scaleMoment2 / (1 - MathF.Pow(beta2, Step + 1));
        _logScale = Math.Clamp(_logScale - lr * m / (MathF.Sqrt(v) + 1e-8f), 0f, MathF.Log(100f));
    }

    private static bool IsZero(ReadOnlySpan<float> v) => !v.ContainsAnyExcept(0f);
}
