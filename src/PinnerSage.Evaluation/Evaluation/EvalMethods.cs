using System.Numerics.Tensors;
using PinnerSage.Clustering;
using PinnerSage.Numerics;
using PinnerSage.Retrieval;

namespace PinnerSage.Evaluation;

/// <summary>The user representations compared by the offline evaluation (papers/PINNERSAGE.md, "Offline evaluation
/// protocol", baselines and variants). Each is a function from a user's history to a small set of query embeddings.</summary>
public static class EvalMethods
{
    /// <summary>The baseline every lift is relative to.</summary>
    public const string Baseline = "last-item";

    /// <summary>What <c>recommend</c> and <c>serve</c> do by default (or with <c>--settings</c>).</summary>
    public const string Default = "default";

    /// <summary>Every method, in display order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "last-item", "default", "mean", "decay-avg-0", "decay-avg-0.01", "decay-avg-0.1", "decay-avg-0.25",
        "pinnersage", "pinnersage-kmeans5", "pinnersage-complete", "pinnersage-centroid", "pinnersage-lambda0",
        "pinnersage-lambda0.1", "pinnersage-1-embedding", "pinnersage-all-embeddings",
    ];

    private static RetrievalSettings Resolve(RetrievalSettings s, double autoLambda) => s.AutoLambda ? s.WithLambda(autoLambda) : s;

    /// <summary>Creates the method named <paramref name="name"/> (one of <see cref="Names"/>).</summary>
    /// <remarks><paramref name="autoLambda"/> is the λ an auto-λ setting resolves to (<see cref="Profiles.AutoLambda"/>).</remarks>
    internal static EvalMethod Create(string name, int sampled, int dimension = 0, RetrievalSettings? settings = null,
                                      double autoLambda = 0.05) => name switch
    {
        Default when (settings ?? RetrievalSettings.Default).Policy == RetrievalPolicy.Paper =>
            new PinnerSageMethod(name, UserClustering.Ward, false, 0.01, sampled),
        Default => new MixtureMethod(name, Resolve(settings ?? RetrievalSettings.Default, autoLambda), dimension),
        _ when name.StartsWith(MixtureMethod.Prefix, StringComparison.Ordinal) =>
            new MixtureMethod(name, Resolve(MixtureMethod.Parse(name), autoLambda), dimension),
        "last-item" => new LastItemMethod(),
        "mean" => new MeanMethod(),
        "decay-avg-0" => new DecayAverageMethod(name, 0),
        "decay-avg-0.01" => new DecayAverageMethod(name, 0.01),
        "decay-avg-0.1" => new DecayAverageMethod(name, 0.1),
        "decay-avg-0.25" => new DecayAverageMethod(name, 0.25),
        "pinnersage" => new PinnerSageMethod(name, UserClustering.Ward, false, 0.01, sampled),
        "pinnersage-kmeans5" => new PinnerSageMethod(name, UserClustering.KMeans5, false, 0.01, sampled),
        "pinnersage-complete" => new PinnerSageMethod(name, UserClustering.Complete, false, 0.01, sampled),
        "pinnersage-centroid" => new PinnerSageMethod(name, UserClustering.Ward, true, 0.01, sampled),
        "pinnersage-lambda0" => new PinnerSageMethod(name, UserClustering.Ward, false, 0, sampled),
        "pinnersage-lambda0.1" => new PinnerSageMethod(name, UserClustering.Ward, false, 0.1, sampled),
        "pinnersage-1-embedding" => new PinnerSageMethod(name, UserClustering.Ward, false, 0.01, 1),
        "pinnersage-all-embeddings" => new PinnerSageMethod(name, UserClustering.Ward, false, 0.01, int.MaxValue),
        _ => throw new ArgumentException($"Unknown method '{name}'; known: {string.Join(", ", Names)}.", nameof(name)),
    };
}

/// <summary>How a PinnerSage variant clusters the history.</summary>
internal enum UserClustering
{
    Ward,
    KMeans5,
    Complete,
}

/// <summary>The query embeddings a method produced for one user: <see cref="Count"/> unit vectors (n × d in
/// <see cref="Vectors"/>); <see cref="Rows"/>[j] is the item row when embedding j is an item's own vector (last item,
/// medoid: its neighbours can be cached), else −1.</summary>
internal sealed class QuerySet(int dimension)
{
    public int Count;
    public int[] Rows = new int[16];
    public float[] Vectors = new float[16 * dimension];

    public void Clear() => Count = 0;

    public void AddItem(ReadOnlySpan<float> unit, int row)
    {
        Span<float> v = Next(row);
        unit.Slice(row * dimension, dimension).CopyTo(v);
    }

