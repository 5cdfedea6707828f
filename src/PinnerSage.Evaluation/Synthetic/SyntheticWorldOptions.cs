namespace PinnerSage.Synthetic;

/// <summary>Options of a generated world (<see cref="SyntheticWorld"/>). Every default is our choice, picked so the
/// world looks like an e-commerce/pinning log: a few interests per user, heavy-tailed activity, bursty sessions.</summary>
public sealed record SyntheticWorldOptions
{
    /// <summary>Number of users (1 … 10,000,000).</summary>
    public int Users { get; init; } = 1000;

    /// <summary>Number of catalogue items; null = scale with users: clamp(users / 5, 5,000, 200,000).</summary>
    public int? Items { get; init; }

    /// <summary>Number of topics (interests); null = clamp(√items, 30, 500).</summary>
    public int? Topics { get; init; }

    /// <summary>Length of the activity window in days.</summary>
    public int Days { get; init; } = 120;

    /// <summary>Embedding dimension d.</summary>
    public int Dimension { get; init; } = 256;

    /// <summary>Seed: the same options give byte-identical output.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>End of the window, Unix seconds (UTC); the default is 2026-01-01T00:00:00Z, fixed so output does not
    /// depend on the clock.</summary>
    public long EndTime { get; init; } = 1_767_225_600;

    /// <summary>Mean actions per user; per-user counts are log-normal (σ = <see cref="ActivitySigma"/>), a heavy tail.</summary>
    public double MeanActionsPerUser { get; init; } = 60;

    /// <summary>σ of the log-normal number of actions per user.</summary>
    public double ActivitySigma { get; init; } = 1.0;

    /// <summary>Maximum interests per user; the count is drawn with P(k) ∝ k^−<see cref="InterestCountExponent"/>.</summary>
    public int MaxInterests { get; init; } = 20;

    /// <summary>Power-law exponent of the number of interests (larger = more users with few interests).</summary>
    public double InterestCountExponent { get; init; } = 1.3;

    /// <summary>Zipf exponent of topic popularity.</summary>
    public double TopicZipfExponent { get; init; } = 1.0;

    /// <summary>Zipf exponent of item popularity inside a topic (popular items are engaged again by many users).</summary>
    public double ItemZipfExponent { get; init; } = 0.8;

    /// <summary>Spread of topic centres around their family centre (in the residual space, see
    /// <see cref="SharedShare"/>; 1.0 gives sibling topic centres a cosine of about 1/(1+1²) = 0.5 there).</summary>
    public double TopicSpread { get; init; } = 1.0;

    /// <summary>Typical spread of products around their topic centre, in the residual space (2.6 gives two products of
    /// one topic a residual cosine of about 1/(1+2.6²) = 0.13: content vectors only loosely follow users' interests,
    /// as measured on amazon-scientific, bench/results/synthetic-geometry.md).</summary>
    public double ItemNoise { get; init; } = 2.6;

    /// <summary>Log-normal σ of the per-topic item spread: some topics are tight, others broad
    /// (topic spread = <see cref="ItemNoise"/>·exp(σ·g)).</summary>
    public double ItemNoiseVariation { get; init; } = 0.25;

    /// <summary>Share of every item vector's squared length along one direction common to the whole catalogue (real
    /// content embeddings are far from isotropic: their catalogue mean has norm 0.70–0.77 and random pairs a mean cosine
    /// of 0.50–0.60). 0 = the residual alone (near-orthogonal topics).</summary>
    public double SharedShare { get; init; } = 0.55;

    /// <summary>Spectral decay β of the residual noise: coordinate k has variance ∝ (k+1)^−β (0 = isotropic). Real
    /// embeddings concentrate their variance in few directions, which makes unrelated items' cosines spread and
    /// neighbours close.</summary>
    public double Anisotropy { get; init; } = 1.0;

    /// <summary>Mean number of items per product (variants of one product: sizes, colours), geometric on 1, 2, …
    /// (1 = every item its own product).</summary>
    public double MeanProductSize { get; init; } = 2;

    /// <summary>Spread of an item around its product, in the residual space (0.6 gives two variants a residual cosine
    /// of about 1/(1+0.6²) = 0.74). Unused when <see cref="MeanProductSize"/> is 1 (every item is its own
    /// product).</summary>
    public double VariantNoise { get; init; } = 0.6;

    /// <summary>Share of sessions that are one-off explorations of a random topic outside the user's interests
    /// (stray clicks; their ground truth is that topic).</summary>
    public double ExplorationShare { get; init; } = 0.05;

    /// <summary>Mean actions per session (sessions are on one interest, actions minutes apart).</summary>
    public double MeanSessionLength { get; init; } = 4;

    /// <summary>Mean gap between actions of one session, seconds.</summary>
    public double MeanGapSeconds { get; init; } = 120;

