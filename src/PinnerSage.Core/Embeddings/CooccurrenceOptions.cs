namespace PinnerSage.Embeddings;

/// <summary>Options of <see cref="CooccurrenceEmbedding"/>; the defaults are our choices (see its remarks).</summary>
public sealed record CooccurrenceOptions
{
    /// <summary>Embedding dimension k (singular vectors kept), ≥ 1.</summary>
    public int Dimension { get; init; } = 64;

    /// <summary>Co-occurrence window: each action pairs with the next <see cref="Window"/> actions of the same user
    /// (time order), ≥ 1.</summary>
    public int Window { get; init; } = 10;

    /// <summary>Context-distribution smoothing exponent of PPMI (Levy, Goldberg &amp; Dagan 2015), in (0, 1].</summary>
    public double ContextSmoothing { get; init; } = 0.75;

    /// <summary>Extra random directions of the randomised SVD beyond <see cref="Dimension"/>, ≥ 0.</summary>
    public int Oversampling { get; init; } = 10;

    /// <summary>Power (subspace) iterations of the randomised SVD, ≥ 0.</summary>
    public int PowerIterations { get; init; } = 2;

    /// <summary>Seed of the Gaussian test matrix.</summary>
    public ulong Seed { get; init; }

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Window);
        ArgumentOutOfRangeException.ThrowIfNegative(Oversampling);
        ArgumentOutOfRangeException.ThrowIfNegative(PowerIterations);
        if (!(ContextSmoothing > 0 && ContextSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(ContextSmoothing), ContextSmoothing, "must be in (0, 1].");
    }
}
