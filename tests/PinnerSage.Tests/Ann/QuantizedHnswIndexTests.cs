using PinnerSage.Ann;
using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Ann;

/// <summary>The int8-quantized HNSW index: recall against exact search on the floats, exact re-ranked distances, its
/// own file format (version, checksum, corruption), tombstones, allocation-free search.</summary>
public sealed class QuantizedHnswIndexTests(ITestOutputHelper output)
{
    private const int D = 40; // not a multiple of 32: the codes' zero padding is exercised

    private static HnswIndex Build(VectorMetric metric, int n, out float[] data) => AnnTestData.BuildHnsw(metric, n, D, out data);

    [Theory]
    [InlineData(VectorMetric.Cosine)]
    [InlineData(VectorMetric.InnerProduct)]
    [InlineData(VectorMetric.L2)]
    public void RecallAgainstExactSearchOnTheFloats(VectorMetric metric)
    {
        const int n = 4000;
        HnswIndex floatIndex = Build(metric, n, out float[] data);
        using QuantizedHnswIndex index = floatIndex.Quantize();
        float[] queries = AnnTestData.Clustered(100, D, clusters: 40, seed: 1001);
        if (metric == VectorMetric.InnerProduct) AnnTestData.NormalizeRows(queries, D);
        double recall = AnnTestData.RecallAtK(index, metric, data, n, D, queries, 10, 64);
        double floatRecall = AnnTestData.RecallAtK(floatIndex, data, n, D, queries, 10, 64);
        output.WriteLine($"{metric}: int8 recall@10 = {recall:F4}, float {floatRecall:F4}");
        Assert.Equal(n, index.Count);
        // d = 40 clustered data is harder than the float tests' d = 32 (the float index itself reaches ≈ 0.93 here).
        Assert.True(recall >= 0.9, $"recall@10 {recall:F4} < 0.9");
        Assert.True(recall >= floatRecall - 0.02, $"int8 recall {recall:F4} far below the float index's {floatRecall:F4}");
        // Re-ranking every ef candidate finds at least what re-ranking the 2·k nearest estimates finds, minus noise.
        index.RerankFactor = 0;
        double all = AnnTestData.RecallAtK(index, metric, data, n, D, queries, 10, 64);
        output.WriteLine($"{metric}: int8 recall@10 re-ranking all ef = {all:F4}");
        Assert.True(all >= recall - 0.005);
        Assert.Throws<ArgumentOutOfRangeException>(() => index.RerankFactor = -1);
    }

    [Theory]
    [InlineData(VectorMetric.Cosine)]
    [InlineData(VectorMetric.L2)]
    public void DistancesAreExactAndSorted(VectorMetric metric)
    {
        HnswIndex floatIndex = Build(metric, 1000, out float[] data);
        using QuantizedHnswIndex index = floatIndex.Quantize();
        var found = new Neighbor[20];
        var exact = new Neighbor[20];
        for (int q = 0; q < 20; q++)
        {
            ReadOnlySpan<float> query = data.AsSpan(q * 37 * D, D);
            int got = index.Search(query, 20, 64, null, found);
            Assert.Equal(20, got);
            Assert.Equal(q * 37, found[0].Label);
            for (int i = 0; i < got; i++)
            {
                Assert.Equal(AnnTestData.Distance(metric, data.AsSpan(found[i].Label * D, D), query), found[i].Distance, 1e-3);
                if (i > 0) Assert.True(found[i - 1].Distance <= found[i].Distance);
            }
            // Where both find the same item, the distance is the float index's to the bit (same kernel, same stored rows).
            int floatGot = floatIndex.Search(query, 20, 64, exact);
            for (int i = 0; i < got; i++)
                for (int j = 0; j < floatGot; j++)
                    if (exact[j].Label == found[i].Label) Assert.Equal(exact[j].Distance, found[i].Distance);
        }
    }

