namespace PinnerSage.ItemSage.Training;

/// <summary>Options of <see cref="ItemSageTrainer"/>. Every default is our choice (the paper publishes none of them)
/// sized for a laptop; all are configurable.</summary>
public sealed record ItemSageTrainingOptions
{
    /// <summary>Pairs per batch (B).</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Random catalogue negatives per batch (M, uniform, shared by all rows); 0 = no second loss term.</summary>
    public int RandomNegatives { get; init; } = 256;

    /// <summary>Use the in-batch softmax term (term 1).</summary>
    public bool InBatchNegatives { get; init; } = true;

    /// <summary>Subtract log Q (count-min sketch estimate) from the in-batch logits.</summary>
    public bool LogQCorrection { get; init; } = true;

    /// <summary>Temperature τ of the cosine logits (logit = cos / τ); the initial value when learned.</summary>
    public float Temperature { get; init; } = 0.05f;

    /// <summary>Learn log(1/τ) (clamped to τ ∈ [0.01, 1]) instead of keeping τ fixed.</summary>
    public bool LearnTemperature { get; init; }

    /// <summary>Training steps (batches).</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Task shares of each batch by task label (over-sample sparse tasks); null = equal shares across the
    /// tasks that have training pairs. Tasks missing from the map get share 0.</summary>
    public IReadOnlyDictionary<string, double>? TaskShares { get; init; }

    /// <summary>Peak learning rate of AdamW.</summary>
    public float LearningRate { get; init; } = 2e-3f;

    /// <summary>Decoupled weight decay of AdamW.</summary>
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Linear warm-up steps (then cosine decay to the end of <see cref="Steps"/>).</summary>
    public int WarmupSteps { get; init; } = 50;

    /// <summary>Learning-rate decay after the warm-up, over <see cref="Steps"/> (cosine to 0.1 × the peak by default;
    /// constant for open-ended training that early stopping ends).</summary>
    public LearningRateDecay Decay { get; init; } = LearningRateDecay.Cosine;

    /// <summary>Global gradient-norm clip; 0 = none.</summary>
    public float ClipNorm { get; init; } = 1f;

    /// <summary>Seed of batch sampling and dropout: same seed, data and thread count → same model.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Count-min sketch width (counters per row).</summary>
    public int SketchWidth { get; init; } = 1 << 16;

    /// <summary>Count-min sketch depth (hash functions).</summary>
    public int SketchDepth { get; init; } = 4;

    /// <summary>Threads of the tower's kernels while it trains (results are identical for any value; the default is the
    /// machine's processor count).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range.</exception>
    /// <exception cref="ArgumentException">Both loss terms are off, or task shares are negative or sum to 0.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 2, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BatchSize, 1 << 16, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(RandomNegatives, nameof(RandomNegatives));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(RandomNegatives, 1 << 16, nameof(RandomNegatives));
        if (!InBatchNegatives && RandomNegatives == 0)
            throw new ArgumentException("At least one loss term is needed: in-batch negatives or random negatives.", nameof(RandomNegatives));
        if (!(Temperature >= 0.01f && Temperature <= 1f))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be in [0.01, 1]");
        ArgumentOutOfRangeException.ThrowIfNegative(Steps, nameof(Steps));
        if (!(LearningRate > 0 && LearningRate < 1)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be in (0, 1)");
        if (!(WeightDecay >= 0 && WeightDecay < 1)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "must be in [0, 1)");
        ArgumentOutOfRangeException.ThrowIfNegative(WarmupSteps, nameof(WarmupSteps));
        if (!(ClipNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(ClipNorm), ClipNorm, "must be ≥ 0");
        ArgumentOutOfRangeException.ThrowIfLessThan(SketchWidth, 2, nameof(SketchWidth));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(SketchWidth, 1 << 28, nameof(SketchWidth));
        ArgumentOutOfRangeException.ThrowIfLessThan(SketchDepth, 1, nameof(SketchDepth));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(SketchDepth, 16, nameof(SketchDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(Threads, 1, nameof(Threads));
        if (TaskShares is not null)
        {
            if (TaskShares.Values.Any(v => !(v >= 0) || double.IsInfinity(v)) || TaskShares.Values.Sum() <= 0)
                throw new ArgumentException("Task shares must be finite, ≥ 0, with a positive sum.", nameof(TaskShares));
        }
    }
}

/// <summary>One progress report of <see cref="ItemSageTrainer.Train"/>.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Steps planned.</param>
/// <param name="Loss">Mean loss over the steps since the previous report.</param>
/// <param name="ExamplesPerSecond">Training pairs per second since the previous report.</param>
/// <param name="Temperature">Current temperature τ.</param>
public readonly record struct TrainingProgress(int Step, int TotalSteps, double Loss, double ExamplesPerSecond, float Temperature);
