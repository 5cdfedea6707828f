using PinnerSage.Numerics;

namespace PinnerSage.Clustering;

/// <summary>The per-user PinnerSage model, steps 1–2 (papers/PINNERSAGE.md): Ward clustering of a user's item
/// embeddings by nearest-neighbour chain, the paper's α cut, and a medoid per cluster. For batch work use
/// <see cref="UserClusterer"/> (allocation-free); this entry point returns objects for inspection and tests.</summary>
/// <remarks>
/// <para>Pipeline: pairwise squared Euclidean distances in double (<c>Numerics/PairwiseDistances.cs</c>, kept for the
/// medoids), a full matrix of Ward heights √d (<c>HeightMatrix.cs</c>), NN-chain with the Lance–Williams Ward update
/// evaluated in scipy's arithmetic so that even tied inputs give scipy's Z (<c>NnChain.cs</c>, <c>LanceWilliams.cs</c>;
/// Murtagh 1985, Müllner 2011), the merge order and scipy's Z (<c>MergeOrder.cs</c>, <c>ScipyLinkage.cs</c>), the α cut
/// (<c>AlphaCut.cs</c>), medoids (<c>Medoid.cs</c>). O(n²·d) time for the distances, O(n²) for the rest, 12·n² bytes
/// of memory.</para>
/// <para>Distances are on the squared scale of the paper: two items are ‖P_i − P_j‖² apart, clusters a and b
/// 2·n_a·n_b/(n_a+n_b)·‖c_a − c_b‖². scipy's <c>linkage(method='ward')</c> reports height h = √distance.</para>
/// <para>(our choice) Multiplicities: item i may stand for k_i identical actions. That equals clustering the k_i
/// duplicates, which merge first at distance 0, so we start item i as a cluster of size k_i, at initial Ward distance
/// 2·k_i·k_j/(k_i+k_j)·‖P_i − P_j‖², and never record the zero-distance merges.</para>
/// </remarks>
public static class WardClustering
{
    /// <summary>Default α for unit-norm embeddings: 2.5 on the squared Ward scale (scipy height ≈ 1.58), for Ward sizes
    /// = numbers of actions, as the paper clusters actions.</summary>
    /// <remarks>
    /// <para>Reasoning (our choice; the paper does not publish α). Unit vectors are d = ‖a − b‖² = 2 − 2·cos apart, so
    /// unrelated items of a high-dimensional embedding (cos ≈ 0) are d ≈ 2 apart. Groups of a and b actions are
    /// d = 2·a·b/(a+b)·‖c_a − c_b‖² apart. Inside one interest whose items scatter with per-item spread s² around a
    /// centre, two halves of distinct items cost ≈ 2s² whatever their sizes (E‖c_a − c_b‖² = s²(1/a + 1/b)), i.e. about
    /// one within-interest pair distance; but an item engaged k times weighs k without averaging any noise away, so with
    /// repeated engagement the within-interest merges grow ≈ k-fold, and the last merges inside an interest are the
    /// largest of many. Across interests with centres Δ² apart the cost 2s² + 2·a·b/(a+b)·Δ² grows with the groups'
    /// sizes, so established interests stay apart; what a too-large α merges first is small groups of unrelated items.</para>
    /// <para>Measured against ground truth on the synthetic world (50,000 users, items of a topic at cos ≈ 0.67, siblings
    /// ≈ 0.41, unrelated ≈ 0; <c>pinnersage synth evaluate</c>, bench/results/alpha-sweep.md): mean adjusted Rand index
    /// 0.45 at α = 1, 0.77 at 2, 0.82 at 2.5, 0.82 at 3, 0.72 at 4; the optimum stays at 2.5–3 for within-topic cosines
    /// 0.55–0.8. Counting each distinct item once (multiplicity 1) moves it to 1.5–2. So α = 2.5 = 1.25 × the distance of
    /// two unrelated unit vectors. Its cost: two one-off unrelated clicks (d ≈ 2) form a cluster of two.</para>
    /// <para>For embeddings whose unrelated items are not near-orthogonal (anisotropic text or image vectors, e.g. random
    /// pairs at cos ≈ 0.5, d ≈ 1), scale α the same way: about 1.25 × the median pairwise squared distance of the
    /// catalogue (<see cref="SuggestAlpha"/>); or read the merge distances <c>pinnersage cluster</c> prints.</para>
    /// </remarks>
    public const double DefaultAlphaUnitNorm = 2.5;

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

    /// <summary>Factor of <see cref="SuggestAlpha"/>: α = 1.25 × the catalogue's median pairwise squared distance, the
    /// ratio of <see cref="DefaultAlphaUnitNorm"/> (2.5) to the distance of two unrelated unit vectors (2).</summary>
    public const double AlphaPerMedianDistance = 1.25;

    /// <summary>A scale-aware α for any embedding: <see cref="AlphaPerMedianDistance"/> × the median squared distance of
    /// <paramref name="samplePairs"/> random pairs of catalogue rows (our choice, calibrated where
    /// <see cref="DefaultAlphaUnitNorm"/> was). For near-orthogonal unit vectors it gives ≈ 2.5; for anisotropic
    /// embeddings, where unrelated items are closer, proportionally less (amazon-scientific: text_lm, L2-normalised,
    /// median 1.02 → α ≈ 1.28; image 0.80 → ≈ 0.99). Scaling every vector by c scales the result by c².</summary>
    /// <param name="vectors">The catalogue: n × <paramref name="dimension"/> floats (normalise first if the profiles
    /// are built on normalised vectors).</param>
    /// <param name="dimension">Vector dimension d ≥ 1.</param>
    /// <param name="samplePairs">Number of random pairs (i ≠ j) sampled, ≥ 1.</param>
    /// <param name="seed">Seed of the pair sampler; the same inputs and seed give the same α.</param>
    /// <exception cref="ArgumentException">Fewer than two rows, or a length that is not a multiple of d.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> or <paramref name="samplePairs"/> ≤ 0.</exception>
    public static double SuggestAlpha(ReadOnlySpan<float> vectors, int dimension, int samplePairs = 20_000, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samplePairs);
        if (vectors.Length % dimension != 0)
            ThrowHelper.Argument(nameof(vectors), $"length {vectors.Length} is not a multiple of the dimension {dimension}.");
        int n = vectors.Length / dimension;
        if (n < 2) ThrowHelper.Argument(nameof(vectors), "needs at least two rows.");
        var random = new Random(seed);
        var distances = new double[samplePairs];
        for (int p = 0; p < samplePairs; p++)
        {
            int i = random.Next(n);
            int j = random.Next(n - 1);
            if (j >= i) j++; // uniform over the other rows
            distances[p] = PairwiseDistances.SquaredEuclidean(vectors.Slice(i * dimension, dimension), vectors.Slice(j * dimension, dimension));
        }
        Array.Sort(distances);
        double median = samplePairs % 2 == 1 ? distances[samplePairs / 2]
                                             : 0.5 * (distances[samplePairs / 2 - 1] + distances[samplePairs / 2]);
        return AlphaPerMedianDistance * median;
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
