using PinnerSage.IO;
using PinnerSage.Tests.Cli;
using Xunit.Abstractions;

namespace PinnerSage.Tests.IO;

/// <summary>Runs the real <c>pinnersage</c> assembly (copied beside the tests) in a child process, so exit codes and
/// standard streams are exactly what a user sees.</summary>
public sealed class EmbeddingsCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private (int Code, string Out, string Err) Run(params string[] args)
    {
        (int code, string stdout, string stderr) = CliProcess.Run(args);
        output.WriteLine($"$ pinnersage {string.Join(' ', args)}\n{stdout}{stderr}(exit {code})");
        return (code, stdout, stderr);
    }

    [Fact]
    public void ImportWritesNpyAndIdsThenInfoValidates()
    {
        string text = _dir.File("v.tsv"), npy = _dir.File("E.npy");
        File.WriteAllText(text, "item_id\ta\tb\nx\t3\t4\ny\t0\t2\n");
        var (code, stdout, _) = Run("embeddings", "import", "--text", text, "--out", npy);
        Assert.Equal(0, code);
        Assert.Contains("2 × 2", stdout);
        using (var e = ItemEmbeddings.Load(npy))
        {
            Assert.Equal(["x", "y"], e.Ids);
            Assert.Equal(new float[] { 3, 4, 0, 2 }, e.Matrix.ToArray());
        }
        var info = Run("embeddings", "info", "--vectors", npy);
        Assert.Equal(0, info.Code);
        Assert.Contains("rows:        2", info.Out);
        Assert.Contains("dimension:   2", info.Out);
        Assert.Contains("min 2, mean 3.5, max 5", info.Out);
        Assert.Contains("validation:  ok", info.Out);
        Assert.Equal(["E.ids", "E.npy", "v.tsv"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void ImportCanNormalise()
    {
        string text = _dir.File("v.csv"), npy = _dir.File("U.npy");
        File.WriteAllText(text, "x,3,4\n");
        Assert.Equal(0, Run("embeddings", "import", "--text", text, "--out", npy, "--normalize").Code);
        Assert.Equal(new float[] { 0.6f, 0.8f }, Npy.ReadFloat32(npy, out _, out _));
        Assert.Contains("(unit-norm)", Run("embeddings", "info", "--vectors", npy).Out);
    }

    [Fact]
    public void ImportOfBadTextFailsWithFileLineAndNoOutput()
    {
        string text = _dir.File("bad.csv"), npy = _dir.File("B.npy");
        File.WriteAllText(text, "x,1,2\ny,1,oops\n");
        var (code, _, err) = Run("embeddings", "import", "--text", text, "--out", npy);
        Assert.Equal(2, code);
        Assert.Contains($"error: {text}:2: field 'column 3': expected a number, got 'oops'", err);
        Assert.False(File.Exists(npy));
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void InfoReportsNaNAndZeroRowsAndFails()
    {
        string npy = _dir.File("n.npy");
        Npy.Write(npy, new float[] { 1, 2, float.NaN, 0, 0, 0, 0, 0, 5 }, 3, 3);
        var (code, stdout, err) = Run("embeddings", "info", "--vectors", npy);
        Assert.Equal(2, code);
        Assert.Contains("non-finite:  1 rows", stdout);
        Assert.Contains("zero:        1 rows", stdout);
        Assert.Contains("validation:  FAILED", stdout);
        Assert.Contains($"{npy}:1: field 'column 3'", err);
    }

    [Fact]
    public void InfoOnANonNpyFileFailsClearly()
    {
        string npy = _dir.File("x.npy");
        File.WriteAllText(npy, "hello, world");
        var (code, _, err) = Run("embeddings", "info", "--vectors", npy);
        Assert.Equal(2, code);
        Assert.Contains("bad magic", err);
        var missing = Run("embeddings", "info", "--vectors", _dir.File("none.npy"));
        Assert.Equal(4, missing.Code);
        Assert.StartsWith("error:", missing.Err);
    }

    [Fact]
    public void ExportWritesText()
    {
        string npy = _dir.File("e.npy"), tsv = _dir.File("e.tsv");
        using (var e = ItemEmbeddings.FromArray(["a", "b"], [1.5f, 2, 3, 4], 2)) e.Save(npy);
        Assert.Equal(0, Run("embeddings", "export", "--vectors", npy, "--text", tsv).Code);
        Assert.Equal(["item_id\tv1\tv2", "a\t1.5\t2", "b\t3\t4"], File.ReadAllLines(tsv));
    }

    [Fact]
    public void InfoReportsActionCoverage()
    {
        string npy = _dir.File("e.npy"), actions = _dir.File("a.tsv");
        using (var e = ItemEmbeddings.FromArray(["a", "b"], [1, 0, 0, 1], 2)) e.Save(npy);
        File.WriteAllText(actions, "user_id\titem_id\ttimestamp\nu\ta\t1\nu\tz\t2\n");
        var (code, stdout, _) = Run("embeddings", "info", "--vectors", npy, "--actions", actions);
        Assert.Equal(0, code);
        Assert.Contains("actions:     2 from 1 users", stdout);
        Assert.Contains("1 (50.0%) have a vector", stdout);
        Assert.Contains("unknown:     1 actions on 1 item ids without a vector (first on line 3; e.g. z)", stdout);
        File.WriteAllText(actions, "user_id\titem_id\ttimestamp\nu\ta\tsoon\n");
        var bad = Run("embeddings", "info", "--vectors", npy, "--actions", actions);
        Assert.Equal(2, bad.Code);
        Assert.Contains($"{actions}:2: field 'timestamp'", bad.Err);
    }

    [Fact]
    public void ImportRequiresNpyOutput()
    {
        string text = _dir.File("v.csv");
        File.WriteAllText(text, "x,3,4\n");
        Assert.Equal(3, Run("embeddings", "import", "--text", text, "--out", _dir.File("E.bin")).Code);
    }
}
