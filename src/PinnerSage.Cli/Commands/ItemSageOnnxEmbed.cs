using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PinnerSage.IO;
using PinnerSage.ItemSage;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.OnnxExport;

namespace PinnerSage.Cli.Commands;

/// <summary>`itemsage embed --onnx OUT.onnx`: the catalogue's embeddings computed by ONNX Runtime (its CPU provider) from
/// an exported model, with the model's own feature pipeline (<see cref="ItemSageModel.Embed(ItemSageCatalog, Func{ItemSageOnnxInputs, float[]})"/>).
/// ONNX Runtime lives in the CLI only, so the ItemSage package carries no native runtime.</summary>
internal static class ItemSageOnnxEmbed
{
    /// <summary>Embeds every item of <paramref name="catalog"/> through the ONNX export at <paramref name="onnxPath"/>.</summary>
    /// <exception cref="ArgumentException">The ONNX file is missing or is not an export of this model.</exception>
    public static ItemEmbeddings Embed(ItemSageModel model, ItemSageCatalog catalog, string onnxPath)
    {
        if (!File.Exists(onnxPath)) throw new ArgumentException($"--onnx: {onnxPath} does not exist (write it with `pinnersage itemsage export`).");
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
            int d = model.Dimension;
            if (!session.OutputMetadata.TryGetValue(ItemSageOnnxInputs.Embedding, out NodeMetadata? output)
                || output.Dimensions.Length != 2 || output.Dimensions[1] != d)
                throw new ArgumentException($"--onnx: {onnxPath} is not an ItemSage export of this model (no output '{ItemSageOnnxInputs.Embedding}' of dimension {d}).");
            return model.Embed(catalog, x => Run(session, x, onnxPath));
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
