namespace PinnerSage.Clustering;

/// <summary>CONTRACT STUB (owned by the clustering work): per-thread reusable clusterer for one user's items.
/// Ward by nearest-neighbour chain, the α cut and medoids (papers/PINNERSAGE.md, Model steps 1–2).</summary>
public sealed class UserClusterer
{
    /// <summary>Creates a clusterer for vectors of the given dimension; scratch grows on demand and is reused.</summary>
    public UserClusterer(int dimension) => Dimension = dimension;

    /// <summary>Vector dimension.</summary>
    public int Dimension { get; }

    /// <summary>Clusters n = <paramref name="multiplicity"/>.Length distinct items (rows of <paramref name="vectors"/>,
    /// n × Dimension row-major). Item i stands for <c>multiplicity[i]</c> identical actions (Ward size n_i). Writes
    /// <c>labels[i]</c> = cluster index 0…c−1, or −1 when item i falls in no kept cluster, and
    /// <c>medoids[k]</c> = the item index of cluster k's medoid. Returns c. Cluster order is deterministic.</summary>
    public int Cluster(ReadOnlySpan<float> vectors, ReadOnlySpan<int> multiplicity, double alpha, bool keepSingletons,
                       Span<int> labels, Span<int> medoids) => throw new NotImplementedException();
}
