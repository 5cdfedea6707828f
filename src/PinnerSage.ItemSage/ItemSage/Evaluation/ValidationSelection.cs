using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.ItemSage.Evaluation;

/// <summary>What <see cref="ValidationSelection.Train"/> did: the validation curve and the chosen checkpoint.</summary>
/// <param name="SelectedStep">Step of the checkpoint left in the tower (the best validation point; the last step when
/// there were no validation pairs).</param>
/// <param name="SelectedRecall">Validation recall of that checkpoint (NaN without validation pairs).</param>
/// <param name="Curve">Every evaluated checkpoint: step → validation recall, in step order.</param>
/// <param name="FinalLoss">Mean training loss of the last progress interval (at the last step trained).</param>
public sealed record SelectionResult(int SelectedStep, double SelectedRecall, IReadOnlyList<(int Step, double Recall)> Curve, double FinalLoss);

/// <summary>Model selection on the validation split: train up to a maximum number of steps, measure recall@k of the
/// validation pairs every few steps and keep the parameters of the best point.</summary>
/// <remarks>Early stopping on held-out data (the standard protocol; ItemSage, Baltescu et al., KDD 2022, selects its
/// models offline on held-out engagement too). Our choices: the schedule (warm-up and cosine decay) spans the maximum
/// steps, so a checkpoint at step s is exactly the model a run of that schedule has at s; the score is recall@k pooled
/// over the evaluated tasks, computed by <see cref="RecallAtK"/> (the test metric's code) on at most a fixed number of
/// evenly spaced validation pairs, which lie between the training and test periods in time; ties keep the earlier
/// step; the snapshot is an in-memory copy of the tower's flat parameter array (no file I/O), restored at the end.
/// The optimizer and sampler states are not restored: the selected tower is for evaluation, not for resuming.</remarks>
public static class ValidationSelection
{
    /// <summary>Trains <paramref name="trainer"/> until <paramref name="maxSteps"/>, evaluating every
    /// <paramref name="evaluateEvery"/> steps (and at the last step), and leaves the best checkpoint's parameters in
    /// <c>trainer.Tower</c>.</summary>
    /// <param name="trainer">A trainer whose schedule spans <paramref name="maxSteps"/> (its options' Steps).</param>
    /// <param name="features">The features the tower embeds (all catalogue items are candidates).</param>
    /// <param name="validation">The validation pairs to score (already subsampled; see <see cref="Subsample"/>).</param>
    /// <param name="maxSteps">Last step trained.</param>
    /// <param name="evaluateEvery">Steps between validation points.</param>
    /// <param name="k">Cut-off of the validation recall.</param>
    /// <param name="progress">Training progress.</param>
    public static SelectionResult Train(ItemSageTrainer trainer, IItemFeatureSource features, PairSet validation, int maxSteps,
        int evaluateEvery, int k = 50, Action<TrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSteps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(evaluateEvery);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        float[] parameters = trainer.Tower.Parameters;
        float[]? best = null;
        double bestRecall = double.NaN, loss = double.NaN;
        int bestStep = 0;
        var curve = new List<(int, double)>();
        while (trainer.Step < maxSteps)
        {
            int target = Math.Min(maxSteps, (trainer.Step / evaluateEvery + 1) * evaluateEvery);
            loss = trainer.Train(progress, untilStep: target);
            if (validation.Count == 0) continue;
            double recall = Recall(trainer.Tower, features, validation, trainer.Tasks, k);
            curve.Add((trainer.Step, recall));
            if (best is null || recall > bestRecall)
            {
                best ??= new float[parameters.Length];
                parameters.CopyTo(best, 0);
                bestRecall = recall;
                bestStep = trainer.Step;
            }
        }
        if (best is null) return new SelectionResult(trainer.Step, double.NaN, curve, loss);
        best.CopyTo(parameters, 0);
        return new SelectionResult(bestStep, bestRecall, curve, loss);
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
