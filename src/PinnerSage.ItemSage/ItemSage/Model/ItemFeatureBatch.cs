namespace PinnerSage.ItemSage.Model;

/// <summary>The model inputs of up to <see cref="Capacity"/> items, in flat arrays reused from batch to batch.</summary>
/// <remarks>Text: the vocabulary token ids of item b, text field f are
/// <c>Tokens[TokenOffsets[b·TextFields + f] .. TokenOffsets[b·TextFields + f + 1])</c>; an empty field is a masked
/// position. Pretrained vectors ("images", dimension <see cref="ImageDim"/>): item b has <c>ImageCount[b]</c> ≤
/// <see cref="MaxImages"/> vectors at <c>Images[(b·MaxImages + j)·ImageDim ..]</c> for j &lt; ImageCount[b]; the rest
/// are masked and never read by the towers.</remarks>
internal sealed class ItemFeatureBatch
{
    /// <summary>Creates an empty batch with room for <paramref name="capacity"/> items.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or <paramref name="capacity"/> is 0.</exception>
    public ItemFeatureBatch(int capacity, int textFields, int maxImages, int imageDim)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(textFields);
        ArgumentOutOfRangeException.ThrowIfNegative(maxImages);
        ArgumentOutOfRangeException.ThrowIfNegative(imageDim);
        Capacity = capacity;
        TextFields = textFields;
        MaxImages = maxImages;
        ImageDim = imageDim;
        TokenOffsets = new int[capacity * textFields + 1];
        Tokens = new int[Math.Max(16, capacity * textFields * 8)];
        ImageCount = new int[capacity];
        Images = new float[(long)capacity * maxImages * imageDim];
        ImageSet = new int[capacity * maxImages];
        for (int i = 0; i < ImageSet.Length; i++) ImageSet[i] = i % maxImages;
    }

    /// <summary>Most items the batch holds.</summary>
    public int Capacity { get; }

    /// <summary>Items in use (≤ <see cref="Capacity"/>).</summary>
    public int Count { get; set; }

    /// <summary>Text fields per item.</summary>
    public int TextFields { get; }

    /// <summary>Most pretrained vectors per item.</summary>
    public int MaxImages { get; }

    /// <summary>Dimension of each pretrained vector (0 = none).</summary>
    public int ImageDim { get; }

    /// <summary>Start of each (item, field) token run in <see cref="Tokens"/>; length Capacity·TextFields + 1.</summary>
    public int[] TokenOffsets { get; }

    /// <summary>Token ids of all fields back to back (the array may be longer than used; grow it as needed).</summary>
    public int[] Tokens { get; set; }

    /// <summary>Present pretrained vectors per item.</summary>
    public int[] ImageCount { get; }

    /// <summary>Which vector set each present vector comes from: <c>ImageSet[b·MaxImages + j]</c> ∈ [0, MaxImages) for
    /// j &lt; ImageCount[b], increasing in j. Starts as j (every set present); a source that skips an item's missing
    /// sets writes the real set indices. Towers with one projection per vector set read it.</summary>
    public int[] ImageSet { get; }

    /// <summary>Pretrained vectors, [Capacity, MaxImages, ImageDim] row-major.</summary>
    public float[] Images { get; }

    /// <summary>Empties the batch (no vectors, no tokens).</summary>
    public void Clear()
    {
        Count = 0;
        Array.Clear(TokenOffsets);
        Array.Clear(ImageCount);
    }

    /// <summary>Checks the offsets, token ids and image counts of the items in use (public towers call it once per
    /// batch, so a bad builder fails loudly instead of reading garbage).</summary>
    internal void Validate(ItemSageModelOptions options)
    {
        if (Count < 0 || Count > Capacity) throw new ArgumentOutOfRangeException(nameof(Count), Count, $"must be in [0, {Capacity}]");
        if (TextFields != options.TextFields) throw new ArgumentException($"batch has {TextFields} text fields, the model {options.TextFields}");
        if (options.ImageDim > 0 && (ImageDim != options.ImageDim || MaxImages != options.MaxImages))
            throw new ArgumentException($"batch images are {MaxImages}×{ImageDim}, the model's {options.MaxImages}×{options.ImageDim}");
        int fields = Count * TextFields;
        if (TokenOffsets[0] < 0) throw new ArgumentException("TokenOffsets[0] is negative");
        for (int i = 0; i < fields; i++)
        {
            if (TokenOffsets[i + 1] < TokenOffsets[i])
                throw new ArgumentException($"TokenOffsets must not decrease (index {i})");
        }
        if (TokenOffsets[fields] > Tokens.Length) throw new ArgumentException("TokenOffsets run past Tokens");
        for (int t = TokenOffsets[0]; t < TokenOffsets[fields]; t++)
        {
            if ((uint)Tokens[t] >= (uint)options.VocabularySize)
                throw new ArgumentException($"token id {Tokens[t]} outside [0, {options.VocabularySize})");
        }
        if (options.ImageDim > 0)
        {
            for (int b = 0; b < Count; b++)
            {
                if ((uint)ImageCount[b] > (uint)MaxImages)
                    throw new ArgumentException($"ImageCount[{b}] = {ImageCount[b]} outside [0, {MaxImages}]");
                for (int j = 0; j < ImageCount[b]; j++)
                {
                    int set = ImageSet[b * MaxImages + j];
                    if ((uint)set >= (uint)MaxImages || (j > 0 && set <= ImageSet[b * MaxImages + j - 1]))
                        throw new ArgumentException($"ImageSet[{b}, {j}] = {set}: set indices must increase within [0, {MaxImages})");
                }
            }
        }
    }
}
