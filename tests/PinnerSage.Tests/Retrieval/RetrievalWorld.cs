using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Profiles;

namespace PinnerSage.Tests.Retrieval;

/// <summary>A small catalogue for retrieval tests: <c>topics</c> groups of unit vectors (d = 16) around random
/// centres, item ids "t{topic}-{i}", and users whose clusters are real neighbourhoods: each cluster's medoid is an
/// item of one topic and its members are that item's nearest neighbours.</summary>
internal sealed class RetrievalWorld
{
    private RetrievalWorld(ItemEmbeddings items, int topics, int perTopic)
    {
        Items = items;
        Topics = topics;
        PerTopic = perTopic;
    }

    public ItemEmbeddings Items { get; }

    public int Topics { get; }

    public int PerTopic { get; }

    public static RetrievalWorld Create(int topics = 8, int perTopic = 80, int dimension = 16, int seed = 1, double noise = 0.35)
    {
        var rng = new Random(seed);
        var ids = new List<string>();
        var data = new float[topics * perTopic * dimension];
        for (int t = 0; t < topics; t++)
        {
            double[] centre = Gaussian(rng, dimension);
            for (int i = 0; i < perTopic; i++)
            {
                ids.Add($"t{t}-{i:D3}");
                double[] g = Gaussian(rng, dimension);
                int row = t * perTopic + i;
                for (int j = 0; j < dimension; j++) data[row * dimension + j] = (float)(centre[j] + noise * g[j] / Math.Sqrt(dimension));
            }
        }
        return new RetrievalWorld(ItemEmbeddings.FromArray(ids, data, dimension, new EmbeddingsLoadOptions { Normalize = true }), topics, perTopic);
    }

    public ExactIndex ExactIndex(VectorMetric metric = VectorMetric.Cosine) =>
        PinnerSage.Ann.ExactIndex.Build(Items.Matrix, Items.Dimension, metric);

    /// <summary>A user with one cluster per (topic, importance, members) entry: the medoid is item <c>medoidIndex</c>
    /// of the topic, the members are its <c>members</c> nearest items (itself included).</summary>
    public UserProfile User(string id, params (int Topic, double Importance, int Members)[] clusters)
    {
        var list = new List<ProfileCluster>();
        int offset = 0;
        foreach ((int topic, double importance, int members) in clusters)
        {
            int medoid = topic * PerTopic + (offset++ * 7) % PerTopic;
            List<string> nearest = NearestRows(medoid, members).Select(Items.Id).ToList();
            list.Add(new ProfileCluster(Items.Id(medoid), importance, members + 1, nearest));
        }
        return new UserProfile(id, list.OrderByDescending(c => c.Importance).ToList());
    }

    /// <summary>Rows ordered by cosine similarity to <paramref name="row"/>, computed in double (the row itself first).</summary>
    public List<int> NearestRows(int row, int count) =>
        Enumerable.Range(0, Items.Count).OrderByDescending(r => Cosine(row, r)).ThenBy(r => r).Take(count).ToList();

    public double Cosine(int a, int b)
    {
        ReadOnlySpan<float> x = Items.Vector(a), y = Items.Vector(b);
        double dot = 0, nx = 0, ny = 0;
        for (int j = 0; j < x.Length; j++)
        {
            dot += (double)x[j] * y[j];
            nx += (double)x[j] * x[j];
            ny += (double)y[j] * y[j];
        }
        return dot / Math.Sqrt(nx * ny);
    }

    private static double[] Gaussian(Random rng, int n)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return v;
    }
}