    /// <summary>Share of clicks among actions (the four shares are normalised to sum to 1).</summary>
    public double ClickShare { get; init; } = 0.70;

    /// <summary>Share of saves.</summary>
    public double SaveShare { get; init; } = 0.20;

    /// <summary>Share of add-to-cart actions.</summary>
    public double AddToCartShare { get; init; } = 0.07;

    /// <summary>Share of checkouts.</summary>
    public double CheckoutShare { get; init; } = 0.03;

    /// <summary>The near-orthogonal geometry of the first synthetic world (issue 2): no shared direction, isotropic
    /// noise, one item per product and tight topics (items of one topic at cosine ≈ 1/(1+0.7²) = 0.67, unrelated ones
    /// ≈ 0). Interests are then easy to recover from the vectors alone and the average of a user's items is trivially a
    /// good query; kept for tests of the clustering and as a contrast (bench/results/synthetic-geometry.md).</summary>
    public static SyntheticWorldOptions Separable { get; } = new()
    {
        SharedShare = 0, Anisotropy = 0, MeanProductSize = 1, VariantNoise = 0, ItemNoise = 0.7, TopicSpread = 0.8,
    };

    /// <summary>Items resolved from <see cref="Items"/> or the default scaling.</summary>
    public int ResolvedItems => Items ?? Math.Clamp(Users / 5, 5_000, 200_000);

    /// <summary>Topics resolved from <see cref="Topics"/> or the default scaling.</summary>
    public int ResolvedTopics => Topics ?? Math.Clamp((int)Math.Round(Math.Sqrt(ResolvedItems)), 30, 500);

    /// <summary>Checks every option once.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its documented range.</exception>
    /// <exception cref="ArgumentException">The engagement shares do not have a positive sum.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Users);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Users, 10_000_000);
        ArgumentOutOfRangeException.ThrowIfLessThan(ResolvedTopics, 1, nameof(Topics));
        ArgumentOutOfRangeException.ThrowIfLessThan(ResolvedItems, ResolvedTopics, nameof(Items));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ResolvedItems, 50_000_000, nameof(Items));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Days);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Days, 36_500);
        ArgumentOutOfRangeException.ThrowIfLessThan(Dimension, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Dimension, 65_536);
        if ((long)ResolvedItems * Dimension > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(Items), ResolvedItems,
                $"items × dimension must be at most {Array.MaxLength:N0} floats (one contiguous table).");
        ArgumentOutOfRangeException.ThrowIfLessThan(EndTime, (long)Days * UnixTime.SecondsPerDay);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(EndTime, 32_503_680_000); // year 3000
        ThrowIfNotIn(MeanActionsPerUser, 1, 10_000, nameof(MeanActionsPerUser));
        ThrowIfNotIn(ActivitySigma, 0, 3, nameof(ActivitySigma));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxInterests);
        ThrowIfNotIn(InterestCountExponent, 0, 10, nameof(InterestCountExponent));
        ThrowIfNotIn(TopicZipfExponent, 0, 10, nameof(TopicZipfExponent));
        ThrowIfNotIn(ItemZipfExponent, 0, 10, nameof(ItemZipfExponent));
        ThrowIfNotIn(TopicSpread, 0, 100, nameof(TopicSpread));
        ThrowIfNotIn(ItemNoise, 0, 100, nameof(ItemNoise));
        ThrowIfNotIn(ItemNoiseVariation, 0, 3, nameof(ItemNoiseVariation));
        ThrowIfNotIn(SharedShare, 0, 0.99, nameof(SharedShare));
        ThrowIfNotIn(Anisotropy, 0, 4, nameof(Anisotropy));
        ThrowIfNotIn(MeanProductSize, 1, 1000, nameof(MeanProductSize));
        ThrowIfNotIn(VariantNoise, 0, 100, nameof(VariantNoise));
        ThrowIfNotIn(ExplorationShare, 0, 1, nameof(ExplorationShare));
        ThrowIfNotIn(MeanSessionLength, 1, 1000, nameof(MeanSessionLength));
        ThrowIfNotIn(MeanGapSeconds, 0, 86_400, nameof(MeanGapSeconds));
        ThrowIfNotIn(ClickShare, 0, 1, nameof(ClickShare));
        ThrowIfNotIn(SaveShare, 0, 1, nameof(SaveShare));
        ThrowIfNotIn(AddToCartShare, 0, 1, nameof(AddToCartShare));
        ThrowIfNotIn(CheckoutShare, 0, 1, nameof(CheckoutShare));
        if (ClickShare + SaveShare + AddToCartShare + CheckoutShare <= 0)
            throw new ArgumentException("The engagement shares must have a positive sum.", nameof(ClickShare));
    }

    private static void ThrowIfNotIn(double value, double min, double max, string name)
    {
        if (!(value >= min && value <= max)) // also rejects NaN
            throw new ArgumentOutOfRangeException(name, value, $"must be in [{min}, {max}]");
    }
}
