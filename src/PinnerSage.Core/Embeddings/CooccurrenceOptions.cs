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

    /// <summary>Power (subspace) iterations of the randomised SVD, ≥ 0. Default 7 (our choice, also scikit-learn's
    /// <c>randomized_svd</c> default for k ≪ n): PPMI spectra are flat, and on amazon-beauty (k = 64, oversampling 10,
    /// against exact Lanczos) 2 / 4 / 7 iterations leave the 64 singular values off by at most 11.8 / 5.9 / 3.0 %
    /// (mean 6.0 / 2.1 / 0.76 %; the leading 8 within 0.2 % / 6e-6 / 2e-9) for about 1× / 1.7× / 2× the time.</summary>
    public int PowerIterations { get; init; } = 7;

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
