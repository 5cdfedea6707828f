using PinnerSage.IO;
using PinnerSage.ItemSage.Model;
using static PinnerSage.Tests.ItemSage.Model.GradientCheck;

namespace PinnerSage.Tests.ItemSage.Model;

/// <summary>Both towers end to end: finite differences over every parameter, masks, determinism, persistence.</summary>
public sealed class ItemSageTowerTests
{
    internal static readonly ItemSageModelOptions Small = new()
    {
        VocabularySize = 40, TextFields = 3, ImageDim = 6, MaxImages = 3, HashRows = 13, HashDim = 8, DModel = 8,
        Heads = 2, Layers = 2, FfnDim = 12, Dropout = 0.2f, HeadHidden = 10, OutputDim = 5, Seed = 3,
    };

    internal static ItemFeatureBatch RandomBatch(ItemSageModelOptions o, int count, int seed)
    {
        var random = new Random(seed);
        var batch = new ItemFeatureBatch(count, o.TextFields, o.MaxImages, o.ImageDim) { Count = count };
        int t = 0;
        for (int b = 0; b < count; b++)
        {
            for (int f = 0; f < o.TextFields; f++)
            {
                batch.TokenOffsets[b * o.TextFields + f] = t;
                int len = random.Next(0, 4); // 0 = an empty, masked field
                if (t + len > batch.Tokens.Length) batch.Tokens = [.. batch.Tokens, .. new int[64]];
                for (int k = 0; k < len; k++) batch.Tokens[t++] = random.Next(o.VocabularySize);
            }
            batch.ImageCount[b] = o.ImageDim > 0 ? random.Next(0, o.MaxImages + 1) : 0;
            // Which sets are present: a random increasing subset (missing sets are skipped, as ItemSageFeatures does).
            int[] sets = [.. Enumerable.Range(0, o.MaxImages).OrderBy(_ => random.Next()).Take(batch.ImageCount[b]).Order()];
            sets.CopyTo(batch.ImageSet, b * o.MaxImages);
            for (int j = 0; j < o.MaxImages * o.ImageDim; j++)
                batch.Images[b * o.MaxImages * o.ImageDim + j] = (float)(random.NextDouble() * 2 - 1);
        }
        batch.TokenOffsets[count * o.TextFields] = t;
        return batch;
    }

    private static IItemTower Create(bool transformer, ItemSageModelOptions o) =>
        transformer ? ItemSageTower.Create(ItemSageTowerKind.Transformer, o) : ItemSageTower.Create(ItemSageTowerKind.MlpConcat, o);

    [Theory]
    [InlineData(true, 2, true, false)]
    [InlineData(true, 1, false, false)]
    [InlineData(true, 1, true, true)]
    [InlineData(false, 1, false, false)]
    [InlineData(false, 1, false, true)]
    public void EveryParameterGradientMatchesFiniteDifferences(bool transformer, int layers, bool training, bool perSet)
    {
        var o = Small with { Layers = layers, ProjectionPerVectorSet = perSet };
        IItemTower tower = Create(transformer, o);
        // Move the parameters off their initial values (unit gains, zero biases) so every path is exercised.
        var random = new Random(4);
        for (int i = 0; i < tower.Parameters.Length; i++) tower.Parameters[i] += (float)((random.NextDouble() - 0.5) * 0.2);
        ItemFeatureBatch batch = RandomBatch(o, 5, 5);
        float[] r = RandomVector(random, 5 * o.OutputDim), y = new float[5 * o.OutputDim];
        double Loss()
        {
            tower.Forward(batch, y, training, 99);
            return Dot(r, y);
        }
        Loss();
        tower.ZeroGradients();
        tower.Backward(r);
        Check("tower", tower.Parameters, 0, tower.Gradients, Loss);
        // Only touched rows of the sparse tables carry gradient.
        foreach (SparseTable table in tower.TouchedRows.Tables)
        {
            Assert.True(table.TouchedCount > 0);
            for (int row = 0; row < table.Rows; row++)
                if (!table.IsTouched(row))
                    Assert.All(tower.Gradients.AsSpan(table.Offset + row * table.RowLength, table.RowLength).ToArray(), g => Assert.Equal(0f, g));
        }
        // ZeroGradients clears everything, sparse rows included.
        tower.ZeroGradients();
        Assert.All(tower.Gradients, g => Assert.Equal(0f, g));
        Assert.All(tower.TouchedRows.Tables, t => Assert.Equal(0, t.TouchedCount));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MaskedInputsDoNotChangeTheOutput(bool transformer)
    {
        IItemTower tower = Create(transformer, Small);
        ItemFeatureBatch batch = RandomBatch(Small, 6, 6);
        var before = new float[6 * Small.OutputDim];
        tower.Forward(batch, before, training: false, 0);
        for (int b = 0; b < 6; b++)
            for (int j = batch.ImageCount[b]; j < Small.MaxImages; j++)
                for (int k = 0; k < Small.ImageDim; k++) batch.Images[(b * Small.MaxImages + j) * Small.ImageDim + k] = 1e6f;
        var after = new float[before.Length];
        tower.Forward(batch, after, training: false, 0);
        Assert.Equal(before, after);
        for (int b = 0; b < 6; b++)
        {
            double norm = 0;
            for (int j = 0; j < Small.OutputDim; j++) norm += after[b * Small.OutputDim + j] * (double)after[b * Small.OutputDim + j];
            Assert.Equal(1.0, Math.Sqrt(norm), 5);
        }
    }

    [Fact]
    public void ForwardIsDeterministicGivenSeeds()
    {
        ItemFeatureBatch batch = RandomBatch(Small, 7, 7);
        var a = new float[7 * Small.OutputDim];
        var b = new float[a.Length];
        var c = new float[a.Length];
        ItemSageTower.Create(ItemSageTowerKind.Transformer, Small).Forward(batch, a, training: true, 5);
        IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, Small);
        tower.Forward(batch, b, training: true, 5);
        Assert.Equal(a, b);
        tower.Forward(batch, c, training: true, 6);
        Assert.NotEqual(a, c);          // a different dropout seed draws other masks
        tower.Forward(batch, b, training: false, 5);
        tower.Forward(batch, c, training: false, 6);
        Assert.Equal(b, c);             // no dropout at inference
        Assert.NotEqual(ItemSageTower.Create(ItemSageTowerKind.Transformer, Small with { Seed = 4 }).Parameters, tower.Parameters);
    }

