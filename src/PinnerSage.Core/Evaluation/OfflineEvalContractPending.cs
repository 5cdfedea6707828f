// TEMPORARY: the EVAL-CONTRACT.md types owned by the evalparts branch, so that this branch compiles before it lands.
// Deleted when evalparts is merged.
using System.Globalization;
using System.Text;

namespace PinnerSage.Evaluation
{
    /// <summary>A point estimate with its 95 % bootstrap interval over users.</summary>
    public sealed record MetricEstimate(double Value, double Low, double High);

    /// <summary>One user: actions in the history window and clusters found.</summary>
    public sealed record ClusterCountPoint(int Actions, int Clusters);

    /// <summary>Relevance and diversity with e sampled embeddings.</summary>
    public sealed record EmbeddingCountPoint(int Embeddings, MetricEstimate Relevance, MetricEstimate Diversity);

    /// <summary>What `pinnersage eval` produced.</summary>
    public sealed record OfflineEvalReport
    {
        /// <summary>Dataset.</summary>
        public required string Dataset { get; init; }
        /// <summary>Embeddings.</summary>
        public required string Embeddings { get; init; }
        /// <summary>Protocol.</summary>
        public required string Protocol { get; init; }
        /// <summary>Settings.</summary>
        public required IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; }
        /// <summary>Methods.</summary>
        public required IReadOnlyList<string> Methods { get; init; }
        /// <summary>Metric names.</summary>
        public required IReadOnlyList<string> MetricNames { get; init; }
        /// <summary>Results.</summary>
        public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, MetricEstimate>> Results { get; init; }
        /// <summary>Baseline.</summary>
        public string Baseline { get; init; } = "last-item";
        /// <summary>Clusters per user.</summary>
        public IReadOnlyList<ClusterCountPoint> ClustersPerUser { get; init; } = [];
        /// <summary>By embedding count.</summary>
        public IReadOnlyList<EmbeddingCountPoint> ByEmbeddingCount { get; init; } = [];
        /// <summary>Users.</summary>
        public long Users { get; init; }
        /// <summary>Test actions.</summary>
        public long TestActions { get; init; }
        /// <summary>Seconds.</summary>
        public double Seconds { get; init; }

        /// <summary>Lift.</summary>
        public double? Lift(string method, string metric)
        {
            if (!Results.TryGetValue(method, out var m) || !m.TryGetValue(metric, out var v)) return null;
            if (!Results.TryGetValue(Baseline, out var b) || !b.TryGetValue(metric, out var bv) || bv.Value == 0) return null;
            return v.Value / bv.Value - 1;
        }
    }

    /// <summary>HTML report.</summary>
    public static class OfflineEvalHtmlReport
    {
        /// <summary>Renders.</summary>
        public static string Render(OfflineEvalReport report)
        {
            var sb = new StringBuilder("<!doctype html><html><body><pre>");
            sb.Append(CultureInfo.InvariantCulture, $"{report.Dataset}");
            sb.Append("</pre></body></html>");
            return sb.ToString();
        }
    }
}

namespace PinnerSage.Clustering
{
    /// <summary>K-means (pending evalparts).</summary>
    public static class KMeansClustering
    {
        /// <summary>Clusters.</summary>
        public static int Cluster(ReadOnlySpan<float> vectors, int dimension, ReadOnlySpan<int> multiplicity, int k,
                                  ulong seed, Span<int> labels, Span<int> medoids) => throw new NotImplementedException();
    }

    /// <summary>Complete linkage (pending evalparts).</summary>
    public static class CompleteLinkage
    {
        /// <summary>Clusters.</summary>
        public static int Cluster(ReadOnlySpan<float> vectors, int dimension, ReadOnlySpan<int> multiplicity,
                                  double threshold, bool keepSingletons, Span<int> labels, Span<int> medoids) =>
            throw new NotImplementedException();
    }

    /// <summary>Centroids (pending evalparts).</summary>
    public static class Centroid
    {
        /// <summary>Computes.</summary>
        public static void Compute(ReadOnlySpan<float> vectors, int dimension, ReadOnlySpan<int> multiplicity,
                                   ReadOnlySpan<int> labels, int clusters, bool normalize, Span<float> centroids) =>
            throw new NotImplementedException();
    }
}
