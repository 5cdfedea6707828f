namespace PinnerSage.ItemSage.Training;

/// <summary>The files of a model folder written by <see cref="ItemSageModel.Save"/>: the tower (<c>tower.bin</c>), the
/// feature spec (<c>features.json</c>: text fields, vector sets, vector dimension), the vocabulary
/// (<c>vocabulary.tsv</c>), the training cut (<c>training.meta.json</c>) and the trainer's <c>checkpoint/</c>.</summary>
public static class ItemSageModelFolder
{
    /// <summary>The tower's file name inside the folder.</summary>
    public const string TowerFile = "tower.bin";

    /// <summary>The checkpoint sub-folder.</summary>
    public const string CheckpointFolder = "checkpoint";

    /// <summary>The training cut's file inside the folder (an <see cref="IO.EmbeddingsMeta"/>), copied beside every
    /// embedding written by <see cref="ItemSageModel.WriteEmbeddings"/>.</summary>
    public const string TrainingMetaFile = "training.meta.json";

    /// <summary>The <see cref="IO.EmbeddingsMeta"/> kind of ItemSage embeddings.</summary>
    internal const string MetaKind = "itemsage";
}
