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
