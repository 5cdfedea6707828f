using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.ItemSage.Evaluation;

/// <summary>Why <see cref="ValidationSelection.Train"/> stopped.</summary>
public enum StopReason
{
    /// <summary>Validation stopped improving: <see cref="StoppingOptions.Patience"/> evaluations without a new best
    /// after the last learning-rate drop (convergence).</summary>
    Patience,

    /// <summary>The maximum number of steps was reached while validation was still improving (or no patience was set).</summary>
    MaxSteps,

    /// <summary>There were no validation pairs: trained to the maximum, the last step is kept.</summary>
    NoValidation,
}

/// <summary>Early stopping on the validation split.</summary>
/// <remarks>Our choices (ItemSage publishes none; picked on the validation split of every shared dataset,
/// bench/results/itemsage-eval.md): after <see cref="Patience"/> validation points without a new best, the learning
/// rate is multiplied by <see cref="PlateauFactor"/> (at most <see cref="PlateauDrops"/> times, Keras's
/// ReduceLROnPlateau without restoring weights) and the count starts again; once no drop is left, training stops.</remarks>
public sealed record StoppingOptions
{
    /// <summary>Validation points without a new best before the learning rate drops or training stops; 0 = never stop
    /// early (train to the maximum).</summary>
    public int Patience { get; init; } = 3;

    /// <summary>Learning-rate drops on a plateau before the run stops.</summary>
    public int PlateauDrops { get; init; } = 1;

    /// <summary>Factor of each drop.</summary>
    public float PlateauFactor { get; init; } = 0.1f;

    /// <summary>Never stop before this step (guards against noise at the start).</summary>
    public int MinSteps { get; init; }

    /// <summary>Checks the options.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Patience, nameof(Patience));
        ArgumentOutOfRangeException.ThrowIfNegative(PlateauDrops, nameof(PlateauDrops));
        ArgumentOutOfRangeException.ThrowIfNegative(MinSteps, nameof(MinSteps));
        if (!(PlateauFactor > 0 && PlateauFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(PlateauFactor), PlateauFactor, "must be in (0, 1]");
    }

    /// <summary>No early stopping: train to the maximum and keep the best point (the behaviour before early stopping).</summary>
    public static StoppingOptions None { get; } = new() { Patience = 0, PlateauDrops = 0 };
}

/// <summary>What <see cref="ValidationSelection.Train"/> did: the validation curve and the chosen checkpoint.</summary>
/// <param name="SelectedStep">Step of the checkpoint left in the tower (the best validation point; the last step when
/// there were no validation pairs).</param>
/// <param name="SelectedRecall">Validation recall of that checkpoint (NaN without validation pairs).</param>
/// <param name="Curve">Every evaluated checkpoint: step → validation recall, in step order.</param>
/// <param name="FinalLoss">Mean training loss of the last progress interval (at the last step trained).</param>
/// <param name="StoppedStep">Last step trained.</param>
/// <param name="Reason">Why training stopped.</param>
/// <param name="LearningRateDrops">Steps after which the learning rate dropped on a plateau.</param>
public sealed record SelectionResult(int SelectedStep, double SelectedRecall, IReadOnlyList<(int Step, double Recall)> Curve, double FinalLoss,
    int StoppedStep = 0, StopReason Reason = StopReason.MaxSteps, IReadOnlyList<int>? LearningRateDrops = null);

