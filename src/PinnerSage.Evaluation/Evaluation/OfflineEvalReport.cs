namespace PinnerSage.Evaluation;

/// <summary>A metric's point estimate with its 95 % bootstrap confidence interval over users.</summary>
/// <param name="Value">The point estimate.</param>
/// <param name="Low">Lower end of the interval.</param>
/// <param name="High">Upper end of the interval.</param>
public sealed record MetricEstimate(double Value, double Low, double High);

/// <summary>One user of the clusters-per-user scatter: how many actions their profile used and how many clusters it had.</summary>
/// <param name="Actions">Actions in the user's history window.</param>
/// <param name="Clusters">Clusters of the user's profile.</param>
public sealed record ClusterCountPoint(int Actions, int Clusters);

/// <summary>The users with a given number of Ward clusters and every method's mean metrics over them.</summary>
/// <param name="Label">The bucket, e.g. "4–9 clusters".</param>
/// <param name="Users">Users in it.</param>
/// <param name="Means">Method → metric → mean over those users.</param>
public sealed record ClusterBucket(string Label, int Users, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Means);

/// <summary>One point of the paper's Figure 7: relevance and diversity when e embeddings are sampled per user.</summary>
/// <param name="Embeddings">Number of sampled embeddings e.</param>
/// <param name="Relevance">Relevance at e.</param>
/// <param name="Diversity">Diversity of the recommendations at e.</param>
public sealed record EmbeddingCountPoint(int Embeddings, MetricEstimate Relevance, MetricEstimate Diversity);

/// <summary>What <c>pinnersage eval</c> produced (papers/PINNERSAGE.md, "Offline evaluation protocol"); the Markdown,
/// JSON and HTML renderers read only this.</summary>
public sealed record OfflineEvalReport
{
    /// <summary>Dataset name or folder.</summary>
    public required string Dataset { get; init; }

    /// <summary>Embedding file and a description of its source.</summary>
    public required string Embeddings { get; init; }

    /// <summary>The protocol, e.g. "daily walk-forward, 90-day window".</summary>
    public required string Protocol { get; init; }

    /// <summary>Settings in display order (name, value).</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; }

    /// <summary>Methods in display order.</summary>
    public required IReadOnlyList<string> Methods { get; init; }

    /// <summary>Metric names in display order (keys of <see cref="Results"/>' inner dictionaries).</summary>
    public required IReadOnlyList<string> MetricNames { get; init; }

    /// <summary>method → metric → estimate. A missing entry means "not measured".</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, MetricEstimate>> Results { get; init; }

    /// <summary>The method lifts are measured against (the paper's: last item).</summary>
    public string Baseline { get; init; } = "last-item";

    /// <summary>Per-user (actions, clusters) of the default PinnerSage method, for the scatter plot.</summary>
    public IReadOnlyList<ClusterCountPoint> ClustersPerUser { get; init; } = [];

    /// <summary>Relevance and diversity against the number of sampled embeddings (the paper's Figure 7).</summary>
    public IReadOnlyList<EmbeddingCountPoint> ByEmbeddingCount { get; init; } = [];

    /// <summary>Mean relevance, recall and recall@50 of every method over the users whose history had a given number of
    /// Ward clusters at their last point (where several embeddings should matter: heavy users).</summary>
    public IReadOnlyList<ClusterBucket> ByClusterCount { get; init; } = [];

    /// <summary>Users evaluated.</summary>
    public long Users { get; init; }

    /// <summary>Test actions scored.</summary>
    public long TestActions { get; init; }

    /// <summary>Wall time of the run, seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>The catalogue-coverage metric's name.</summary>
    public const string CoverageMetric = "coverage";

    /// <summary>True when every method's candidates cover the whole catalogue (coverage 1 for all, as on small
    /// catalogues with K = 400 candidates per user): coverage then cannot tell the methods apart, and reports say
    /// "saturated" instead of a column of 1s.</summary>
    public bool CoverageSaturated =>
        Methods.Count > 0 && Methods.All(m => Get(m, CoverageMetric) is { Value: >= 1 });

    /// <summary>The estimate of <paramref name="metric"/> for <paramref name="method"/>, or null when not measured.</summary>
    public MetricEstimate? Get(string method, string metric)
        => Results.TryGetValue(method, out IReadOnlyDictionary<string, MetricEstimate>? metrics)
           && metrics.TryGetValue(metric, out MetricEstimate? estimate) ? estimate : null;

    /// <summary>Lift over the baseline, value / baseline value − 1 (the paper's "+110 %" is 1.10); null when either
    /// value is missing, not finite, or the baseline is 0.</summary>
    public double? Lift(string method, string metric)
    {
        MetricEstimate? value = Get(method, metric), baseline = Get(Baseline, metric);
        if (value is null || baseline is null || baseline.Value == 0) return null;
        double lift = value.Value / baseline.Value - 1;
        return double.IsFinite(lift) ? lift : null;
    }
}
