namespace PinnerSage.Clustering;

/// <summary>One merge of a Ward dendrogram: nodes <see cref="Left"/> and <see cref="Right"/> (leaves 0…n−1, merge k
/// = node n + k in <see cref="WardDendrogram.Merges"/> order) joined at height <see cref="Height"/> (scipy's scale,
/// √ of the Ward distance) into a cluster of <see cref="Size"/> actions.</summary>
public readonly record struct WardMerge(int Left, int Right, double Height, double Size)
{
    /// <summary>The Ward distance on the paper's squared scale, Height², the scale of α.</summary>
    public double Distance => Height * Height;
}

/// <summary>The result of <see cref="WardClustering.Linkage"/>: the merge history, the pairwise distances, scipy's
/// linkage matrix, and α cuts.</summary>
public sealed class WardDendrogram
{
    private readonly WardEngine _engine;
    private readonly int[] _multiplicity;

    internal WardDendrogram(WardEngine engine, int[] multiplicity)
    {
        _engine = engine;
        _multiplicity = multiplicity;
        var merges = new WardMerge[Math.Max(0, engine.Count - 1)];
        for (int k = 0; k < merges.Length; k++)
            merges[k] = new WardMerge(engine.Left[k], engine.Right[k], engine.Merges[k].Height, engine.Merges[k].Size);
        Merges = merges;
    }

    /// <summary>Number of items n.</summary>
    public int ItemCount => _engine.Count;

    /// <summary>The n − 1 merges in the order the nearest-neighbour chain made them (not sorted by distance).</summary>
    public IReadOnlyList<WardMerge> Merges { get; }

    /// <summary>Squared Euclidean distance of items i and j, from the stored matrix.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index outside 0…n−1.</exception>
    public double SquaredDistance(int i, int j)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, ItemCount);
        ArgumentOutOfRangeException.ThrowIfNegative(j);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(j, ItemCount);
        return _engine.SquaredDistance(i, j);
    }

    /// <summary>scipy's linkage matrix Z, (n − 1) × 4 row-major: [left id, right id, height = √distance, size], rows by
    /// increasing height (stable), leaves 0…n−1 and merged clusters n…2n−2 numbered in row order, left &lt; right.</summary>
    public double[] ToScipyLinkage()
    {
        var z = new double[4 * Math.Max(0, ItemCount - 1)];
        ScipyLinkage.Write(_engine.Merges, _engine.Ascending, ItemCount, z);
        return z;
    }

    /// <summary>The paper's α cut, with medoids.</summary>
    /// <param name="alpha">Cut level (squared scale), ≥ 0.</param>
    /// <param name="keepSingletons">Whether items in no kept set become their own clusters.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> negative or NaN.</exception>
    public WardClusters Cut(double alpha, bool keepSingletons)
    {
        WardClustering.ValidateAlpha(alpha);
        var labels = new int[ItemCount];
        int clusters = _engine.Cut(_multiplicity, alpha, keepSingletons, labels);
        var medoids = new int[clusters];
        _engine.Medoids(_multiplicity, labels, clusters, medoids);
        return new WardClusters(labels, medoids);
    }
}

/// <summary>Clusters of an α cut: a label per item (−1 = in no cluster) and a medoid item per cluster. Clusters are
/// numbered by their smallest member index.</summary>
public sealed class WardClusters
{
    private readonly int[] _labels;
    private readonly int[] _medoids;

    internal WardClusters(int[] labels, int[] medoids)
    {
        _labels = labels;
        _medoids = medoids;
    }

    /// <summary>Number of clusters.</summary>
    public int Count => _medoids.Length;

    /// <summary>Cluster of each item, or −1.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>Medoid item index of each cluster.</summary>
    public IReadOnlyList<int> Medoids => _medoids;

    /// <summary>Member item indices of cluster <paramref name="cluster"/>, increasing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cluster"/> outside 0…Count−1.</exception>
    public int[] Members(int cluster)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cluster);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cluster, Count);
        int size = 0;
        foreach (int label in _labels)
            if (label == cluster) size++;
        var members = new int[size];
        size = 0;
        for (int i = 0; i < _labels.Length; i++)
            if (_labels[i] == cluster) members[size++] = i;
        return members;
    }
}
