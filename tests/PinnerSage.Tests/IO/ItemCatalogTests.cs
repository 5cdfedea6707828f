using System.Text;
using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.IO;

public sealed class ItemCatalogTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string text)
    {
        string path = _dir.File("items.tsv");
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    [Fact]
    public void ReadsFieldsByHeaderNameAndTitle()
    {
        string path = Write("\uFEFFitem_id\tbrand\ttitle\r\ni1\tAcme\tCafé crème\r\n\r\ni2\t\tSecond\r\n");
        var c = ItemCatalog.Load(path);
        Assert.Equal(["item_id", "brand", "title"], c.Columns);
        Assert.Equal(2, c.Count);
        Assert.Equal("Café crème", c.Title("i1"));
        Assert.Equal("", c.Field("i2", "brand"));
        Assert.Equal("Acme", c.Field(0, 1));
        Assert.Equal("i2", c.Field(1, 0));
        Assert.Null(c.Title("nope"));
        Assert.Null(c.Field("i1", "nope"));
        Assert.True(c.TryGetRow("i2".AsSpan(), out int row));
        Assert.Equal(1, row);
    }

    [Fact]
    public void TitleFallsBackToTheFirstTextField()
    {
        var c = ItemCatalog.Load(Write("item_id\ttext\tother\na\thello\tx"));
        Assert.Equal("hello", c.Title("a"));
        var ids = ItemCatalog.Load(Write("item_id\nq\n"));
        Assert.Equal("q", ids.Title("q"));
    }

    [Fact]
    public void WrongFieldCountIsAnErrorNamingTheLine()
    {
        var e = Assert.Throws<DataFormatException>(() => ItemCatalog.Load(Write("item_id\ttitle\tbrand\na\tt\tb\nb\tt\n")));
        Assert.Equal((3L, "brand"), (e.Line, e.Field));
        Assert.Contains("2 fields, the header has 3", e.Message);
        var e2 = Assert.Throws<DataFormatException>(() => ItemCatalog.Load(Write("item_id\ttitle\na\tt\tx\n")));
        Assert.Equal(2L, e2.Line);
        Assert.Contains("more than the header's 2", e2.Message);
    }

    [Fact]
    public void DuplicateAndEmptyIdsAreErrors()
    {
        string path = Write("item_id\ttitle\na\tt\nb\tu\na\tv\n");
        var e = Assert.Throws<DataFormatException>(() => ItemCatalog.Load(path));
        Assert.Equal((path, 4L, "item_id"), (e.File, e.Line, e.Field));
        Assert.Contains("duplicate", e.Message);
        var e2 = Assert.Throws<DataFormatException>(() => ItemCatalog.Load(Write("item_id\ttitle\n\tt\n")));
        Assert.Equal((2L, "item_id"), (e2.Line, e2.Field));
    }

    [Fact]
    public void BadHeaderAndEmptyFileAreErrors()
    {
        var e = Assert.Throws<DataFormatException>(() => ItemCatalog.Load(Write("id\ttitle\na\tt\n")));
        Assert.Equal((1L, "item_id"), (e.Line, e.Field));
        Assert.Throws<DataFormatException>(() => ItemCatalog.Load(Write("")));
    }

    [Theory]
    [InlineData("amazon-beauty", 12_101, "title")]
    [InlineData("movielens-small", 9_742, "title")]
    [InlineData("amazon-scientific", 1_585, "text")]
    public void LoadsTheSharedDatasets(string dataset, int items, string titleColumn)
    {
        string? path = TestData.RequireDataset($"{dataset}/items.tsv", output);
        if (path is null) return;
        var c = ItemCatalog.Load(path);
        Assert.Equal(items, c.Count);
        string firstLine = File.ReadLines(path).Skip(1).First();
        string[] fields = firstLine.Split('\t');
        Assert.Equal(fields[c.IndexOfColumn(titleColumn)], c.Title(fields[0]));
        if (dataset == "movielens-small") Assert.Equal("Toy Story (1995)", c.Title("1"));
    }
}

public sealed class ItemCatalogPublicFormatsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadsMovieLensMoviesCsv()
    {
        string path = _dir.File("movies.csv");
        File.WriteAllText(path, "movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation\r\n11,\"American President, The (1995)\",Comedy|Drama|Romance\r\n12,\"Say \"\"Hi\"\" (2001)\",(no genres listed)\r\n");
        var c = ItemCatalog.Load(path);
        Assert.Equal(["item_id", "title", "genres"], c.Columns);
        Assert.Equal("American President, The (1995)", c.Title("11"));
        Assert.Equal("Say \"Hi\" (2001)", c.Title("12"));
        Assert.Equal("Comedy | Drama | Romance", c.Field("11", "genres"));
        File.WriteAllText(path, "movieId,title,genres\n1,a,b\n1,c,d\n");
        var e = Assert.Throws<DataFormatException>(() => ItemCatalog.Load(path));
        Assert.Equal(3L, e.Line);
        File.WriteAllText(path, "movieId,title,genres\n1,\"a,b\n");
        Assert.Equal(2L, Assert.Throws<DataFormatException>(() => ItemCatalog.Load(path)).Line);
    }

    [Fact]
    public void ReadsAmazonMetadataJsonLines()
    {
        string path = _dir.File("meta.json");
        File.WriteAllText(path, """
            {"asin": "0000031852", "title": "Girls Ballet\tTutu", "price": 3.17, "categories": [["Beauty", "Makeup"], ["Sports"]], "brand": "Coxlures"}
            {"parent_asin": "P1", "asin": "ignored", "title": "T", "category": ["A", "B"]}
            """);
        var c = ItemCatalog.Load(path);
        Assert.Equal(["item_id", "title", "brand", "categories", "price"], c.Columns);
        Assert.Equal("Girls Ballet Tutu", c.Title("0000031852"));
        Assert.Equal("Beauty | Makeup | Sports", c.Field("0000031852", "categories"));
        Assert.Equal("3.17", c.Field("0000031852", "price"));
        Assert.Equal("A | B", c.Field("P1", "categories"));
        File.WriteAllText(path, "{\"asin\": \"a\"}\n{\"asin\": \"a\"}\n");
        Assert.Equal(2L, Assert.Throws<DataFormatException>(() => ItemCatalog.Load(path)).Line);
        File.WriteAllText(path, "{\"asin\": \"a\"}\n{\"title\": \"x\"}\n");
        var missing = Assert.Throws<DataFormatException>(() => ItemCatalog.Load(path));
        Assert.Equal((2L, "asin"), (missing.Line, missing.Field));
        File.WriteAllText(path, "{\"asin\": \"a\"}\n{'asin': 'b'}\n");
        Assert.Equal(2L, Assert.Throws<DataFormatException>(() => ItemCatalog.Load(path)).Line);
    }
}
