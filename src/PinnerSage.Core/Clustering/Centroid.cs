using System.Numerics.Tensors;

namespace PinnerSage.Clustering;

/// <summary>The paper's "centroid instead of medoid" variant (papers/PINNERSAGE.md, "Offline evaluation protocol"):
/// each cluster is summarised by the mean of its members instead of a real engaged item.</summary>
/// <remarks>(our choice) Multiplicity-weighted: an item engaged k times counts k times, as in the medoid's cost. The
/// mean of unit vectors is shorter than 1 (the more spread the cluster, the shorter); it stays un-normalised unless
/// <c>normalize</c>, since cosine retrieval ignores the length anyway. O(n·d).</remarks>
public static class Centroid
{
    /// <summary>Writes centroids[c·d … c·d + d) = Σ_{i: labels[i] = c} k_i·x_i / Σ k_i for every cluster c &lt;
    /// <paramref name="clusters"/> (items labelled −1 are ignored; an empty cluster gets a zero row).</summary>
    /// <param name="vectors">n × <paramref name="dimension"/> floats.</param>
    /// <param name="dimension">Vector dimension ≥ 1.</param>
    /// <param name="multiplicity">n counts ≥ 1.</param>
    /// <param name="labels">n labels in [−1, clusters).</param>
    /// <param name="clusters">Number of clusters ≥ 0.</param>
    /// <param name="normalize">L2-normalise each centroid (a zero centroid stays zero).</param>
    /// <param name="centroids">At least clusters × d floats.</param>
    /// <exception cref="ArgumentException">Lengths disagree, a label out of range or a multiplicity &lt; 1.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> ≤ 0 or <paramref name="clusters"/> &lt; 0.</exception>
    public static void Compute(ReadOnlySpan<float> vectors, int dimension, ReadOnlySpan<int> multiplicity,
                               ReadOnlySpan<int> labels, int clusters, bool normalize, Span<float> centroids)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(clusters);
        int n = multiplicity.Length;
        if ((long)n * dimension != vectors.Length)
            ThrowHelper.Argument(nameof(vectors), $"has {vectors.Length} values, expected {n} × {dimension}.");
        if (labels.Length != n) ThrowHelper.Argument(nameof(labels), $"has {labels.Length} entries, expected {n}.");
        if (centroids.Length < (long)clusters * dimension)
            ThrowHelper.Argument(nameof(centroids), $"needs {clusters} × {dimension} entries, has {centroids.Length}.");
        for (int i = 0; i < n; i++)
        {
            if (multiplicity[i] < 1) ThrowHelper.Argument(nameof(multiplicity), $"has a count {multiplicity[i]} < 1.");
            if (labels[i] < -1 || labels[i] >= clusters)
                ThrowHelper.Argument(nameof(labels), $"has label {labels[i]} outside [−1, {clusters}).");
        }
        Span<float> output = centroids[..(clusters * dimension)];
        output.Clear();
        // Weights are summed in double: a heavy user's counts can exceed float's exact integers.
        Span<double> weight = clusters <= 256 ? stackalloc double[clusters] : new double[clusters];
        weight.Clear();
        for (int i = 0; i < n; i++)
        {
            int c = labels[i];
            if (c < 0) continue;
            weight[c] += multiplicity[i];
            TensorPrimitives.MultiplyAdd(vectors.Slice(i * dimension, dimension), multiplicity[i],
                                         output.Slice(c * dimension, dimension), output.Slice(c * dimension, dimension));
        }
        for (int c = 0; c < clusters; c++)
        {
            if (weight[c] == 0) continue;
            Span<float> row = output.Slice(c * dimension, dimension);
            TensorPrimitives.Multiply(row, (float)(1.0 / weight[c]), row);
            if (!normalize) continue;
            float norm = TensorPrimitives.Norm(row);
            if (norm > 0) TensorPrimitives.Divide(row, norm, row);
        }
    }
}