/// <summary>Model selection on the validation split with early stopping: train until validation recall@k stops
/// improving (or a maximum number of steps), measuring it every few steps, and keep the parameters of the best point.</summary>
/// <remarks>Early stopping on held-out data (the standard protocol; ItemSage, Baltescu et al., KDD 2022, selects its
/// models offline on held-out engagement too). Our choices: the trainer's own schedule runs (eval: warm-up then a
/// constant rate, so no step count is baked into it), and <see cref="StoppingOptions"/> lowers the rate on a plateau and
/// stops on the next one; the score is recall@k pooled over the evaluated tasks, computed by <see cref="RecallAtK"/>
/// (the test metric's code) on at most a fixed number of evenly spaced validation pairs, which lie between the training
/// and test periods in time; ties keep the earlier step; the snapshot is an in-memory copy of the tower's flat parameter
/// array (no file I/O), restored at the end. The optimizer and sampler states are not restored: the selected tower is
/// for evaluation, not for resuming.</remarks>
internal static class ValidationSelection
{
    /// <summary>Trains <paramref name="trainer"/> until validation stops improving (<paramref name="stopping"/>) or
    /// <paramref name="maxSteps"/>, evaluating every <paramref name="evaluateEvery"/> steps (and at the last step), and
    /// leaves the best checkpoint's parameters in <c>trainer.Tower</c>.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="features">The features the tower embeds (all catalogue items are candidates).</param>
    /// <param name="validation">The validation pairs to score (already subsampled; see <see cref="Subsample"/>).</param>
    /// <param name="maxSteps">Last step trained at most.</param>
    /// <param name="evaluateEvery">Steps between validation points.</param>
    /// <param name="k">Cut-off of the validation recall.</param>
    /// <param name="progress">Training progress.</param>
    /// <param name="stopping">Early stopping; null = <see cref="StoppingOptions.None"/> (train to the maximum).</param>
    /// <param name="onPoint">Called after every validation point (step, recall, whether it is the new best).</param>
    public static SelectionResult Train(ItemSageTrainer trainer, IItemFeatureSource features, PairSet validation, int maxSteps,
        int evaluateEvery, int k = 50, Action<TrainingProgress>? progress = null, StoppingOptions? stopping = null,
        Action<int, double, bool>? onPoint = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSteps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(evaluateEvery);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        stopping ??= StoppingOptions.None;
        stopping.Validate();
        float[] parameters = trainer.Tower.Parameters;
        float[]? best = null;
        double bestRecall = double.NaN, loss = double.NaN;
        int bestStep = 0, sinceBest = 0, dropsLeft = stopping.PlateauDrops;
        var curve = new List<(int, double)>();
        var drops = new List<int>();
        StopReason reason = validation.Count == 0 ? StopReason.NoValidation : StopReason.MaxSteps;
        while (trainer.Step < maxSteps)
        {
            int target = Math.Min(maxSteps, (trainer.Step / evaluateEvery + 1) * evaluateEvery);
            loss = trainer.Train(progress, untilStep: target);
            if (validation.Count == 0) continue;
            double recall = Recall(trainer.Tower, features, validation, trainer.Tasks, k);
            curve.Add((trainer.Step, recall));
            bool improved = best is null || recall > bestRecall;
            onPoint?.Invoke(trainer.Step, recall, improved);
            if (improved)
            {
                best ??= new float[parameters.Length];
                parameters.CopyTo(best, 0);
                bestRecall = recall;
                bestStep = trainer.Step;
                sinceBest = 0;
                continue;
            }
            if (stopping.Patience == 0 || ++sinceBest < stopping.Patience || trainer.Step < stopping.MinSteps) continue;
            if (dropsLeft > 0)
            {
                dropsLeft--;
                trainer.LearningRateScale *= stopping.PlateauFactor;
                drops.Add(trainer.Step);
                sinceBest = 0;
                continue;
            }
            reason = StopReason.Patience;
            break;
        }
        if (best is null) return new SelectionResult(trainer.Step, double.NaN, curve, loss, trainer.Step, reason, drops);
        best.CopyTo(parameters, 0);
        return new SelectionResult(bestStep, bestRecall, curve, loss, trainer.Step, reason, drops);
    }

    /// <summary>Recall@k of <paramref name="validation"/> pooled over its pairs, with the tower's current parameters.</summary>
    public static double Recall(Model.IItemTower tower, IItemFeatureSource features, PairSet validation, IReadOnlyList<string> tasks, int k = 50)
    {
        ArgumentNullException.ThrowIfNull(tower);
        ArgumentNullException.ThrowIfNull(validation);
        float[] embeddings = ItemSageEmbedder.EmbedAll(tower, features);
        var result = RecallAtK.Evaluate(validation, tasks, features.ItemCount, RecallAtK.FromEmbeddings(embeddings, tower.Options.OutputDim),
            [k], int.MaxValue);
        return result.TryGetValue(RecallAtK.AllTasks, out var all) ? all[$"recall@{k}"] : double.NaN;
    }

    /// <summary>At most <paramref name="maxPairs"/> pairs of <paramref name="pairs"/> (only of <paramref name="task"/>
    /// when given), evenly spaced over the set's (time) order.</summary>
    public static PairSet Subsample(PairSet pairs, int maxPairs, int? task = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPairs);
        int[] of = [.. Enumerable.Range(0, pairs.Count).Where(i => task is null || pairs.Task[i] == task)];
        int[] chosen = RecallAtK.EvenlySpaced(of, maxPairs);
        return new PairSet([.. chosen.Select(i => pairs.Query[i])], [.. chosen.Select(i => pairs.Positive[i])],
            [.. chosen.Select(i => pairs.Task[i])], [.. chosen.Select(i => pairs.Time[i])],
            pairs.User.Length == 0 ? null : [.. chosen.Select(i => pairs.User[i])]);
    }
}
