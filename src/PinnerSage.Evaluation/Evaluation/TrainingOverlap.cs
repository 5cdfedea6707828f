namespace PinnerSage.Evaluation;

/// <summary>Where the test period of an offline evaluation starts, to compare with the training cut of
/// engagement-trained embeddings (<see cref="IO.EmbeddingsMeta"/>): embeddings fitted on actions up to T have seen
/// every test action before T, so testing on them measures memorisation, not retrieval.</summary>
public static class TrainingOverlap
{
    /// <summary>The earliest time a test action can have under <paramref name="options"/>: walk-forward, the test
    /// period start (<see cref="OfflineEvalOptions.TestFrom"/> or the <see cref="OfflineEvalOptions.TestShare"/>
    /// quantile, as <see cref="OfflineEvaluation"/> computes it); leave-last-out, the earliest held-out action over all
    /// users; auto, the earlier of the two (either may be chosen). <see cref="long.MaxValue"/> when nothing is tested.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static long TestPeriodStart(EvalActions actions, OfflineEvalOptions options)
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        long start = long.MaxValue;
        if (options.Protocol != EvalProtocol.LeaveLastOut && actions.Count > 0)
            start = options.TestFrom ?? EvalSplit.TestPeriodStart(actions, options.TestShare);
        if (options.Protocol != EvalProtocol.WalkForward)
        {
            foreach (EvalInstance x in EvalSplit.LeaveLastOut(actions, options.LeaveOut, options.WindowDays,
                                                              options.Unembedded == UnembeddedPolicy.Drop))
                start = Math.Min(start, actions.Times[x.TestStart]);
        }
        return start;
    }
}