    /// <summary>Adds a vector, scaled to unit length (a zero vector is skipped).</summary>
    public void AddVector(ReadOnlySpan<float> vector)
    {
        double norm = VectorNorms.L2(vector);
        if (!(norm > 0)) return;
        TensorPrimitives.Multiply(vector, (float)(1 / norm), Next(-1));
    }

    private Span<float> Next(int row)
    {
        if (Count == Rows.Length)
        {
            Array.Resize(ref Rows, Count * 2);
            Array.Resize(ref Vectors, Count * 2 * dimension);
        }
        Rows[Count] = row;
        return Vectors.AsSpan(Count++ * dimension, dimension);
    }
}

/// <summary>A user representation: history → query embeddings. Implementations only ever see a
/// <see cref="UserHistory"/>, which holds the history range of an evaluation point and nothing else.</summary>
internal abstract class EvalMethod(string name)
{
    public string Name { get; } = name;

    public abstract void Build(UserHistory history, QuerySet output);
}

/// <summary>The most recent history action's item (ties in time: the larger row, the last in sorted order).</summary>
internal sealed class LastItemMethod() : EvalMethod(EvalMethods.Baseline)
{
    public override void Build(UserHistory history, QuerySet output) =>
        output.AddItem(history.Unit, history.Rows[^1]);
}

/// <summary>Mean of the distinct history items' unit vectors (each item once, whatever its repeats).</summary>
internal sealed class MeanMethod() : EvalMethod("mean")
{
    public override void Build(UserHistory history, QuerySet output)
    {
        Span<float> sum = history.Scratch;
        sum.Clear();
        for (int i = 0; i < history.Distinct; i++) TensorPrimitives.Add(sum, history.DistinctVector(i), sum);
        output.AddVector(sum);
    }
}

/// <summary>Σ over history actions of exp(−λ·Δdays)·unit vector (the paper's decay-weighted average; λ = 0 is the
/// mean over actions, repeats included).</summary>
internal sealed class DecayAverageMethod(string name, double lambda) : EvalMethod(name)
{
    public override void Build(UserHistory history, QuerySet output)
    {
        Span<float> sum = history.Scratch;
        sum.Clear();
        for (int i = 0; i < history.Rows.Length; i++)
        {
            float w = (float)Math.Exp(-lambda * history.AgeDays(i));
            TensorPrimitives.MultiplyAdd(history.Unit.Slice(history.Rows[i] * history.Dimension, history.Dimension), w, sum, sum);
        }
        output.AddVector(sum);
    }
}

/// <summary>PinnerSage and its variants: cluster the distinct history items, score each cluster's importance
/// Σ exp(−λ·Δdays) over its actions, sample e clusters ∝ importance (<see cref="MedoidSampler"/>, without
/// replacement, all when e ≥ clusters) and query with each one's medoid (or centroid). K-means k = 5 and complete
/// linkage come from <see cref="KMeansClustering"/> and <see cref="CompleteLinkage"/>; complete linkage is cut at
/// √α on the Euclidean scale (our choice: for two single items it merges exactly when Ward does).</summary>
internal sealed class PinnerSageMethod(string name, UserClustering clustering, bool centroid, double lambda, int sampled)
    : EvalMethod(name)
{
    public int Sampled { get; } = sampled;

    public override void Build(UserHistory history, QuerySet output) => Build(history, output, Sampled);

    public void Build(UserHistory history, QuerySet output, int sampled)
    {
        ClusterResult c = history.Clusters(clustering);
        if (c.Count == 0) return;
        Span<double> importance = history.Importance(c, lambda);
        int take = Math.Min(sampled, c.Count);
        Span<int> picked = history.Picked(take);
        MedoidSampler.Sample(importance, take, MedoidSampling.ProportionalToImportance, history.Seed,
                             history.Keys(c.Count), picked);
        if (!centroid)
        {
            foreach (int k in picked) output.AddItem(history.Unit, history.DistinctRow(c.Medoids[k]));
            return;
        }
        Span<float> centroids = history.Centroids(c);
        foreach (int k in picked) output.AddVector(centroids.Slice(k * history.Dimension, history.Dimension));
    }
}

/// <summary>A method that ranks items by a score of its own instead of by the maximum cosine to query embeddings.</summary>
internal abstract class ScoredEvalMethod(string name) : EvalMethod(name)
{
    public sealed override void Build(UserHistory history, QuerySet output) =>
        throw new NotSupportedException("A scored method ranks items itself.");

    /// <summary>Writes the best rows by score, best first, into <paramref name="ranked"/>; returns how many. Then
    /// <see cref="Score"/> scores any row for this point.</summary>
    public abstract int Rank(UserHistory history, ICandidateSource source, Span<int> ranked);

    /// <summary>The score of <paramref name="row"/> for the point of the last <see cref="Rank"/>.</summary>
    public abstract float Score(int row);
}
