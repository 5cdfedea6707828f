using PinnerSage.IO;

namespace PinnerSage.Tests.IO;

public sealed class TextVectorsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string text)
    {
        string path = _dir.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    private DataFormatException Error(string name, string text, EmbeddingsLoadOptions? options = null)
    {
        string path = Write(name, text);
        var e = Assert.Throws<DataFormatException>(() => TextVectors.Read(path, options));
        Assert.Equal(path, e.File);
        return e;
    }

    [Theory]
    [InlineData("v.tsv", "item_id\tx\ty\na\t1\t2\nb\t3\t-4.5e1\n")]
    [InlineData("v.csv", "id,x,y\r\n\"a\",1,2\r\nb,3,-45\r\n")]
    [InlineData("v.csv", "a,1,2\nb,3,-45\n")]
    [InlineData("v.txt", "a\t1\t2\n\nb\t3\t-45")]
    [InlineData("v.txt", "2 2\na 1 2\nb  3 -45\n")]
    [InlineData("v.vec", "a,1,2\nb,3,-45\n")]
    public void ReadsSeparatorsHeadersAndQuotes(string name, string text)
    {
        using var e = TextVectors.Read(Write(name, text));
        Assert.Equal(["a", "b"], e.Ids);
        Assert.Equal(new float[] { 1, 2, 3, -45 }, e.Matrix.ToArray());
    }

    [Fact]
    public void BadNumberNamesLineAndHeaderColumn()
    {
        var e = Error("v.tsv", "item_id\tx\ty\na\t1\t2\nb\t3\tfoo\n");
        Assert.Equal((3L, "y"), (e.Line, e.Field));
        Assert.Contains("'foo'", e.Message);
        var e2 = Error("v.csv", "a,1,2\nb,x,2\n");
        Assert.Equal((2L, "column 2"), (e2.Line, e2.Field));
    }

    [Fact]
    public void MixedFirstLineIsAnError()
    {
        var e = Error("v.csv", "a,1,zz\nb,1,2\n");
        Assert.Equal((1L, "column 3"), (e.Line, e.Field));
    }

    [Fact]
    public void RaggedRowIsAnError()
    {
        var e = Error("v.csv", "a,1,2\nb,1,2,3\n");
        Assert.Equal(2L, e.Line);
        Assert.Contains("ragged", e.Message);
        var h = Error("v.csv", "id,x,y,z\na,1,2\n");
        Assert.Contains("header has 4", h.Message);
    }

    [Fact]
    public void NonFiniteValuesAreErrors()
    {
        Assert.Equal((2L, "column 3"), (Error("v.csv", "a,1,2\nb,1,NaN\n") is var e ? (e.Line, e.Field) : default));
        Assert.Contains("overflow", Error("v.csv", "a,1,2\nb,1,1e39\n").Message);
        Assert.Equal(1L, Error("v.csv", "a,-Infinity,2\n").Line);
    }

    [Fact]
    public void ZeroVectorIsAnErrorUnlessAllowed()
    {
        var e = Error("v.csv", "a,1,2\nb,0,0\n");
        Assert.Equal(2L, e.Line);
        Assert.Contains("zero vector", e.Message);
        using var ok = TextVectors.Read(_dir.File("v.csv"), new EmbeddingsLoadOptions { AllowZeroVectors = true });
        Assert.Equal(2, ok.Count);
    }

    [Fact]
    public void DuplicateAndEmptyIdsAreErrors()
    {
        var e = Error("v.csv", "id,x\na,1\nb,2\na,3\n");
        Assert.Equal((4L, "item_id"), (e.Line, e.Field));
        Assert.Contains("first on line 2", e.Message);
        Assert.Equal(2L, Error("v.csv", "a,1\n,2\n").Line);
    }

    [Fact]
    public void DimensionMismatchAndEmptyFileAreErrors()
    {
        Assert.Contains("dimension 2, expected 3", Error("v.csv", "a,1,2\n", new EmbeddingsLoadOptions { ExpectedDimension = 3 }).Message);
        Assert.Contains("no vectors", Error("v.csv", "id,x\n").Message);
    }

    [Fact]
    public void WriteThenReadRoundTripsExactly()
    {
        var rng = new Random(3);
        float[] data = new float[40 * 7];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() - 0.5) * MathF.Pow(10, rng.Next(-20, 20));
        string[] ids = Enumerable.Range(0, 40).Select(i => $"item-{i}").ToArray();
        using var e = ItemEmbeddings.FromArray(ids, (float[])data.Clone(), 7);
        foreach (string name in new[] { "out.tsv", "out.csv" })
        {
            TextVectors.Write(_dir.File(name), e);
            using var back = TextVectors.Read(_dir.File(name));
            Assert.Equal(ids, back.Ids);
            Assert.Equal(data, back.Matrix.ToArray());
        }
    }
}
