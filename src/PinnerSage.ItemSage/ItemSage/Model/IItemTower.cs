namespace PinnerSage.ItemSage.Model;

/// <summary>A product tower: item features → one L2-normalised embedding per item, with hand-written backward.
/// <see cref="ItemSageTower.Create"/> creates the paper's transformer and its MLP-over-concatenation baseline. Internal:
/// the public entry point is <see cref="ItemSageModel"/>.</summary>
internal interface IItemTower
{
    /// <summary>The sizes the tower was built with.</summary>
    ItemSageModelOptions Options { get; }

    /// <summary>Threads of the tower's kernels (GEMM and row-parallel loops); results do not depend on it.</summary>
    int Threads { get; set; }

    /// <summary>All parameters, one flat array (the optimizer updates it in place).</summary>
    float[] Parameters { get; }

    /// <summary>dLoss/dParameters, same layout as <see cref="Parameters"/>.</summary>
    float[] Gradients { get; }

    /// <summary>The sparse tables (hash table E and token weights W) and the rows touched since the last
    /// <see cref="ZeroGradients"/>; only those rows hold non-zero gradients.</summary>
    SparseRowSet TouchedRows { get; }

    /// <summary>Embeds <paramref name="batch"/>: <paramref name="output"/> is [batch.Count, OutputDim] row-major,
    /// each row L2-normalised. Keeps what <see cref="Backward"/> needs. Dropout is applied only when
    /// <paramref name="training"/>, with masks fixed by <paramref name="dropoutSeed"/>.</summary>
    void Forward(ItemFeatureBatch batch, Span<float> output, bool training, ulong dropoutSeed);

    /// <summary>Adds dLoss/dParameters to <see cref="Gradients"/> given dLoss/dOutput of the last
    /// <see cref="Forward"/> ([Count, OutputDim]).</summary>
    void Backward(ReadOnlySpan<float> dOutput);

    /// <summary>Zeroes the dense gradients and the touched sparse rows, and forgets the touched rows.</summary>
    void ZeroGradients();

    /// <summary>Writes the tower (kind, options, parameters, checksum) to <paramref name="path"/> atomically;
    /// <see cref="ItemSageTower.Load"/> reads it back.</summary>
    void Save(string path);
}