    [Fact]
    public void ForwardAndBackwardAreBitwiseIdenticalForAnyThreadCount()
    {
        // Large enough that the first layer's GEMMs (448 rows × 128 × 64) go parallel.
        var o = Small with { DModel = 64, Heads = 4, FfnDim = 128, HashDim = 16, HeadHidden = 48, OutputDim = 16 };
        const int count = 64;
        ItemFeatureBatch batch = RandomBatch(o, count, 10);
        var dy = RandomVector(new Random(11), count * o.OutputDim);
        (float[] Y, float[] G) Run(int threads)
        {
            IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, o);
            tower.Threads = threads;
            var y = new float[count * o.OutputDim];
            tower.Forward(batch, y, training: true, 12);
            tower.Backward(dy);
            return (y, tower.Gradients);
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Y, two.Y);
        Assert.Equal(one.G, two.G);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ItemsAreIndependentOfTheirBatch(int layers)
    {
        IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, Small with { Dropout = 0, Layers = layers });
        ItemFeatureBatch batch = RandomBatch(Small, 8, 8);
        var all = new float[8 * Small.OutputDim];
        tower.Forward(batch, all, training: false, 0);
        batch.Count = 3;
        var few = new float[3 * Small.OutputDim];
        tower.Forward(batch, few, training: false, 0);
        for (int i = 0; i < few.Length; i++) Assert.Equal(all[i], few[i], 5);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SaveLoadRoundTripsAndRejectsDamage(bool transformer)
    {
        using var dir = new TempDir();
        IItemTower perSet = Create(transformer, Small with { ProjectionPerVectorSet = true });
        perSet.Save(dir.File("per-set.bin"));
        IItemTower perSetLoaded = ItemSageTower.Load(dir.File("per-set.bin"));
        Assert.Equal(perSet.Options, perSetLoaded.Options);
        Assert.Equal(perSet.Parameters, perSetLoaded.Parameters);
        File.Delete(dir.File("per-set.bin"));
        IItemTower tower = Create(transformer, Small);
        string path = dir.File("model.bin");
        tower.Save(path);
        IItemTower loaded = ItemSageTower.Load(path);
        Assert.Equal(tower.Options, loaded.Options);
        Assert.Equal(tower.Parameters, loaded.Parameters);
        Assert.Equal(tower.GetType(), loaded.GetType());
        Assert.Single(Directory.GetFiles(dir.Path)); // no temp file left behind

        byte[] bytes = File.ReadAllBytes(path);
        bytes[200] ^= 1;
        File.WriteAllBytes(dir.File("flipped.bin"), bytes);
        Assert.Throws<DataFormatException>(() => ItemSageTower.Load(dir.File("flipped.bin")));
        File.WriteAllBytes(dir.File("short.bin"), bytes[..^9]);
        Assert.Throws<DataFormatException>(() => ItemSageTower.Load(dir.File("short.bin")));
        File.WriteAllText(dir.File("text.bin"), "hello");
        Assert.Throws<DataFormatException>(() => ItemSageTower.Load(dir.File("text.bin")));
    }

    [Fact]
    public void TextOnlyAndImageOnlyTowersWork()
    {
        foreach (var o in new[] { Small with { ImageDim = 0 }, Small with { TextFields = 0 } })
        {
            ItemFeatureBatch batch = RandomBatch(o, 4, 9);
            foreach (IItemTower tower in new[] { ItemSageTower.Create(ItemSageTowerKind.Transformer, o), ItemSageTower.Create(ItemSageTowerKind.MlpConcat, o) })
            {
                var y = new float[4 * o.OutputDim];
                tower.Forward(batch, y, training: true, 1);
                Assert.All(y, v => Assert.True(float.IsFinite(v)));
                tower.Backward(y);
                Assert.All(tower.Gradients, v => Assert.True(float.IsFinite(v)));
            }
        }
    }

    [Fact]
    public void BadBatchesAndOptionsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => ItemSageTower.Create(ItemSageTowerKind.Transformer, Small with { Heads = 3 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ItemSageTower.Create(ItemSageTowerKind.Transformer, Small with { Layers = 0 }));
        Assert.Throws<ArgumentException>(() => ItemSageTower.Create(ItemSageTowerKind.Transformer, Small with { TextFields = 0, ImageDim = 0 }));
        IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, Small);
        ItemFeatureBatch batch = RandomBatch(Small, 2, 1);
        batch.Tokens[0] = Small.VocabularySize;
        batch.TokenOffsets[0] = 0;
        batch.TokenOffsets[1] = Math.Max(1, batch.TokenOffsets[1]);
        Assert.Throws<ArgumentException>(() => tower.Forward(batch, new float[2 * Small.OutputDim], false, 0));
    }
}
