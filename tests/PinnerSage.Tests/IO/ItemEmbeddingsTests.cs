using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.IO;

public sealed class ItemEmbeddingsTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private (string Npy, string Ids) Write(float[] data, int d, params string[]? ids)
    {
        string npy = _dir.File("e.npy");
        Npy.Write(npy, data, data.Length / d, d);
        string idsPath = _dir.File("e.ids");
        if (ids is not null) File.WriteAllText(idsPath, string.Join("\n", ids) + "\n");
        return (npy, idsPath);
    }

    private static float[] Table(int n, int d, int seed = 1)
    {
        var rng = new Random(seed);
        var a = new float[n * d];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    [Theory]
    [InlineData(MemoryMapMode.Never)]
    [InlineData(MemoryMapMode.Always)]
    [InlineData(MemoryMapMode.Auto)]
    public void LoadsVectorsAndIdsInRowOrder(MemoryMapMode mode)
    {
        float[] data = Table(4, 3);
        var (npy, ids) = Write(data, 3, "a", "b", "c", "d");
        using var e = ItemEmbeddings.Load(npy, ids, new EmbeddingsLoadOptions { MemoryMap = mode });
        Assert.Equal(mode == MemoryMapMode.Always, e.IsMemoryMapped);
        Assert.Equal((4, 3), (e.Count, e.Dimension));
        Assert.Equal(data, e.Matrix.ToArray());
        Assert.Equal("c", e.Id(2));
        Assert.True(e.TryGetRow("c".AsSpan(), out int row));
        Assert.Equal(2, row);
        Assert.Equal(data.AsSpan(6, 3).ToArray(), e.Vector(2).ToArray());
        Assert.False(e.TryGetRow("zz", out _));
    }

    [Fact]
    public void AutoMapsAtTheThreshold()
    {
        var (npy, _) = Write(Table(16, 4), 4, null);
        using var small = ItemEmbeddings.Load(npy, null, new EmbeddingsLoadOptions { MemoryMapThresholdBytes = 16 * 4 * 4 + 1 });
        using var large = ItemEmbeddings.Load(npy, null, new EmbeddingsLoadOptions { MemoryMapThresholdBytes = 16 * 4 * 4 });
        Assert.False(small.IsMemoryMapped);
        Assert.True(large.IsMemoryMapped);
        Assert.Equal(small.Matrix.ToArray(), large.Matrix.ToArray());
    }

    [Fact]
    public void DisposeReleasesTheMap()
    {
        var (npy, _) = Write(Table(8, 2), 2, null);
        var e = ItemEmbeddings.Load(npy, null, new EmbeddingsLoadOptions { MemoryMap = MemoryMapMode.Always });
        e.Dispose();
        e.Dispose();
        Assert.Throws<ObjectDisposedException>(() => e.Matrix.Length);
        // The file is no longer mapped, so it can be replaced and deleted.
        Npy.Write(npy, new float[] { 1, 1 }, 1, 2);
        File.Delete(npy);
    }

    [Fact]
    public void IdsDefaultToRowNumbersWhenNoIdsFileExists()
    {
        var (npy, _) = Write(Table(3, 2), 2, null);
        using var e = ItemEmbeddings.Load(npy);
        Assert.Equal(["0", "1", "2"], e.Ids);
        Assert.True(e.TryGetRow("2", out int r));
        Assert.Equal(2, r);
    }

    [Fact]
    public void IdsBesideTheNpyAreFoundByDefault()
    {
        var (npy, _) = Write(Table(2, 2), 2, "x", "y");
        using var e = ItemEmbeddings.Load(npy);
        Assert.Equal(["x", "y"], e.Ids);
    }

    [Fact]
    public void ExplicitIdsFileThatDoesNotExistIsAnError()
    {
        var (npy, _) = Write(Table(2, 2), 2, null);
        Assert.Throws<FileNotFoundException>(() => ItemEmbeddings.Load(npy, _dir.File("missing.ids")));
    }

    [Fact]
    public void NaNIsAnErrorNamingRowAndColumn()
    {
        float[] data = Table(3, 4);
        data[1 * 4 + 2] = float.NaN;
        var (npy, ids) = Write(data, 4, "a", "b", "c");
        var ex = Assert.Throws<DataFormatException>(() => ItemEmbeddings.Load(npy, ids));
        Assert.Equal(npy, ex.File);
        Assert.Equal(2, ex.Line);
        Assert.Equal("column 3", ex.Field);
        Assert.Contains("NaN", ex.Message);
    }

    [Theory]
    [InlineData(MemoryMapMode.Never)]
    [InlineData(MemoryMapMode.Always)]
    public void InfinityIsAnErrorNamingRowAndColumn(MemoryMapMode mode)
    {
        float[] data = Table(3, 4);
        data[2 * 4 + 0] = float.NegativeInfinity;
        var (npy, ids) = Write(data, 4, "a", "b", "c");
        var ex = Assert.Throws<DataFormatException>(() => ItemEmbeddings.Load(npy, ids, new EmbeddingsLoadOptions { MemoryMap = mode }));
        Assert.Equal((npy, 3L, "column 1"), (ex.File, ex.Line, ex.Field));
        Assert.Contains("Infinity", ex.Message);
    }

    [Fact]
    public void LargeFiniteValuesAreNotMistakenForInfinity()
    {
        float[] data = [3e38f, 3e38f, 1e-30f, 1e-30f];
        var (npy, _) = Write(data, 2, null);
        using var e = ItemEmbeddings.Load(npy, null, new EmbeddingsLoadOptions { Normalize = true });
        Assert.Equal(MathF.Sqrt(0.5f), e.Vector(0)[0], 6);
        Assert.Equal(MathF.Sqrt(0.5f), e.Vector(1)[1], 6);
    }

    [Fact]
    public void ZeroVectorIsAnErrorUnlessAllowed()
    {
        float[] data = Table(3, 4);
        Array.Clear(data, 4, 4);
        var (npy, ids) = Write(data, 4, "a", "b", "c");
        var ex = Assert.Throws<DataFormatException>(() => ItemEmbeddings.Load(npy, ids));
        Assert.Equal((npy, 2L, (string?)null), (ex.File, ex.Line, ex.Field));
        Assert.Contains("zero vector", ex.Message);
        using var e = ItemEmbeddings.Load(npy, ids, new EmbeddingsLoadOptions { AllowZeroVectors = true, Normalize = true });
        Assert.True(e.Vector(1).ToArray().All(v => v == 0));
    }

    [Fact]
    public void CountMismatchIsAnErrorNamingTheIdsFile()
    {
        var (npy, ids) = Write(Table(3, 2), 2, "a", "b");
        var ex = Assert.Throws<DataFormatException>(() => ItemEmbeddings.Load(npy, ids));
        Assert.Equal((ids, 0L), (ex.File, ex.Line));
        Assert.Contains("2 ids but", ex.Message);
        Assert.Contains("3 rows", ex.Message);
    }

    [Fact]
    public void DimensionMismatchIsAnError()
    {
        var (npy, _) = Write(Table(3, 2), 2, null);
        var ex = Assert.Throws<DataFormatException>(() => ItemEmbeddings.Load(npy, null, new EmbeddingsLoadOptions { ExpectedDimension = 3 }));
        Assert.Equal((npy, 0L, "shape"), (ex.File, ex.Line, ex.Field));
        Assert.Contains("dimension 2, expected 3", ex.Message);
        var ex2 = Assert.Throws<DataFormatException>(() =>
            ItemEmbeddings.FromArray(["a"], [1f, 2f], 2, new EmbeddingsLoadOptions { ExpectedDimension = 3 }));
        Assert.Contains("dimension 2, expected 3", ex2.Message);
    }

    [Fact]
    public void DuplicateIdIsAnErrorNamingBothLines()
    {
        var (npy, ids) = Write(Table(3, 2), 2, "a", "b", "a");
        var ex = Assert.Throws<DataFormatException>(() => ItemEmbeddings.Load(npy, ids));
        Assert.Equal((ids, 3L, "item_id"), (ex.File, ex.Line, ex.Field));
        Assert.Contains("duplicate item id 'a' (first on line 1)", ex.Message);
    }

    [Fact]
    public void EmptyIdIsAnErrorNamingTheLine()
    {
        string npy = _dir.File("e.npy"), ids = _dir.File("e.ids");
        Npy.Write(npy, Table(3, 2), 3, 2);
        File.WriteAllText(ids, "a\n\nc\n");
        var ex = Assert.Throws<DataFormatException>(() => ItemEmbeddings.Load(npy, ids));
        Assert.Equal((ids, 2L, "item_id"), (ex.File, ex.Line, ex.Field));
        Assert.Contains("empty", ex.Message);
    }

    [Fact]
    public void IdWithTabIsAnError()
    {
        string ids = _dir.File("t.ids");
        File.WriteAllText(ids, "a\nb\tc\n");
        var ex = Assert.Throws<DataFormatException>(() => IdsFile.Read(ids));
        Assert.Equal((ids, 2L, "item_id"), (ex.File, ex.Line, ex.Field));
    }

    [Theory]
    [InlineData("a\nb\nc")]
    [InlineData("a\nb\nc\n")]
    [InlineData("a\r\nb\r\nc\r\n")]
    [InlineData("\uFEFFa\nb\nc\n")]
    public void IdsFileLineEndsAndBomAreAccepted(string text)
    {
        string ids = _dir.File("x.ids");
        File.WriteAllText(ids, text);
        Assert.Equal(["a", "b", "c"], IdsFile.Read(ids));
    }

    [Fact]
    public void ASecondTrailingNewlineIsAnEmptyId()
    {
        string ids = _dir.File("x.ids");
        File.WriteAllText(ids, "a\nb\n\n");
        var ex = Assert.Throws<DataFormatException>(() => IdsFile.Read(ids));
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void NormalizedRowsHaveUnitNorm()
    {
        using var e = ItemEmbeddings.FromArray(["a", "b", "c"], Table(3, 5), 5);
        using var u = e.Normalized();
        for (int i = 0; i < 3; i++)
        {
            double norm = Math.Sqrt(u.Vector(i).ToArray().Sum(v => (double)v * v));
            Assert.Equal(1.0, norm, 6);
            double cos = 0;
            for (int j = 0; j < 5; j++) cos += u.Vector(i)[j] * e.Vector(i)[j];
            Assert.Equal(PinnerSage.Numerics.VectorNorms.L2(e.Vector(i)), cos, 5);
        }
        Assert.Same(e.Ids, e.Ids);
    }

    [Fact]
    public void FromArrayValidatesLikeLoad()
    {
        Assert.Throws<ArgumentException>(() => ItemEmbeddings.FromArray(["a"], new float[3], 2));
        var dup = Assert.Throws<DataFormatException>(() => ItemEmbeddings.FromArray(["a", "a"], [1, 2, 3, 4], 2, source: "mem"));
        Assert.Equal(("mem", 2L), (dup.File, dup.Line));
        var nan = Assert.Throws<DataFormatException>(() => ItemEmbeddings.FromArray(["a", "b"], [1, 2, 3, float.NaN], 2));
        Assert.Equal((2L, "column 2"), (nan.Line, nan.Field));
        var zero = Assert.Throws<DataFormatException>(() => ItemEmbeddings.FromArray(["a", "b"], [0, 0, 3, 4], 2));
        Assert.Equal(1L, zero.Line);
    }

    [Fact]
    public void SaveThenLoadRoundTrips()
    {
        float[] data = Table(5, 3);
        using var e = ItemEmbeddings.FromArray(["p", "q", "r", "s", "t"], (float[])data.Clone(), 3);
        string npy = _dir.File("out.npy");
        e.Save(npy);
        using var back = ItemEmbeddings.Load(npy);
        Assert.Equal(e.Ids, back.Ids);
        Assert.Equal(data, back.Matrix.ToArray());
        Assert.Equal(Path.ChangeExtension(npy, ".ids"), ItemEmbeddings.DefaultIdsPath(npy));
        Assert.Equal(2, Directory.GetFiles(_dir.Path).Length);
    }

    [Fact]
    public void TryGetRowDoesNotAllocate()
    {
        using var e = ItemEmbeddings.FromArray(["alpha", "beta", "gamma"], Table(3, 2), 2);
        const string text = "xxbetaxx";
        int found = 0;
        long allocated = Allocations.BestOf(() =>
        {
            found = 0;
            for (int i = 0; i < 1000; i++) found += e.TryGetRow(text.AsSpan(2, 4), out int r) ? r : 0;
        });
        Assert.Equal(0, allocated);
        Assert.Equal(1000, found);
    }

    [Theory]
    [InlineData("image")]
    [InlineData("text_lm")]
    public void LoadsAmazonScientificVectors(string name)
    {
        string? npy = TestData.RequireDataset($"amazon-scientific/vectors/{name}.npy", output);
        if (npy is null) return;
        using var e = ItemEmbeddings.Load(npy);
        Assert.Equal((1585, 512), (e.Count, e.Dimension));
        Assert.True(e.TryGetRow(e.Id(100), out int r));
        Assert.Equal(100, r);
        string[] ids = File.ReadAllLines(Path.ChangeExtension(npy, ".ids"));
        Assert.Equal(ids, e.Ids);
        using var mapped = ItemEmbeddings.Load(npy, null, new EmbeddingsLoadOptions { MemoryMap = MemoryMapMode.Always });
        Assert.True(mapped.Matrix.SequenceEqual(e.Matrix));
    }

    [Fact]
    public void RealVectorsMatchNumpyByteForByte()
    {
        string? npy = TestData.RequireDataset("amazon-scientific/vectors/text_lm.npy", output);
        if (npy is null || !TestData.RequirePython(output, "numpy")) return;
        var (code, stdout, err) = TestData.RunPython(
            "import sys, hashlib, numpy as np; a = np.load(sys.argv[1]); print(a.shape[0], a.shape[1], hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())",
            [npy]);
        Assert.True(code == 0, err);
        using var e = ItemEmbeddings.Load(npy, null, new EmbeddingsLoadOptions { MemoryMap = MemoryMapMode.Always });
        byte[] ours = System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(e.Matrix));
        Assert.Equal($"{e.Count} {e.Dimension} {Convert.ToHexStringLower(ours)}", stdout.Trim());
    }
}
