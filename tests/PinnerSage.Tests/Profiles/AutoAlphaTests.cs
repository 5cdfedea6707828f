using System.Numerics.Tensors;
using PinnerSage.Clustering;
using PinnerSage.IO;
using PinnerSage.Profiles;

namespace PinnerSage.Tests.Profiles;

/// <summary>--alpha auto: SuggestAlpha with a fixed sample and seed on the (normalised) catalogue, deterministic.</summary>
public sealed class AutoAlphaTests
{
    private static ItemEmbeddings Catalogue(int n, int d, int seed, float scale = 3f)
    {
        float[] x = Clustering.ClusteringTestData.Vectors(n, d, seed);
        for (int i = 0; i < x.Length; i++) x[i] *= scale; // not unit norm, so normalising matters
        return ItemEmbeddings.FromArray(Enumerable.Range(0, n).Select(i => $"i{i}").ToArray(), x, d);
    }

    [Fact]
    public void EqualsSuggestAlphaOnTheNormalisedCatalogueWithTheFixedSampleAndSeed()
    {
        using ItemEmbeddings items = Catalogue(300, 12, 1);
        float[] normalised = items.Matrix.ToArray();
        for (int i = 0; i < items.Count; i++)
        {
            Span<float> row = normalised.AsSpan(i * items.Dimension, items.Dimension);
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row); // as UserProfileBuilder normalises
        }
        Assert.Equal(WardClustering.SuggestAlpha(normalised, items.Dimension, AutoAlpha.SamplePairs, AutoAlpha.Seed),
                     AutoAlpha.Resolve(items, normalizeVectors: true));
        Assert.Equal(WardClustering.SuggestAlpha(items.Matrix, items.Dimension, AutoAlpha.SamplePairs, AutoAlpha.Seed),
                     AutoAlpha.Resolve(items, normalizeVectors: false));
        Assert.NotEqual(AutoAlpha.Resolve(items, true), AutoAlpha.Resolve(items, false));
    }

    [Fact]
    public void IsDeterministicAcrossLoadsAndFileRoundTrips()
    {
        using var dir = new TempDir();
        using ItemEmbeddings items = Catalogue(500, 16, 2);
        items.Save(dir.File("e.npy"));
        using ItemEmbeddings loaded = ItemEmbeddings.Load(dir.File("e.npy"));
        using ItemEmbeddings mapped = ItemEmbeddings.Load(dir.File("e.npy"), null,
            new EmbeddingsLoadOptions { MemoryMap = MemoryMapMode.Always });
        double alpha = AutoAlpha.Resolve(items, true);
        Assert.Equal(alpha, AutoAlpha.Resolve(items, true));
        Assert.Equal(alpha, AutoAlpha.Resolve(loaded, true));
        Assert.Equal(alpha, AutoAlpha.Resolve(mapped, true));
        Assert.True(alpha > 0);
    }

    [Fact]
    public void NearOrthogonalUnitVectorsResolveToTheUnitNormDefault()
    {
        const int n = 2000, d = 256;
        var random = new Random(5);
        float[] x = new float[n * d];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        using ItemEmbeddings items = ItemEmbeddings.FromArray(Enumerable.Range(0, n).Select(i => $"i{i}").ToArray(), x, d);
        Assert.InRange(AutoAlpha.Resolve(items, true), 0.97 * ProfileOptions.DefaultAlpha, 1.03 * ProfileOptions.DefaultAlpha);
    }

    [Fact]
    public void ACatalogueOfOneItemGetsTheDefault()
    {
        using ItemEmbeddings one = ItemEmbeddings.FromArray(["a"], [1f, 0f], 2);
        Assert.Equal(ProfileOptions.DefaultAlpha, AutoAlpha.Resolve(one, true));
    }
}
