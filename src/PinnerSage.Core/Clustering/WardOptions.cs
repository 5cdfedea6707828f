namespace PinnerSage.Clustering;

/// <summary>Options of the per-user Ward model (papers/PINNERSAGE.md, Model step 1).</summary>
public sealed record WardOptions
{
    /// <summary>Cut level α on the squared Ward scale (scipy's height is √distance, so α = h²); merged sets at
    /// distance ≤ α are kept. Default: <see cref="WardClustering.DefaultAlphaUnitNorm"/>, for unit-norm embeddings.</summary>
    public double Alpha { get; init; } = WardClustering.DefaultAlphaUnitNorm;

    /// <summary>Whether items in no kept set (first merge above α) become singleton clusters (our choice; the paper
    /// is silent). Default false.</summary>
    public bool KeepSingletons { get; init; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="Alpha"/> is negative or NaN.</exception>
    public void Validate() => WardClustering.ValidateAlpha(Alpha);
}
