using PinnerSage.ItemSage.Model;

namespace PinnerSage.ItemSage.OnnxExport;

/// <summary>The inputs of an exported ItemSage ONNX model for one batch of items, as dense row-major arrays:
/// <c>token_ids</c> int64 [B, F, T] and <c>token_weights</c> float [B, F, T] (T = the longest field of the batch, at
/// least 1; padding is id 0 with weight 0), <c>vectors</c> float [B, M, I] and <c>vector_mask</c> float [B, M].</summary>
/// <remarks>Vector slots: with one projection per vector set (<see cref="ItemSageModelOptions.ProjectionPerVectorSet"/>)
/// slot j holds vector set j ("by_set"); with one shared projection an item's present vectors are packed into slots
/// 0, 1, … in vector-set order and the rest are masked ("packed"), which is how the towers place them.</remarks>
public sealed class ItemSageOnnxInputs
{
    /// <summary>Names of the graph's inputs and output.</summary>
    public const string TokenIds = "token_ids", TokenWeights = "token_weights", Vectors = "vectors", VectorMask = "vector_mask",
        Embedding = "embedding";

    private ItemSageOnnxInputs(int batch, int fields, int tokens, int slots, int dim)
    {
        Batch = batch;
        Fields = fields;
        Tokens = tokens;
        Slots = slots;
        Dimension = dim;
        TokenIdValues = new long[batch * fields * tokens];
        TokenWeightValues = new float[batch * fields * tokens];
        VectorValues = new float[(long)batch * slots * dim];
        VectorMaskValues = new float[batch * slots];
    }

    /// <summary>Items (B).</summary>
    public int Batch { get; }

    /// <summary>Text fields (F; 0 = the model has no text inputs).</summary>
    public int Fields { get; }

    /// <summary>Padded tokens per field (T).</summary>
    public int Tokens { get; }

    /// <summary>Vector slots (M; 0 when the model has no vector inputs).</summary>
    public int Slots { get; }

    /// <summary>Vector dimension (I).</summary>
    public int Dimension { get; }

    /// <summary><c>token_ids</c>, [B, F, T].</summary>
    public long[] TokenIdValues { get; }

    /// <summary><c>token_weights</c>, [B, F, T].</summary>
    public float[] TokenWeightValues { get; }

    /// <summary><c>vectors</c>, [B, M, I].</summary>
    public float[] VectorValues { get; }

    /// <summary><c>vector_mask</c>, [B, M].</summary>
    public float[] VectorMaskValues { get; }

    /// <summary>Converts the items in use of <paramref name="batch"/> for a model with <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The batch does not fit the model.</exception>
    internal static ItemSageOnnxInputs FromBatch(ItemFeatureBatch batch, ItemSageModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(options);
        batch.Validate(options);
        int n = batch.Count, f = options.TextFields;
        int longest = 1;
        for (int i = 0; i < n * f; i++) longest = Math.Max(longest, batch.TokenOffsets[i + 1] - batch.TokenOffsets[i]);
        int slots = options.ImageDim > 0 ? options.MaxImages : 0;
        var x = new ItemSageOnnxInputs(n, f, f > 0 ? longest : 0, slots, options.ImageDim);
        for (int i = 0; i < n * f; i++)
        {
            int start = batch.TokenOffsets[i], count = batch.TokenOffsets[i + 1] - start;
            for (int k = 0; k < count; k++)
            {
                x.TokenIdValues[i * longest + k] = batch.Tokens[start + k];
                x.TokenWeightValues[i * longest + k] = 1f;
            }
        }
        int dim = options.ImageDim, max = batch.MaxImages;
        for (int b = 0; b < n && slots > 0; b++)
        {
            for (int j = 0; j < batch.ImageCount[b]; j++)
            {
                int slot = options.ProjectionPerVectorSet ? batch.ImageSet[b * max + j] : j;
                batch.Images.AsSpan((b * max + j) * dim, dim).CopyTo(x.VectorValues.AsSpan((b * slots + slot) * dim, dim));
                x.VectorMaskValues[b * slots + slot] = 1f;
            }
        }
        return x;
    }
}
