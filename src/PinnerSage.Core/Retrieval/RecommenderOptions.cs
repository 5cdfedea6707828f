namespace PinnerSage.Retrieval;

/// <summary>How <see cref="Recommender"/> picks the medoids it queries.</summary>
public enum MedoidSampling
{
    /// <summary>With probability proportional to importance, without replacement (the paper samples ∝ importance;
    /// without replacement is our choice). Efraimidis–Spirakis keys, equal in distribution to successive draws.</summary>
    ProportionalToImportance,

    /// <summary>The most important medoids (deterministic, no sampling).</summary>
    TopImportance,
}

/// <summary>How <see cref="Recommender"/> merges the sampled medoids' neighbour lists into one list (the paper does
/// not publish production's blending; both are our choices).</summary>
public enum CandidateBlending
{
    /// <summary>One item from each list in turn, lists in decreasing importance of their cluster: every sampled
    /// interest is represented near the top.</summary>
    RoundRobin,

    /// <summary>All lists merged by distance to their medoid, nearest first: the tightest neighbourhoods win.</summary>
    BySimilarity,
}

/// <summary>Options of <see cref="Recommender"/> (papers/PINNERSAGE.md, Retrieval).</summary>
public sealed record RecommenderOptions
{
    /// <summary>Default options: K = 400 candidates (the paper's offline protocol), 3 medoids ∝ importance, round-robin.</summary>
    public static RecommenderOptions Default { get; } = new();

    /// <summary>The retrieval policy. Default <see cref="RetrievalPolicy.Mixture"/>; <see cref="RetrievalPolicy.Paper"/>
    /// is the paper's sampled-medoid retrieval (which the medoid, sampling, blending and fill options configure).</summary>
    public RetrievalPolicy Policy { get; init; } = RetrievalPolicy.Mixture;

    /// <summary>The mixture policy's options (used when <see cref="Policy"/> is <see cref="RetrievalPolicy.Mixture"/>).</summary>
    public MixtureOptions Mixture { get; init; } = MixtureOptions.Default;

    /// <summary>Candidates returned per request (the paper's K = 400 for candidate generation).</summary>
    public int K { get; init; } = 400;

    /// <summary>Medoids sampled per request, e (the paper's 3); every medoid when a user has at most this many.</summary>
    public int Medoids { get; init; } = 3;

    /// <summary>How medoids are picked.</summary>
    public MedoidSampling Sampling { get; init; } = MedoidSampling.ProportionalToImportance;

    /// <summary>How the per-medoid lists are merged.</summary>
    public CandidateBlending Blending { get; init; } = CandidateBlending.RoundRobin;

    /// <summary>Sampling seed for every request. Null (default): derived per request from the user id and the UTC day
    /// of <c>now</c> (<see cref="Recommender.DefaultSeed"/>), so a user sees stable results within a day and fresh
    /// ones the next (our choice).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Leave out items the user already engaged with (the members of their clusters). Default true.</summary>
    public bool ExcludeEngaged { get; init; } = true;

    /// <summary>With an index that filters inside its search (<see cref="PinnerSage.Ann.IFilteredVectorIndex"/>: HNSW float
    /// or int8, exact), engaged items are left out inside the graph walk, so each query asks for the neighbours it
    /// keeps and none is fetched to be dropped. Default true. Lists served by a <see cref="NeighborCache"/> of medoid
    /// lists are shared by every user, so they stay unfiltered and engaged items are dropped from them after the fetch
    /// (over-fetching as with other indexes). False: always over-fetch and drop (the behaviour before filtered search).</summary>
    public bool FilterInSearch { get; init; } = true;

    /// <summary>Each medoid contributes ⌊K/e⌋ neighbours, and the union may be shorter than K (duplicates across
    /// lists, engaged items). True (default): fill the rest from deeper in the same lists, round by round, so K items
    /// come back whenever the index has them. False: the paper's union of ⌊K/e⌋ per medoid only.</summary>
    public bool FillToK { get; init; } = true;

    /// <summary>Each medoid's index query asks for ⌈⌊K/e⌋ · OverFetch⌉ neighbours plus the size of its cluster
    /// (engaged items cluster around their medoid; not added when the search filters them, <see cref="FilterInSearch"/>), and again for twice as many when filtering left too few
    /// (our choice). Default 1.5.</summary>
    public double OverFetch { get; init; } = 1.5;

    /// <summary>Upper bound of one medoid's index query (bounds work for heavy users). Default 4096.</summary>
    public int MaxFetchPerMedoid { get; init; } = 4096;

    /// <summary>Checks the option values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive K, Medoids or MaxFetchPerMedoid, an OverFetch
    /// below 1 or not finite, or an unknown enum value.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(K, nameof(K));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Medoids, nameof(Medoids));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxFetchPerMedoid, nameof(MaxFetchPerMedoid));
        if (!(OverFetch >= 1) || !double.IsFinite(OverFetch))
            throw new ArgumentOutOfRangeException(nameof(OverFetch), OverFetch, "OverFetch must be a finite number ≥ 1.");
        if (!Enum.IsDefined(Sampling)) throw new ArgumentOutOfRangeException(nameof(Sampling), Sampling, "Unknown sampling mode.");
        if (!Enum.IsDefined(Blending)) throw new ArgumentOutOfRangeException(nameof(Blending), Blending, "Unknown blending mode.");
        if (!Enum.IsDefined(Policy)) throw new ArgumentOutOfRangeException(nameof(Policy), Policy, "Unknown retrieval policy.");
        ArgumentNullException.ThrowIfNull(Mixture, nameof(Mixture));
        Mixture.Validate();
    }
}
