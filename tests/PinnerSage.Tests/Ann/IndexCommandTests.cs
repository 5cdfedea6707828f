using System.Text.Json;
using PinnerSage.IO;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.Ann;

/// <summary>`pinnersage index build|search` end to end through the built CLI.</summary>
public sealed class IndexCommandTests
{
    [Fact]
    public void BuildThenSearchWritesIdsPerQueryAndTiming()
    {
        using var dir = new TempDir();
        const int n = 600, d = 16;
        float[] data = AnnTestData.Clustered(n, d, 10, seed: 2);
        Npy.Write(dir.File("v.npy"), data, n, d);
        IdsFile.Write(dir.File("v.ids"), Enumerable.Range(0, n).Select(i => $"item{i}").ToArray());
        Npy.Write(dir.File("q.npy"), data.AsSpan(0, 20 * d), 20, d);
        File.WriteAllLines(dir.File("exclude.txt"), ["item599", "nope"]);

        var build = CliProcess.Run(["index", "build", "--vectors", dir.File("v.npy"), "--out", dir.File("x.hnsw"), "--metric", "l2",
                                    "--threads", "2", "--exclude", dir.File("exclude.txt")]);
        Assert.True(build.Exit == 0, build.Err);
        Assert.Contains("599 items", build.Out);
        Assert.Contains("1 excluded", build.Out);

        var search = CliProcess.Run(["index", "search", "--index", dir.File("x.hnsw"), "--queries", dir.File("q.npy"), "--k", "5",
                                     "--out", dir.File("n.tsv"), "--json"]);
        Assert.True(search.Exit == 0, search.Err);
        using JsonDocument json = JsonDocument.Parse(search.Out);
        Assert.True(json.RootElement.GetProperty("qps").GetDouble() > 0);
        Assert.True(json.RootElement.GetProperty("search_seconds").GetDouble() >= 0);
        string[] lines = File.ReadAllLines(dir.File("n.tsv"));
        Assert.Equal(20, lines.Length);
        for (int i = 0; i < 20; i++)
        {
            string[] ids = lines[i].Split('\t');
            Assert.Equal(5, ids.Length);
            Assert.Equal($"item{i}", ids[0]);
            Assert.DoesNotContain("item599", ids);
        }

        var plain = CliProcess.Run(["index", "search", "--index", dir.File("x.hnsw"), "--queries", dir.File("q.npy"), "--out", dir.File("m.tsv"), "--threads", "2"]);
        Assert.True(plain.Exit == 0, plain.Err);
        Assert.Contains("queries/s", plain.Out);
    }

    [Fact]
    public void Int8IndexBuildsAndSearchesInBatchLikeTheFloatOne()
    {
        using var dir = new TempDir();
        const int n = 800, d = 24;
        float[] data = AnnTestData.Clustered(n, d, 10, seed: 4);
        Npy.Write(dir.File("v.npy"), data, n, d);
        IdsFile.Write(dir.File("v.ids"), Enumerable.Range(0, n).Select(i => $"item{i}").ToArray());
        Npy.Write(dir.File("q.npy"), data.AsSpan(0, 40 * d), 40, d);
        var build = CliProcess.Run(["index", "build", "--vectors", dir.File("v.npy"), "--out", dir.File("x.hnswq"), "--quantization", "int8", "--threads", "2"]);
        Assert.True(build.Exit == 0, build.Err);
        Assert.Contains("int8:", build.Out);
        Assert.Contains("memory-mapped", build.Out);
        Assert.Equal(3, CliProcess.Run(["index", "build", "--vectors", dir.File("v.npy"), "--out", dir.File("y.hnsw"), "--quantization", "int4"]).Exit);
        // The int8 format keeps no near-duplicate map: refused, naming both options, before anything is written.
        var dedup = CliProcess.Run(["index", "build", "--vectors", dir.File("v.npy"), "--out", dir.File("z.hnswq"), "--quantization", "int8", "--dedup-threshold", "0.99"]);
        Assert.Equal(3, dedup.Exit);
        Assert.Contains("--dedup-threshold", dedup.Err);
        Assert.Contains("--quantization int8", dedup.Err);
        Assert.False(File.Exists(dir.File("z.hnswq")));

        var search = CliProcess.Run(["index", "search", "--index", dir.File("x.hnswq"), "--queries", dir.File("q.npy"), "--k", "5",
                                     "--threads", "2", "--out", dir.File("n.tsv"), "--json"]);
        Assert.True(search.Exit == 0, search.Err);
        using JsonDocument json = JsonDocument.Parse(search.Out);
        Assert.Equal("int8", json.RootElement.GetProperty("quantization").GetString());
        string[] lines = File.ReadAllLines(dir.File("n.tsv"));
        Assert.Equal(40, lines.Length);
        for (int i = 0; i < 40; i++) Assert.Equal($"item{i}", lines[i].Split('\t')[0]);

        byte[] bytes = File.ReadAllBytes(dir.File("x.hnswq"));
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(dir.File("bad.hnswq"), bytes);
        var bad = CliProcess.Run(["index", "search", "--index", dir.File("bad.hnswq"), "--queries", dir.File("q.npy"), "--out", dir.File("b.tsv")]);
        Assert.Equal(2, bad.Exit);
        Assert.Contains("checksum", bad.Err);
    }

    [Fact]
    public void RowNumbersWithoutIdsAndCorruptIndexExitsWithDataError()
    {
        using var dir = new TempDir();
        const int n = 200, d = 8;
        float[] data = AnnTestData.Clustered(n, d, 5, seed: 3);
        Npy.Write(dir.File("v.npy"), data, n, d);
        Assert.Equal(0, CliProcess.Run(["index", "build", "--vectors", dir.File("v.npy"), "--out", dir.File("x.hnsw")]).Exit);
        var search = CliProcess.Run(["index", "search", "--index", dir.File("x.hnsw"), "--queries", dir.File("v.npy"), "--k", "3", "--out", dir.File("n.tsv")]);
        Assert.True(search.Exit == 0, search.Err);
        Assert.Equal("7", File.ReadAllLines(dir.File("n.tsv"))[7].Split('\t')[0]);

        byte[] bytes = File.ReadAllBytes(dir.File("x.hnsw"));
        File.WriteAllBytes(dir.File("cut.hnsw"), bytes[..(bytes.Length - 100)]);
        var bad = CliProcess.Run(["index", "search", "--index", dir.File("cut.hnsw"), "--queries", dir.File("v.npy"), "--out", dir.File("n.tsv")]);
        Assert.Equal(2, bad.Exit);
        Assert.Contains("truncated", bad.Err);
    }
}
