using PinnerSage.Numerics;

namespace PinnerSage.Clustering;

/// <summary>The per-user PinnerSage model, steps 1–2 (papers/PINNERSAGE.md): Ward clustering of a user's item
/// embeddings by nearest-neighbour chain, the paper's α cut, and a medoid per cluster. For batch work use
/// <see cref="UserClusterer"/> (allocation-free); this entry point returns objects for inspection and tests.</summary>
/// <remarks>
/// <para>Pipeline: pairwise squared Euclidean distances in double (<c>Numerics/PairwiseDistances.cs</c>), NN-chain with
/// the Lance–Williams Ward update (<c>NnChain.cs</c>, <c>LanceWilliams.cs</c>; Murtagh 1985, Müllner 2011), the α cut
/// (<c>AlphaCut.cs</c>), medoids from the stored distance matrix (<c>Medoid.cs</c>). O(n²·d) time for the distances,
/// O(n²) for the rest, 12·n² bytes of memory.</para>
/// <para>Distances are on the squared scale of the paper: two items are ‖P_i − P_j‖² apart, clusters a and b
/// 2·n_a·n_b/(n_a+n_b)·‖c_a − c_b‖². scipy's <c>linkage(method='ward')</c> reports height h = √distance.</para>
/// <para>(our choice) Multiplicities: item i may stand for k_i identical actions. That equals clustering the k_i
/// duplicates, which merge first at distance 0, so we start item i as a cluster of size k_i, at initial Ward distance
/// 2·k_i·k_j/(k_i+k_j)·‖P_i − P_j‖², and never record the zero-distance merges.</para>
/// </remarks>
public static class WardClustering
{
    /// <summary>Default α for unit-norm embeddings: 1.0 on the squared Ward scale (scipy height 1.0).</summary>
    /// <remarks>
    /// Reasoning (our choice; the paper does not publish α). For unit vectors two items are d = ‖a − b‖² = 2 − 2·cos
    /// apart, so α = 1 joins two single items when their cosine is ≥ 0.5 (60°). For clusters, d = 2·n_a·n_b/(n_a+n_b)
    /// ·‖c_a − c_b‖². Inside one interest whose items scatter around a centre with per-item spread s² = E‖x − c‖²,
    /// halves of any sizes are ≈ 2s² apart (E‖c_a − c_b‖² = s²(1/n_a + 1/n_b)), independent of size: the within-interest
    /// merges cost about the mean squared distance of two of its items, 2 − 2·cos_within. Between two interests with
    /// centre separation Δ², the cost is 2s² + 2·n_a·n_b/(n_a+n_b)·Δ² and grows with size. Embedding models typically
    /// give items of one interest cosines of 0.6–0.8 (within-merge cost 0.4–0.8) and unrelated items cosines ≤ 0.3
    /// (≥ 1.4 even for two single items), so α = 1 sits between the two with room on both sides. The synthetic world's
    /// defaults (items of a topic at cosine ≈ 0.67, sibling topics ≈ 0.33 per item pair) give within-topic merges ≈ 0.66
    /// and cross-topic merges ≥ 1.33. For other embeddings, pick α from the merge heights (<c>pinnersage cluster</c>).
    /// </remarks>
    public const double DefaultAlphaUnitNorm = 1.0;

    /// <summary>Ward linkage of n = vectors.Length / <paramref name="dimension"/> items.</summary>
    /// <param name="vectors">n × <paramref name="dimension"/> floats, row-major, finite.</param>
    /// <param name="dimension">Vector dimension d ≥ 1.</param>
    /// <param name="multiplicity">Empty (every item once) or n counts ≥ 1.</param>
    /// <exception cref="ArgumentException">Length not a multiple of d, a multiplicity &lt; 1 or of the wrong length, a
    /// NaN or infinite value.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> ≤ 0; more than
    /// <see cref="UserClusterer.MaxItems"/> items.</exception>
    public static WardDendrogram Linkage(ReadOnlySpan<float> vectors, int dimension, ReadOnlySpan<int> multiplicity = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (vectors.Length % dimension != 0)
            ThrowHelper.Argument(nameof(vectors), $"length {vectors.Length} is not a multiple of the dimension {dimension}.");
        int n = vectors.Length / dimension;
        var engine = new WardEngine();
        int[] counts = multiplicity.IsEmpty ? engine.Ones(n).ToArray() : multiplicity.ToArray();
        ValidateInput(vectors, n, dimension, counts);
        if (!engine.Linkage(vectors, n, dimension, counts))
            ThrowHelper.Argument(nameof(vectors), "contains NaN or infinite values.");
        return new WardDendrogram(engine, counts);
    }

    /// <summary>Linkage, α cut and medoids in one call.</summary>
    /// <param name="vectors">n × <paramref name="dimension"/> floats, row-major, finite.</param>
    /// <param name="dimension">Vector dimension d ≥ 1.</param>
    /// <param name="options">Cut options (validated).</param>
    /// <param name="multiplicity">Empty (every item once) or n counts ≥ 1.</param>
    /// <exception cref="ArgumentException">Bad lengths, multiplicities or values, as for <see cref="Linkage"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Bad dimension or α.</exception>
    public static WardClusters Cluster(ReadOnlySpan<float> vectors, int dimension, WardOptions options,
                                       ReadOnlySpan<int> multiplicity = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Linkage(vectors, dimension, multiplicity).Cut(options.Alpha, options.KeepSingletons);
    }

    internal static void ValidateAlpha(double alpha)
    {
        if (!(alpha >= 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "α must be ≥ 0 (not NaN).");
    }

    internal static void ValidateInput(ReadOnlySpan<float> vectors, int n, int dimension, ReadOnlySpan<int> multiplicity)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, UserClusterer.MaxItems, nameof(multiplicity));
        if ((long)n * dimension != vectors.Length)
            ThrowHelper.Argument(nameof(vectors), $"has {vectors.Length} values, expected {n} × {dimension}.");
        foreach (int k in multiplicity)
            if (k < 1) ThrowHelper.Argument(nameof(multiplicity), $"has a count {k} < 1.");
    }
}
