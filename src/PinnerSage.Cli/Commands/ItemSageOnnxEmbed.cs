using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PinnerSage.IO;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.OnnxExport;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.Cli.Commands;

/// <summary>`itemsage embed --onnx OUT.onnx`: the catalogue's embeddings computed by ONNX Runtime (its CPU provider) from
/// an exported model, with the model folder's feature pipeline; same outputs as <see cref="ItemSageModelFolder.Embed"/>.
/// ONNX Runtime lives in the CLI only, so the ItemSage package carries no native runtime.</summary>
internal static class ItemSageOnnxEmbed
{
    private const int BatchSize = 256;

    /// <summary>Embeds every catalogue item of <paramref name="dataset"/> and writes the .npy, .ids and .meta.json.</summary>
    /// <exception cref="ArgumentException">The ONNX file is missing or is not an export of this model.</exception>
    public static (int Items, int Dimension) Embed(string modelDirectory, DatasetLayout dataset, string onnxPath, string npyPath)
    {
        if (!File.Exists(onnxPath)) throw new ArgumentException($"--onnx: {onnxPath} does not exist (write it with `pinnersage itemsage export`).");
        (IItemTower tower, ItemSageFeatures features) = ItemSageModelFolder.Load(modelDirectory, dataset);
        using (features)
        {
            using var options = new SessionOptions();
            InferenceSession session;
            try
            {
                session = new InferenceSession(onnxPath, options);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ArgumentException($"--onnx: {onnxPath} is not a loadable ONNX model: {e.Message}");
            }
            using (session)
            {
                int n = features.ItemCount, d = tower.Options.OutputDim;
                if (!session.OutputMetadata.TryGetValue(ItemSageOnnxInputs.Embedding, out NodeMetadata? output)
                    || output.Dimensions.Length != 2 || output.Dimensions[1] != d)
                    throw new ArgumentException($"--onnx: {onnxPath} is not an ItemSage export of this model (no output '{ItemSageOnnxInputs.Embedding}' of dimension {d}).");
                var result = new float[(long)n * d];
                ItemFeatureBatch batch = features.CreateBatch(BatchSize);
                int[] rows = new int[BatchSize];
                for (int start = 0; start < n; start += BatchSize)
                {
                    int count = Math.Min(BatchSize, n - start);
                    for (int i = 0; i < count; i++) rows[i] = start + i;
                    features.Fill(rows.AsSpan(0, count), batch);
                    ItemSageOnnxInputs x = ItemSageOnnxInputs.FromBatch(batch, tower.Options);
                    float[] embeddings = Run(session, x, onnxPath);
                    embeddings.AsSpan(0, count * d).CopyTo(result.AsSpan(start * d));
                }
                using var table = ItemEmbeddings.FromArray(features.Catalog.Ids, result, d);
                string metaPath = EmbeddingsMeta.PathFor(npyPath);
                File.Delete(metaPath);
                table.Save(npyPath);
                (EmbeddingsMeta.TryRead(Path.Combine(modelDirectory, ItemSageModelFolder.TrainingMetaFile)) ?? new EmbeddingsMeta("itemsage", null)).Write(metaPath);
                return (n, d);
            }
        }
    }

    private static float[] Run(InferenceSession session, ItemSageOnnxInputs x, string onnxPath)
    {
        var feeds = new List<NamedOnnxValue>();
        if (x.Fields > 0)
        {
            feeds.Add(NamedOnnxValue.CreateFromTensor(ItemSageOnnxInputs.TokenIds, new DenseTensor<long>(x.TokenIdValues, [x.Batch, x.Fields, x.Tokens])));
            feeds.Add(NamedOnnxValue.CreateFromTensor(ItemSageOnnxInputs.TokenWeights, new DenseTensor<float>(x.TokenWeightValues, [x.Batch, x.Fields, x.Tokens])));
        }
        if (x.Slots > 0)
        {
            feeds.Add(NamedOnnxValue.CreateFromTensor(ItemSageOnnxInputs.Vectors, new DenseTensor<float>(x.VectorValues, [x.Batch, x.Slots, x.Dimension])));
            feeds.Add(NamedOnnxValue.CreateFromTensor(ItemSageOnnxInputs.VectorMask, new DenseTensor<float>(x.VectorMaskValues, [x.Batch, x.Slots])));
        }
        try
        {
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(feeds, [ItemSageOnnxInputs.Embedding]);
            return [.. results[0].AsTensor<float>()];
        }
        catch (OnnxRuntimeException e)
        {
            throw new ArgumentException($"--onnx: {onnxPath} does not take this model's inputs (export it from the same model folder): {e.Message}");
        }
    }
}
