using PinnerSage.IO;
using PinnerSage.ItemSage.Features;

namespace PinnerSage.Tests.ItemSage.Features;

public sealed class ItemSageFeaturesTests
{
    [Fact]
    public void Fill_copies_each_fields_tokens_and_padded_rescaled_vectors_masking_missing_ones()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.Path));
        using var f = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions());
        Assert.Equal(["title", "category"], f.TextFields);
        Assert.Equal(["image", "text_lm"], f.VectorSets);
        Assert.Equal(6, f.ImageDim); // 6 and 4 → padded to 6
        var batch = f.CreateBatch(3);
        int[] rows = [5, 1, 10];
        f.Fill(rows, batch);
        Assert.Equal(3, batch.Count);
        for (int b = 0; b < 3; b++)
        {
            for (int c = 0; c < 2; c++)
            {
                var expected = new List<int>();
                f.Vocabulary.Encode(f.Catalog.Field(rows[b], c + 1), expected);
                int s = batch.TokenOffsets[b * 2 + c], e = batch.TokenOffsets[b * 2 + c + 1];
                Assert.Equal(expected, batch.Tokens[s..e]);
                Assert.NotEmpty(expected);
            }
        }
        // Items 5 and 10 have no text_lm vector (every 5th is missing): one vector; item 1 has both.
        Assert.Equal([1, 2, 1], batch.ImageCount.Take(3));
        using ItemEmbeddings lm = ItemEmbeddings.Load(Path.Combine(dir.Path, "vectors", "text_lm.npy"));
        Assert.True(lm.TryGetRow("it1", out int lmRow));
        float[] raw = lm.Vector(lmRow).ToArray();
        float norm = MathF.Sqrt(raw.Sum(x => x * x));
        float[] second = batch.Images.AsSpan((1 * 2 + 1) * 6, 6).ToArray();
        for (int j = 0; j < 4; j++) Assert.Equal(raw[j] / norm * 2f, second[j], 5); // rescaled to norm √4
        Assert.Equal([0f, 0f], second[4..]);
    }

    [Fact]
    public void Saved_features_reload_with_the_same_vocabulary_and_choices()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(Path.Combine(dir.Path, "data")));
        using var f = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions { TextFields = ["title"], VectorSets = ["text_lm"], MaxTrigrams = 5 });
        f.Save(dir.File("model"));
        using var g = ItemSageFeatures.Load(dir.File("model"), layout);
        Assert.Equal(["title"], g.TextFields);
        Assert.Equal(["text_lm"], g.VectorSets);
        Assert.Equal(f.Vocabulary.Size, g.Vocabulary.Size);
        Assert.Equal(5, g.Vocabulary.Counts[2]);
        for (int i = 0; i < f.ItemCount; i++) Assert.Equal(f.TokenCount(i, 0), g.TokenCount(i, 0));
    }

    [Fact]
    public void Unknown_text_field_or_vector_set_is_a_data_error_naming_what_exists()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.Path));
        var e = Assert.Throws<DataFormatException>(() => ItemSageFeatures.Build(layout, new ItemSageFeatureOptions { TextFields = ["nope"] }));
        Assert.Contains("title, category", e.Message);
        e = Assert.Throws<DataFormatException>(() => ItemSageFeatures.Build(layout, new ItemSageFeatureOptions { VectorSets = ["clip"] }));
        Assert.Contains("image, text_lm", e.Message);
    }
}
