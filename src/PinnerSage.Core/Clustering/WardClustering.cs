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
    /// <summary>Default α for unit-norm embeddings whose unrelated items are near-orthogonal: 2.0 on the squared Ward
    /// scale (scipy height ≈ 1.41) = <see cref="AlphaPerMedianDistance"/> × 2, the squared distance of two orthogonal
    /// unit vectors, i.e. what <see cref="SuggestAlpha"/> (the CLI's <c>--alpha auto</c>) gives for isotropic unit
    /// vectors. Calibrated for Ward sizes 1 per distinct item (the profile builder's default).</summary>
    /// <remarks>
    /// <para>Reasoning (our choice; the paper does not publish α). Unit vectors are d = ‖a − b‖² = 2 − 2·cos apart, so
    /// unrelated items of a high-dimensional embedding (cos ≈ 0) are d ≈ 2 apart. Groups of a and b items are
    /// d = 2·a·b/(a+b)·‖c_a − c_b‖² apart. Inside one interest whose items scatter with per-item spread s² around a
    /// centre, two halves cost ≈ 2s² whatever their sizes (E‖c_a − c_b‖² = s²(1/a + 1/b)), i.e. about one
    /// within-interest pair distance; across interests with centres Δ² apart the cost 2s² + 2·a·b/(a+b)·Δ² grows with
    /// the groups' sizes, so established interests stay apart and what a too-large α merges first is small groups of
    /// unrelated items. With Ward sizes = numbers of actions (<c>ProfileOptions.CountRepeats</c>) an item engaged k
    /// times weighs k without averaging any noise away, so within-interest merges grow ≈ k-fold: heavy users' interests
    /// split unless α nears the unrelated-pair distance (the old default 2.5 = 1.25 × 2, mean ARI 0.82 at best).</para>
    /// <para>Measured against ground truth on the synthetic world (<c>pinnersage synth evaluate</c>, d = 256, items of a
    /// topic at cos ≈ 0.67, siblings ≈ 0.41, unrelated ≈ 0; bench/results/alpha-sweep.md), mean adjusted Rand index at
    /// α = 1.5 / 1.75 / 2 / 2.25 / 2.5 / 3: default world 20,000 users 0.912 / 0.949 / 0.967 / 0.972 / 0.960 / 0.882;
    /// 50,000 users 0.982 / 0.987 / 0.980 / 0.973 / 0.961 / 0.883; tight topics (item noise 0.5, cos ≈ 0.8) 0.970 /
    /// 0.986 / 0.987 / 0.982 / 0.974 / 0.924; broad topics (0.9, cos ≈ 0.55) 0.831 / 0.905 / 0.942 / 0.953 / 0.932 /
    /// 0.825; seed 7 0.974 / 0.989 / 0.986 / 0.980 / 0.967 / 0.878. α = 2 and 2.25 tie on the mean over the five worlds
    /// (0.972) and each is within 0.011 of the best α in every world; α = 3 loses 0.06–0.13 in every world and
    /// α = 1.5 up to 0.12 (broad topics). We take 2.0, the lower end of the plateau: on real embeddings whose scale
    /// auto estimates only roughly, erring low splits an interest into two clusters (two embeddings of one interest,
    /// still useful for retrieval), while erring high merges unrelated interests into one medoid that represents
    /// neither, the failure PinnerSage's multiple embeddings exist to avoid. Its cost: two unrelated one-off clicks at
    /// d ≤ 2 (cos ≥ 0) form a cluster of two.</para>
    /// <para>For embeddings whose unrelated items are not near-orthogonal (anisotropic text or image vectors, e.g. random
    /// pairs at cos ≈ 0.5, d ≈ 1), scale α the same way (<see cref="SuggestAlpha"/>, <c>--alpha auto</c>: the median
    /// pairwise squared distance of the catalogue); or read the merge distances <c>pinnersage cluster</c> prints.</para>
    /// </remarks>
    public const double DefaultAlphaUnitNorm = AlphaPerMedianDistance * 2;

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

    /// <summary>Factor of <see cref="SuggestAlpha"/>: α = 1.0 × the catalogue's median pairwise squared distance
    /// (calibrated on the synthetic world's separable geometry, SyntheticWorldOptions.Separable, for Ward sizes 1 per
    /// distinct item; see <see cref="DefaultAlphaUnitNorm"/>
    /// for the measurements and the reasoning).</summary>
    public const double AlphaPerMedianDistance = 1.0;

    /// <summary>A scale-aware α for any embedding: <see cref="AlphaPerMedianDistance"/> × the median squared distance of
    /// <paramref name="samplePairs"/> random pairs of catalogue rows (our choice, calibrated where
    /// <see cref="DefaultAlphaUnitNorm"/> was). For near-orthogonal unit vectors it gives ≈ 2; for anisotropic
    /// embeddings, where unrelated items are closer, proportionally less (amazon-scientific, L2-normalised: text_lm
    /// ≈ 1.0, image ≈ 0.8). Scaling every vector by c scales the result by c².</summary>
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
        (int I, int J)[] pairs = SamplePairs(n, samplePairs, seed);
        var distances = new double[samplePairs];
        for (int p = 0; p < samplePairs; p++)
            distances[p] = PairwiseDistances.SquaredEuclidean(vectors.Slice(pairs[p].I * dimension, dimension),
                                                              vectors.Slice(pairs[p].J * dimension, dimension));
        return AlphaFromDistances(distances);
    }

    /// <summary>The random pairs (i ≠ j, uniform) <see cref="SuggestAlpha"/> measures, so callers that hold the
    /// catalogue in another form (memory-mapped, normalised on the fly) measure exactly the same pairs.</summary>
    internal static (int I, int J)[] SamplePairs(int n, int samplePairs, int seed)
    {
        var random = new Random(seed);
        var pairs = new (int, int)[samplePairs];
        for (int p = 0; p < samplePairs; p++)
        {
            int i = random.Next(n);
            int j = random.Next(n - 1);
            if (j >= i) j++; // uniform over the other rows
            pairs[p] = (i, j);
        }
        return pairs;
    }

    /// <summary><see cref="AlphaPerMedianDistance"/> × the median of <paramref name="distances"/> (sorted in place).</summary>
    internal static double AlphaFromDistances(double[] distances)
    {
        Array.Sort(distances);
        int count = distances.Length;
        double median = count % 2 == 1 ? distances[count / 2] : 0.5 * (distances[count / 2 - 1] + distances[count / 2]);
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
