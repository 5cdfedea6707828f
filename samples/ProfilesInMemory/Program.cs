// Profiles and recommendations for my users from in-memory data, through the PinnerSage packages only:
// item vectors + engagements (in memory) → PinnerSage profiles in a store → an HNSW index → recommendations.
using PinnerSage.Ann;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Storage;

const int Topics = 4, ItemsPerTopic = 50, Dimension = 16, Users = 30;
var random = new Random(7);

// My catalogue: item i belongs to topic i % Topics; its vector is the topic's direction plus a little noise.
var topicDirections = new float[Topics * Dimension];
for (int i = 0; i < topicDirections.Length; i++) topicDirections[i] = (float)(random.NextDouble() * 2 - 1);
int itemCount = Topics * ItemsPerTopic;
string[] itemIds = [.. Enumerable.Range(0, itemCount).Select(i => $"item-{i}")];
var vectors = new float[itemCount * Dimension];
for (int i = 0; i < itemCount; i++)
    for (int j = 0; j < Dimension; j++)
        vectors[i * Dimension + j] = topicDirections[i % Topics * Dimension + j] + 0.15f * (float)(random.NextDouble() * 2 - 1);
using ItemEmbeddings items = ItemEmbeddings.FromArray(itemIds, vectors, Dimension);

// My users' engagements: user u engages with items of topics u % Topics and (u + 1) % Topics over the last 30 days.
long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
var actions = new List<UserAction>();
for (int u = 0; u < Users; u++)
    for (int k = 0; k < 12; k++)
    {
        int topic = (u + k % 2) % Topics;
        int item = topic + Topics * random.Next(ItemsPerTopic);
        actions.Add(new UserAction($"user-{u}", itemIds[item], now - random.Next(30 * 86_400), "click"));
    }

// Profiles: the one batch pipeline, into a SQLite store (a file; PostgreSQL works the same way).
string storePath = Path.Combine(Path.GetTempPath(), $"pinnersage-sample-{Environment.ProcessId}.db");
try
{
    var pipeline = new ProfilePipeline(items, new ProfilePipelineOptions { Profile = new ProfileOptions { Now = now } });
    using (SqliteProfileStore sqlite = SqliteProfileStore.Open(storePath))
    {
        IProfileStore store = sqlite;
        BatchSummary summary = await pipeline.RunIntoStoreAsync(ActionSource.FromEnumerable(actions), store);
        Console.WriteLine($"profiles: {summary.UsersWritten} users from {summary.ActionsRead} actions");

        // Recommendations: an HNSW index over the item vectors and the PinnerSage recommender.
        var index = new HnswIndex(Dimension, new HnswOptions { Metric = VectorMetric.Cosine }, itemCount);
        index.Build(vectors, itemCount, threads: 1);
        var recommender = new Recommender(index, items);
        int matching = 0, total = 0;
        for (int u = 0; u < Users; u++)
        {
            UserProfile profile = await store.GetAsync($"user-{u}") ?? throw new InvalidOperationException($"no profile for user-{u}");
            Recommendation[] recommendations = recommender.Recommend(profile, now, out _);
            var myTopics = new HashSet<int> { u % Topics, (u + 1) % Topics };
            foreach (Recommendation r in recommendations.Take(10))
            {
                total++;
                if (myTopics.Contains(r.Item % Topics)) matching++;
            }
            if (u == 0)
                Console.WriteLine($"user-0: {profile.Clusters.Count} interests (medoids {string.Join(", ", profile.Clusters.Select(c => c.Medoid))}); " +
                                  $"top recommendations {string.Join(", ", recommendations.Take(5).Select(r => itemIds[r.Item]))}");
        }
        Console.WriteLine($"top-10 recommendations: {total}, from the user's own topics: {matching} ({100.0 * matching / Math.Max(1, total):F0} %)");
    }
}
finally
{
    File.Delete(storePath);
}
