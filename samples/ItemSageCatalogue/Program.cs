// Train ItemSage on my catalogue and embed it, through the PinnerSage.ItemSage package only: items with text fields and a
// pretrained vector each, engagements (all in memory) → a trained model → one embedding per item.
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.ItemSage;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;

string[] colours = ["red", "blue", "green", "black"];
string[] kinds = ["shoe", "lamp", "mug", "scarf", "chair"];
const int ItemCount = 400, VectorDim = 8;
var random = new Random(3);

// My catalogue: a title and a category per item, and a pretrained (say, image) vector that knows the kind.
var ids = new List<string>();
var texts = new List<(string Id, IReadOnlyList<string> Texts)>();
var image = new float[ItemCount * VectorDim];
for (int i = 0; i < ItemCount; i++)
{
    string id = $"sku-{i}", kind = kinds[i % kinds.Length], colour = colours[i / kinds.Length % colours.Length];
    ids.Add(id);
    texts.Add((id, [$"{colour} {kind} model {i}", $"home > {kind}s"]));
    for (int j = 0; j < VectorDim; j++) image[i * VectorDim + j] = (j == i % kinds.Length ? 1f : 0f) + 0.1f * (float)random.NextDouble();
}
using ItemEmbeddings imageVectors = ItemEmbeddings.FromArray(ids, image, VectorDim);
var catalogue = ItemSageCatalog.FromMemory(["title", "category"], texts, new Dictionary<string, ItemEmbeddings> { ["image"] = imageVectors });

// My engagements: each shopper browses items of one kind.
var actions = new List<UserAction>();
long t = 1_700_000_000;
for (int u = 0; u < 300; u++)
{
    int kind = u % kinds.Length;
    for (int k = 0; k < 8; k++) actions.Add(new UserAction($"shopper-{u}", ids[kind + kinds.Length * random.Next(ItemCount / kinds.Length)], t += 60));
}

var options = new ItemSageOptions
{
    Model = new ItemSageModelOptions { DModel = 32, Heads = 4, FfnDim = 64, HeadHidden = 64, OutputDim = 32, HashRows = 1000, HashDim = 32, Seed = 1 },
    Pairs = new PairOptions { TestShare = 0, ValidationShare = 0 },
    Training = new ItemSageTrainingOptions { BatchSize = 64, RandomNegatives = 64, WarmupSteps = 10, Seed = 1, Threads = 1 },
    Steps = 150,
};
ItemSageModel model = ItemSageModel.Train(catalogue, ActionSource.FromEnumerable(actions), options);
using ItemEmbeddings embeddings = model.Embed(catalogue);
Console.WriteLine($"trained {model.Tower} tower, final loss {model.FinalLoss:F2}; embedded {embeddings.Count} items, d = {embeddings.Dimension}");

// A sanity check anyone can read: an item's nearest neighbour by embedding is usually of the same kind.
int sameKind = 0;
for (int i = 0; i < embeddings.Count; i++)
{
    int best = -1;
    float bestDot = float.NegativeInfinity;
    for (int j = 0; j < embeddings.Count; j++)
    {
        if (j == i) continue;
        float dot = System.Numerics.Tensors.TensorPrimitives.Dot(embeddings.Vector(i), embeddings.Vector(j));
        if (dot > bestDot) (best, bestDot) = (j, dot);
    }
    if (best % kinds.Length == i % kinds.Length) sameKind++;
}
Console.WriteLine($"nearest neighbour of the same kind: {sameKind} of {embeddings.Count} ({100.0 * sameKind / embeddings.Count:F0} %)");
