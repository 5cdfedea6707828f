namespace PinnerSage.Clustering;

/// <summary>The paper's complete-linkage variant of the per-user model (papers/PINNERSAGE.md, "Offline evaluation
/// protocol": complete linkage instead of Ward): the same nearest-neighbour chain, cut and medoids as
/// <see cref="UserClusterer"/>, with the complete-linkage Lance–Williams update d(i∪j, k) = max(d_ik, d_jk).</summary>
/// <remarks>
/// <para>Müllner, "Modern hierarchical, agglomerative clustering algorithms", arXiv:1109.2378 (2011), Fig. 2 and §3.2:
/// complete linkage is reducible, so NN-chain (<c>NnChain.cs</c>, shared with Ward) yields its exact dendrogram in
/// O(n²) time; scipy's <c>linkage(method='complete')</c> runs the same chain, and our merge heights equal its Z.
/// Memory 12·n² bytes per thread, reused between calls (a warm call allocates nothing).</para>
/// <para>Scale: heights are Euclidean distances ‖P_i − P_j‖ (scipy's scale for complete linkage), and a cluster's
/// height is its diameter. The cut is the paper's rule (largest merges first; keep a set when its height ≤
/// <c>threshold</c> and it is disjoint from every kept set), which on this monotone dendrogram equals scipy's
/// <c>fcluster(Z, threshold, criterion='distance')</c>; the keepSingletons rule is <see cref="UserClusterer"/>'s.</para>
/// <para>(our choice) Default threshold <see cref="ThresholdFromAlpha"/>(α) = <see cref="ThresholdPerRootAlpha"/> × √α.
/// Ward joins two single items when ‖a − b‖² ≤ α, so √α is the same scale for a cluster's diameter; the factor 0.9
/// keeps it off a cliff just above √α. Measured on the synthetic world (unit vectors, d = 256, users' distinct items
/// of the last 90 days, ARI against the true topics, singletons kept; Ward at α = 2: 0.965 / 0.983 for world seeds
/// 42 / 7): factor 0.8 / 0.85 / 0.9 / 0.95 / 1.0 / 1.06 gives 0.875 / 0.903 / 0.927 / 0.967 / 0.912 / 0.36 (seed 42)
/// and 0.958 / 0.966 / 0.966 / 0.969 / 0.889 (seed 7). Past √α a cluster's diameter reaches the distance of
/// unrelated items (cos ≈ 0 for unit vectors), and whole interests merge; we take the lower end of the plateau, as
/// for α, because splitting an interest costs less than merging two. For unit-norm embeddings with α = 2 the default
/// is 1.273 (every pair in a cluster at cosine ≥ 0.19).</para>
/// <para>(our choice) Multiplicities: complete linkage ignores cluster sizes, so repeats change only the medoid weights
/// and the rule that an item engaged twice is a cluster even when its first merge is above the threshold.</para>
/// </remarks>
public static class CompleteLinkage
{
    [ThreadStatic] private static WardEngine? t_engine;

    /// <summary>Factor of <see cref="ThresholdFromAlpha"/>: threshold = 0.9 × √α (calibration in the remarks).</summary>
    public const double ThresholdPerRootAlpha = 0.9;

    /// <summary>The threshold on the Euclidean scale (cluster diameter) matching a Ward α on the squared scale:
    /// <see cref="ThresholdPerRootAlpha"/> × √α (see remarks). Works with <c>--alpha auto</c>'s α for any embedding.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> negative or NaN.</exception>
    public static double ThresholdFromAlpha(double alpha)
    {
        WardClustering.ValidateAlpha(alpha);
        return ThresholdPerRootAlpha * Math.Sqrt(alpha);
    }

    /// <summary>Default threshold for unit-norm embeddings: 0.9 × √<see cref="WardClustering.DefaultAlphaUnitNorm"/> ≈ 1.273.</summary>
    public static readonly double DefaultThresholdUnitNorm = ThresholdFromAlpha(WardClustering.DefaultAlphaUnitNorm);

    /// <summary>Clusters n = <paramref name="multiplicity"/>.Length distinct items by complete linkage and cuts at
    /// <paramref name="threshold"/>. Output as <see cref="UserClusterer.Cluster"/>: <c>labels[i]</c> = cluster 0…c−1 or
    /// −1, <c>medoids[k]</c> = item index of cluster k's medoid (<c>Medoid.cs</c>); returns c. Clusters are numbered by
    /// their smallest member index.</summary>
    /// <param name="vectors">n × <paramref name="dimension"/> floats, finite.</param>
    /// <param name="dimension">Vector dimension ≥ 1.</param>
    /// <param name="multiplicity">n counts ≥ 1 (actions per item).</param>
    /// <param name="threshold">Cut height on the Euclidean scale (cluster diameter), ≥ 0.</param>
    /// <param name="keepSingletons">Whether items whose first merge is above the threshold become clusters.</param>
    /// <param name="labels">At least n entries.</param>
    /// <param name="medoids">Room for every cluster; n entries always suffice.</param>
    /// <exception cref="ArgumentException">Length mismatch, a multiplicity &lt; 1, a NaN or infinite value, or
    /// <paramref name="medoids"/> too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> ≤ 0, <paramref name="threshold"/>
    /// negative or NaN, more than <see cref="UserClusterer.MaxItems"/> items.</exception>
    public static int Cluster(ReadOnlySpan<float> vectors, int dimension, ReadOnlySpan<int> multiplicity,
                              double threshold, bool keepSingletons, Span<int> labels, Span<int> medoids)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (!(threshold >= 0))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "threshold must be ≥ 0 (not NaN).");
        int n = multiplicity.Length;
        WardClustering.ValidateInput(vectors, n, dimension, multiplicity);
        if (labels.Length < n)
            ThrowHelper.Argument(nameof(labels), $"needs {n} entries, has {labels.Length}.");
        WardEngine engine = t_engine ??= new WardEngine();
        if (!engine.Linkage(vectors, n, dimension, multiplicity, LinkageKind.Complete))
            ThrowHelper.Argument(nameof(vectors), "contains NaN or infinite values.");
        // The cut compares heights with √α; √(t·t) == t for every binary64 t without over/underflow (round to nearest).
        int clusters = engine.Cut(multiplicity, threshold * threshold, keepSingletons, labels);
        if (medoids.Length < clusters)
            ThrowHelper.Argument(nameof(medoids), $"needs {clusters} entries, has {medoids.Length}.");
        engine.Medoids(multiplicity, labels, clusters, medoids);
        return clusters;
    }
}
