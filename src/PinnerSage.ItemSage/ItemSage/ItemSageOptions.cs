using PinnerSage.IO;
using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.ItemSage;

/// <summary>Everything an ItemSage training run needs besides its data (<see cref="ItemSageModel.Train"/>). Immutable;
/// <see cref="Validate"/> checks the combination once.</summary>
public sealed record ItemSageOptions
{
    /// <summary>The tower: the paper's transformer (default) or its MLP-concat baseline.</summary>
    public ItemSageTowerKind Tower { get; init; } = ItemSageTowerKind.Transformer;

    /// <summary>The tower's shape; the vocabulary, text-field and vector sizes are filled from the features.</summary>
    public ItemSageModelOptions Model { get; init; } = new();

    /// <summary>Which text fields and vector sets become features.</summary>
    public ItemSageFeatureOptions Features { get; init; } = new();

    /// <summary>How engagement pairs are built and split by time.</summary>
    public PairOptions Pairs { get; init; } = new();

    /// <summary>Batches, loss, optimizer, seed and threads. Its <see cref="ItemSageTrainingOptions.Steps"/> is replaced by
    /// <see cref="Steps"/> / <see cref="Epochs"/>.</summary>
    public ItemSageTrainingOptions Training { get; init; } = new();

    /// <summary>Training steps (batches); null = <see cref="Epochs"/> passes over the training pairs (or, with
    /// <see cref="Validation"/>, <see cref="ItemSageEvaluation.DefaultMaxSteps"/>).</summary>
    public int? Steps { get; init; }

    /// <summary>Passes over the training pairs when <see cref="Steps"/> is null (default 1).</summary>
    public double? Epochs { get; init; }

    /// <summary>A frozen query space (dimension = the output dimension, rows unit-normalised): only the product tower
    /// learns, as in the paper. Null = the query item goes through the same tower.</summary>
    public ItemEmbeddings? QueryEmbeddings { get; init; }

    /// <summary>Write the checkpoint every N steps (0 = only at the end); needs a model folder.</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Continue from the model folder's checkpoint (same batches as an uninterrupted run).</summary>
    public bool Resume { get; init; }

    /// <summary>Stop training after this wall-clock time (the result then depends on the machine's speed).</summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>Early stopping on the validation period, keeping the best step; null = train the planned steps.</summary>
    public ItemSageValidation? Validation { get; init; }

    /// <summary>Checks every option and their combination.</summary>
    /// <exception cref="ArgumentException">An option out of range, or validation combined with a checkpoint schedule
    /// or a resume (the early-stopping state is not checkpointed).</exception>
    public void Validate()
    {
        Features.Validate();
        Pairs.Validate();
        Training.Validate();
        if (Steps is int steps) ArgumentOutOfRangeException.ThrowIfNegative(steps, nameof(Steps));
        if (Epochs is double epochs && !(epochs > 0)) throw new ArgumentOutOfRangeException(nameof(Epochs), epochs, "must be > 0");
        ArgumentOutOfRangeException.ThrowIfNegative(CheckpointEvery, nameof(CheckpointEvery));
        if (Validation is not null)
        {
            Validation.Validate();
            if (Resume || CheckpointEvery > 0)
                throw new ArgumentException("Validation does not combine with Resume or CheckpointEvery (the early-stopping state is not checkpointed).", nameof(Validation));
        }
    }
}

/// <summary>Model selection on the validation period: a validation point every <paramref name="Every"/> steps, early
/// stopping by <paramref name="Stopping"/>; the best step's parameters are kept.</summary>
public sealed record ItemSageValidation(int Every, StoppingOptions Stopping)
{
    /// <summary>Validation pairs scored per point (evenly spaced, tasks pooled).</summary>
    public int MaxPairs { get; init; } = ItemSageEvaluation.DefaultMaxValidationPairs;

    /// <summary>Checks the options.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Every, nameof(Every));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxPairs, nameof(MaxPairs));
        ArgumentNullException.ThrowIfNull(Stopping);
        Stopping.Validate();
    }
}