    [Fact]
    public void SaveLoadGivesIdenticalResultsWithMappedFloats()
    {
        using var dir = new TempDir();
        HnswIndex floatIndex = Build(VectorMetric.Cosine, 1500, out float[] data);
        floatIndex.SetItemIds(Enumerable.Range(0, 1500).Select(i => $"item{i}").ToArray());
        Assert.True(floatIndex.Delete(3));
        using QuantizedHnswIndex index = floatIndex.Quantize();
        string path = dir.File("x.hnswq");
        index.Save(path);
        Assert.True(QuantizedHnswIndex.IsQuantizedFile(path));
        using QuantizedHnswIndex loaded = QuantizedHnswIndex.Load(path);
        Assert.False(index.FloatsMapped);
        Assert.True(loaded.FloatsMapped);
        Assert.Equal(index.Count, loaded.Count);
        Assert.Equal(1499, loaded.Count);
        Assert.Equal(index.MaxLevel, loaded.MaxLevel);
        Assert.Equal("item42", loaded.ItemIds![42]);
        Assert.Equal(4L * 1500 * D, loaded.FloatBytes);
        var a = new Neighbor[10];
        var b = new Neighbor[10];
        for (int q = 0; q < 50; q++)
        {
            int ga = index.Search(data.AsSpan(q * D, D), 10, 48, null, a);
            int gb = loaded.Search(data.AsSpan(q * D, D), 10, 48, null, b);
            Assert.Equal(a.AsSpan(0, ga).ToArray(), b.AsSpan(0, gb).ToArray());
            Assert.DoesNotContain(3, b.AsSpan(0, gb).ToArray().Select(x => x.Label));
        }
        // Saving the loaded (mapped) index writes the same bytes.
        string again = dir.File("y.hnswq");
        loaded.Save(again);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    [Fact]
    public void TruncatedOrCorruptedFilesGiveClearErrors()
    {
        using var dir = new TempDir();
        using QuantizedHnswIndex index = Build(VectorMetric.Cosine, 500, out _).Quantize();
        string path = dir.File("x.hnswq");
        index.Save(path);
        byte[] good = File.ReadAllBytes(path);
        // Bit flips in the header's padding, the codes block, the labels, the float rows and the checksum itself.
        AnnTestData.AssertCorruptionDetected(dir, good, bad => QuantizedHnswIndex.Load(bad).Dispose(),
                                             [120, 300, good.Length / 3, good.Length / 2, good.Length - 20, good.Length - 3], output);
        // A float index is not a quantized one, and the other way round.
        string floatPath = dir.File("f.hnsw");
        Build(VectorMetric.Cosine, 100, out _).Save(floatPath);
        Assert.False(QuantizedHnswIndex.IsQuantizedFile(floatPath));
        Assert.Equal("magic", Assert.Throws<DataFormatException>(() => QuantizedHnswIndex.Load(floatPath)).Field);
        Assert.Equal("magic", Assert.Throws<DataFormatException>(() => HnswIndex.Load(path)).Field);
    }

    [Fact]
    public void SmallAndEmptyIndexesReturnWhatTheyHold()
    {
        var empty = new HnswIndex(D, new HnswOptions());
        using QuantizedHnswIndex q0 = empty.Quantize();
        var found = new Neighbor[5];
        Assert.Equal(0, q0.Search(new float[D], 5, found));
        using var dir = new TempDir();
        q0.Save(dir.File("e.hnswq"));
        using QuantizedHnswIndex e = QuantizedHnswIndex.Load(dir.File("e.hnswq"));
        Assert.Equal(0, e.Search(new float[D], 5, found));

        using QuantizedHnswIndex three = Build(VectorMetric.L2, 3, out float[] data).Quantize();
        Assert.Equal(3, three.Search(data.AsSpan(0, D), 5, found));
        Assert.Equal(0, found[0].Label);
        Assert.Throws<ArgumentException>(() => three.Search(new float[D + 1], 5, found));
        Assert.Throws<ArgumentOutOfRangeException>(() => three.Search(new float[D], 6, found));
        Assert.Throws<ArgumentOutOfRangeException>(() => three.Search(new float[D], 5, 0, null, found));
        // Past 65,536 dimensions the int32 code dot product could overflow.
        var wide = new HnswIndex(QuantizedHnswIndex.MaxDimension + 1, new HnswOptions());
        Assert.Throws<InvalidOperationException>(() => wide.Quantize());
    }

    [Fact]
    public void WarmSearchAllocatesNothing()
    {
        using QuantizedHnswIndex index = Build(VectorMetric.Cosine, 2000, out float[] data).Quantize();
        using QuantizedHnswIndex l2 = Build(VectorMetric.L2, 500, out _).Quantize();
        var found = new Neighbor[10];
        SearchFilter filter = SearchFilter.Excluding([1, 2, 3]);
        Assert.Equal(0, Allocations.BestOf(() =>
        {
            for (int q = 0; q < 200; q++)
            {
                index.Search(data.AsSpan(q * D, D), 10, 64, filter, found);
                l2.Search(data.AsSpan(q * D, D), 10, 64, null, found);
            }
        }));
    }

    [Fact]
    public void QuantizerRoundTripsWithinHalfAStep()
    {
        float[] data = AnnTestData.Clustered(300, D, clusters: 5, seed: 2);
        ScalarQuantizer quantizer = ScalarQuantizer.Train(data, 300, D);
        var codes = new byte[D];
        for (int i = 0; i < 300; i++)
        {
            quantizer.Encode(data.AsSpan(i * D, D), codes);
            for (int j = 0; j < D; j++)
                Assert.True(Math.Abs(quantizer.Min[j] + quantizer.Step[j] * codes[j] - data[i * D + j]) <= quantizer.Step[j] * 0.5001 + 1e-6);
        }
        // The folded query reproduces x·q up to the two roundings.
        float[] q = AnnTestData.Clustered(1, D, clusters: 1, seed: 3);
        var r = new sbyte[D];
        (float scale, float offset) = quantizer.EncodeQuery(q, new float[D], r);
        quantizer.Encode(data.AsSpan(0, D), codes);
        double estimate = offset + scale * Int8Kernels.DotScalar(ref codes[0], ref r[0], D);
        double exact = 0;
        for (int j = 0; j < D; j++) exact += data[j] * q[j];
        Assert.Equal(exact, estimate, Math.Abs(exact) * 0.05 + 0.5);
    }
}
