namespace PinnerSage.Clustering;

/// <summary>Per-thread reusable clusterer for one user's items: Ward by nearest-neighbour chain, the α cut and medoids
/// (papers/PINNERSAGE.md, Model steps 1–2). Scratch is kept between calls and grows on demand, so a warm call allocates
/// nothing. Not thread-safe: use one instance per thread.</summary>
/// <remarks>See <see cref="WardClustering"/> for the algorithms, their sources and the choices made where the paper is
/// silent. Memory per instance: about 12·n² + 8·n·d bytes for the largest n and d seen.</remarks>
public sealed class UserClusterer
{
    /// <summary>Largest number of items per call: the n × n working matrix must fit one .NET array.</summary>
    public const int MaxItems = 46_340;

    private readonly WardEngine _engine = new();

    /// <summary>Creates a clusterer for vectors of the given dimension; scratch grows on demand and is reused.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> ≤ 0.</exception>
    public UserClusterer(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        Dimension = dimension;
    }

    /// <summary>Vector dimension.</summary>
    public int Dimension { get; }

    /// <summary>Clusters n = <paramref name="multiplicity"/>.Length distinct items (rows of <paramref name="vectors"/>,
    /// n × Dimension row-major). Item i stands for <c>multiplicity[i]</c> identical actions (Ward size n_i). Writes
    /// <c>labels[i]</c> = cluster index 0…c−1, or −1 when item i falls in no kept cluster, and
    /// <c>medoids[k]</c> = the item index of cluster k's medoid. Returns c. Cluster order is deterministic.</summary>
    /// <param name="vectors">n × <see cref="Dimension"/> floats, finite.</param>
    /// <param name="multiplicity">n counts, each ≥ 1.</param>
    /// <param name="alpha">Cut level on the squared Ward scale (scipy height = √distance), ≥ 0; see
    /// <see cref="WardClustering.DefaultAlphaUnitNorm"/>.</param>
    /// <param name="keepSingletons">Whether items whose first merge is above α become clusters of their own (an item
    /// with multiplicity ≥ 2 always does: its duplicates merged at distance 0).</param>
    /// <param name="labels">At least n entries.</param>
    /// <param name="medoids">Room for every cluster; n entries always suffice.</param>
    /// <remarks>Clusters are numbered by their smallest member index. Ties between equal medoid costs go to the lowest
    /// item index.</remarks>
    /// <exception cref="ArgumentException">Length mismatch, a multiplicity &lt; 1, a NaN or infinite value, or
    /// <paramref name="medoids"/> too short for the clusters found.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> negative or NaN; more than
    /// <see cref="MaxItems"/> items.</exception>
    public int Cluster(ReadOnlySpan<float> vectors, ReadOnlySpan<int> multiplicity, double alpha, bool keepSingletons,
                       Span<int> labels, Span<int> medoids)
    {
        int n = multiplicity.Length;
        WardClustering.ValidateInput(vectors, n, Dimension, multiplicity);
        WardClustering.ValidateAlpha(alpha);
        if (labels.Length < n)
            ThrowHelper.Argument(nameof(labels), $"needs {n} entries, has {labels.Length}.");
        if (!_engine.Linkage(vectors, n, Dimension, multiplicity))
            ThrowHelper.Argument(nameof(vectors), "contains NaN or infinite values.");
        int clusters = _engine.Cut(multiplicity, alpha, keepSingletons, labels);
        if (medoids.Length < clusters)
            ThrowHelper.Argument(nameof(medoids), $"needs {clusters} entries, has {medoids.Length}.");
        _engine.Medoids(multiplicity, labels, clusters, medoids);
        return clusters;
    }
}
