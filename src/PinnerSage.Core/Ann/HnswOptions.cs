namespace PinnerSage.Ann;

/// <summary>Parameters of a <see cref="HnswIndex"/> (Malkov &amp; Yashunin 2018, §4 "construction parameters").</summary>
public sealed record HnswOptions
{
    /// <summary>M: links a new element makes on each layer (the paper recommends 5…48; hnswlib's default 16).</summary>
    public int M { get; init; } = 16;

    /// <summary>MaxM0: the most links an element keeps on layer 0, 2·M as the paper recommends (§4.1).</summary>
    public int MaxM0 => 2 * M;

    /// <summary>efConstruction: size of the dynamic candidate list while inserting.</summary>
    public int EfConstruction { get; init; } = 200;

    /// <summary>ef: size of the dynamic candidate list while searching (raised to k when k is larger).</summary>
    public int Ef { get; init; } = 64;

    /// <summary>Seed of the level draws. Each element's level is a hash of (seed, label) (our choice), so the same
    /// input gives the same levels whatever the thread count.</summary>
    public long Seed { get; init; } = 100;

    /// <summary>The distance the graph is built and searched in.</summary>
    public VectorMetric Metric { get; init; } = VectorMetric.Cosine;

    /// <summary>m_L = 1 / ln M, the level multiplier of Alg. 1 line 4.</summary>
    public double LevelMultiplier => 1.0 / Math.Log(M);

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentOutOfRangeException">M outside 2…256, EfConstruction or Ef outside 1…100000, or an
    /// undefined metric.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(M, 2, nameof(M));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(M, 256, nameof(M));
        ArgumentOutOfRangeException.ThrowIfLessThan(EfConstruction, 1, nameof(EfConstruction));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(EfConstruction, 100_000, nameof(EfConstruction));
        ArgumentOutOfRangeException.ThrowIfLessThan(Ef, 1, nameof(Ef));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Ef, 100_000, nameof(Ef));
        if (!Enum.IsDefined(Metric)) throw new ArgumentOutOfRangeException(nameof(Metric), Metric, "unknown metric");
    }
}

/// <summary>Index refinement (PinnerSage §"Retrieval": the refined index cut serving cost by half): near-duplicates
/// and excluded items are left out of the graph while it is built.</summary>
public sealed record HnswRefinement
{
    /// <summary>Drop an item whose cosine similarity to an item already in the graph is ≥ this value, and remember that
    /// item as its representative; null keeps every item.</summary>
    public float? DuplicateCosine { get; init; }

    /// <summary>Labels (rows) never inserted, e.g. low-quality or blocked items.</summary>
    public IReadOnlySet<int>? Excluded { get; init; }

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="DuplicateCosine"/> outside (0, 1].</exception>
    public void Validate()
    {
        if (DuplicateCosine is { } t && (!(t > 0) || t > 1))
            throw new ArgumentOutOfRangeException(nameof(DuplicateCosine), t, "must be in (0, 1]");
    }
}

/// <summary>What <c>HnswIndex.Build</c> did: items inserted, dropped as near-duplicates, and excluded.</summary>
public readonly record struct HnswBuildReport(int Inserted, int Duplicates, int Excluded);
