using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;

namespace PinnerSage.ItemSage.Training;

/// <summary>Embeds every item of a feature source with a trained tower (inference: no dropout).</summary>
internal static class ItemSageEmbedder
{
    /// <summary>The embeddings of items 0…ItemCount−1 as one row-major [n, OutputDim] table (rows unit-normalised).</summary>
    public static float[] EmbedAll(IItemTower tower, IItemFeatureSource features, int batchSize = 256, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(tower);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int n = features.ItemCount, d = tower.Options.OutputDim;
        var result = new float[(long)n * d <= Array.MaxLength ? n * d : throw new ArgumentException("Catalogue too large for one table.")];
        ItemFeatureBatch batch = features.CreateBatch(batchSize);
        int[] rows = new int[batchSize];
        float[] output = new float[batchSize * d];
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            for (int i = 0; i < count; i++) rows[i] = start + i;
            // A short last batch is padded with repeats of its first item, so the tower always sees one batch shape
            // (items are independent at inference, so the padding does not change the real rows).
            int shape = Math.Min(batchSize, n);
            for (int i = count; i < shape; i++) rows[i] = start;
            features.Fill(rows.AsSpan(0, shape), batch);
            tower.Forward(batch, output.AsSpan(0, shape * d), training: false, dropoutSeed: 0);
            output.AsSpan(0, count * d).CopyTo(result.AsSpan(start * d));
            progress?.Invoke(start + count);
        }
        return result;
    }
}
