namespace PinnerSage.Ann;

/// <summary>How an index measures closeness. Distances are "smaller is closer" in every metric, as in hnswlib.</summary>
public enum VectorMetric
{
    /// <summary>Distance = 1 − x·y (for unit vectors this is 1 − cosine).</summary>
    InnerProduct,
    /// <summary>Vectors are L2-normalised on insert and query; distance = 1 − cos(x, y).</summary>
    Cosine,
    /// <summary>Distance = ‖x − y‖² (squared Euclidean).</summary>
    L2,
}

/// <summary>One search result: the item's label (its row in the embedding table it was built from) and its distance.</summary>
public readonly record struct Neighbor(int Label, float Distance);

/// <summary>CONTRACT (issue 3): a k-nearest-neighbour index over item vectors. Implemented by the HNSW index and by an
/// exact (brute-force) index used for evaluation and tests. Thread-safe for concurrent searches.</summary>
public interface IVectorIndex
{
    /// <summary>Vector dimension.</summary>
    int Dimension { get; }

    /// <summary>Number of live (not deleted) items.</summary>
    int Count { get; }

    /// <summary>The metric distances are measured in.</summary>
    VectorMetric Metric { get; }

    /// <summary>Writes up to <paramref name="k"/> nearest live items to <paramref name="destination"/>, nearest first;
    /// returns how many were written. Allocation-free once warm.</summary>
    int Search(ReadOnlySpan<float> query, int k, Span<Neighbor> destination);
}

/// <summary>An index that evaluates a label filter inside its search (<see cref="SearchFilter"/>), so k allowed items
/// come back without over-fetching: the HNSW indexes (float and int8) and the exact index.</summary>
public interface IFilteredVectorIndex : IVectorIndex
{
    /// <summary>As <see cref="IVectorIndex.Search"/>, writing only labels that <paramref name="filter"/> allows (null:
    /// all), searching at least as broadly as an unfiltered search for <paramref name="breadth"/> results would (HNSW:
    /// ef = max(the default ef, breadth, k); exact: unused). A caller replacing an over-fetch of k + e results keeps its
    /// breadth (k + e), so the k it gets are at least as close to exact filtered search as the over-fetch's were.</summary>
    int SearchFiltered(ReadOnlySpan<float> query, int k, SearchFilter? filter, int breadth, Span<Neighbor> destination);
}
