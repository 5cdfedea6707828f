using PinnerSage.IO;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;

namespace PinnerSage.ItemSage.Training;

/// <summary>A trained ItemSage model on disk: a folder with the tower (<c>tower.bin</c>), the feature spec
/// (<c>features.json</c>: text fields, vector sets, vector dimension) and the vocabulary (<c>vocabulary.tsv</c>), so
/// <c>itemsage embed</c> can featurise any catalogue exactly as in training; training checkpoints go to
/// <c>checkpoint/</c> inside it.</summary>
public static class ItemSageModelFolder
{
    /// <summary>The tower's file name inside the folder.</summary>
    public const string TowerFile = "tower.bin";

    /// <summary>The checkpoint sub-folder.</summary>
    public const string CheckpointFolder = "checkpoint";

    /// <summary>The training cut's file inside the folder (an <see cref="EmbeddingsMeta"/>), copied beside every
    /// embedding written by <see cref="Embed"/>.</summary>
    public const string TrainingMetaFile = "training.meta.json";

    /// <summary>Writes the tower, the features' spec and vocabulary and, when known, the exclusive end of the actions
    /// the training pairs came from (<see cref="EngagementPairs.TrainedUntil"/>), each file atomically.</summary>
    public static void Save(string directory, IItemTower tower, ItemSageFeatures features, long? trainedUntil = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(tower);
        ArgumentNullException.ThrowIfNull(features);
        Directory.CreateDirectory(directory);
        features.Save(directory);
        tower.Save(Path.Combine(directory, TowerFile));
        new EmbeddingsMeta(MetaKind, trainedUntil).Write(Path.Combine(directory, TrainingMetaFile));
    }

    private const string MetaKind = "itemsage";

    /// <summary>Loads the tower and featurises <paramref name="dataset"/>'s catalogue with the saved vocabulary.</summary>
    /// <exception cref="DataFormatException">The dataset's features do not fit the model.</exception>
    public static (IItemTower Tower, ItemSageFeatures Features) Load(string directory, DatasetLayout dataset)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Model folder '{directory}' does not exist.");
        IItemTower tower = ItemSageTower.Load(Path.Combine(directory, TowerFile));
        ItemSageFeatures features = ItemSageFeatures.Load(directory, dataset);
        ItemSageModelOptions o = tower.Options;
        if (o.TextFields != features.TextFields.Count || (o.ImageDim != 0 && o.ImageDim != features.ImageDim) || o.VocabularySize < features.Vocabulary.Size)
        {
            features.Dispose();
            throw new DataFormatException(Path.Combine(directory, TowerFile), 0, null,
                "the tower does not match the saved features (text fields, vector dimension or vocabulary size)");
        }
        return (tower, features);
    }

    /// <summary>Embeds the whole catalogue of <paramref name="dataset"/> (including items never seen in training) and
    /// writes <paramref name="npyPath"/> (float32 [n, OutputDim], unit rows), its <c>.ids</c> and its
    /// <c>.meta.json</c> (the model's training cut; null = unknown for a model saved before cuts were recorded).</summary>
    /// <returns>Number of items and dimension.</returns>
    public static (int Items, int Dimension) Embed(string directory, DatasetLayout dataset, string npyPath, string? idsPath = null,
        Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(npyPath);
        (IItemTower tower, ItemSageFeatures features) = Load(directory, dataset);
        using (features)
        {
            float[] embeddings = ItemSageEmbedder.EmbedAll(tower, features, progress: done => progress?.Invoke(done, features.ItemCount));
            int d = tower.Options.OutputDim;
            using var table = ItemEmbeddings.FromArray(features.Catalog.Ids, embeddings, d);
            string metaPath = EmbeddingsMeta.PathFor(npyPath);
            File.Delete(metaPath);
            table.Save(npyPath, idsPath);
            (EmbeddingsMeta.TryRead(Path.Combine(directory, TrainingMetaFile)) ?? new EmbeddingsMeta(MetaKind, null)).Write(metaPath);
            return (features.ItemCount, d);
        }
    }
}
