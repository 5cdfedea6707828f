using PinnerSage.IO;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.Embeddings;

/// <summary>`pinnersage embeddings cooccurrence` end to end: catalogue order, the training cut, unseen items, errors.</summary>
public sealed class CooccurrenceCommandTests
{
    private const long Day = 86_400;

    /// <summary>A dataset: items.tsv with i0…i9 (i9 never engaged), actions on i0…i8 plus "extra" (not in items.tsv), one
    /// late action at day 100 and the rest before day 50.</summary>
    private static void WriteDataset(string dir, bool late = true, bool catalogue = true)
    {
        Directory.CreateDirectory(dir);
        if (catalogue) File.WriteAllLines(Path.Combine(dir, "items.tsv"), ["item_id\ttitle", .. Enumerable.Range(0, 10).Select(i => $"i{i}\tItem {i}")]);
        var lines = new List<string> { "user_id\titem_id\ttimestamp\taction" };
        var random = new Random(4);
        for (int u = 0; u < 40; u++)
            for (int a = 0; a < 6; a++)
            {
                int topic = (u + a / 3) % 3;
                lines.Add($"u{u}\ti{topic + 3 * random.Next(3)}\t{(u % 40 + a) * Day}\tclick");
            }
        lines.Add($"u1\textra\t{3 * Day}\tclick");
        if (late) lines.Add($"u2\ti0\t{100 * Day}\tclick");
        File.WriteAllLines(Path.Combine(dir, "actions.tsv"), lines);
    }

    [Fact]
    public void WritesTheWholeCatalogueInOrderAndIgnoresActionsAfterTheCut()
    {
        using var tmp = new TempDir();
        WriteDataset(tmp.File("full"));
        WriteDataset(tmp.File("early"), late: false);
        (int exit, string stdout, string stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("full"), "--until", "1970-02-20", "--out", tmp.File("full.npy"), "--dim", "4", "--window", "3"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("items without co-occurrence before T: 1", stdout, StringComparison.Ordinal);
        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => $"i{i}"), "extra"], IdsFile.Read(tmp.File("full.ids")));
        using (ItemEmbeddings e = ItemEmbeddings.Load(tmp.File("full.npy")))
        {
            Assert.Equal((11, 4), (e.Count, e.Dimension));
            for (int r = 0; r < e.Count; r++) Assert.Equal(1.0, Math.Sqrt(e.Vector(r).ToArray().Sum(x => (double)x * x)), 5);
        }
        // The late action (day 100 ≥ T = day 50) changes nothing: same bytes as the dataset without it.
        (exit, _, stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("early"), "--until", (50 * Day).ToString(), "--out", tmp.File("early.npy"), "--dim", "4", "--window", "3"]);
        Assert.True(exit == 0, stderr);
        Assert.Equal(File.ReadAllBytes(tmp.File("early.npy")), File.ReadAllBytes(tmp.File("full.npy")));
        // --unseen zero: the never-engaged i9 is a zero row (loadable only with zero vectors allowed).
        (exit, _, stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("full"), "--until", "4320000", "--out", tmp.File("zero.npy"), "--dim", "4", "--unseen", "zero"]);
        Assert.True(exit == 0, stderr);
        Assert.Throws<DataFormatException>(() => ItemEmbeddings.Load(tmp.File("zero.npy")).Dispose());
        using ItemEmbeddings z = ItemEmbeddings.Load(tmp.File("zero.npy"), null, new EmbeddingsLoadOptions { AllowZeroVectors = true });
        Assert.True(z.TryGetRow("i9", out int i9));
        Assert.All(z.Vector(i9).ToArray(), v => Assert.Equal(0f, v));
        Assert.Empty(Directory.GetFiles(tmp.Path, ".*.tmp"));
    }

    [Fact]
    public void WithoutItemsTsvUsesFirstAppearanceOrder()
    {
        using var tmp = new TempDir();
        WriteDataset(tmp.File("d"), catalogue: false);
        (int exit, _, string stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("d"), "--until", "99999999", "--out", tmp.File("e.npy"), "--dim", "3"]);
        Assert.True(exit == 0, stderr);
        string[] expected = File.ReadLines(tmp.File("d/actions.tsv")).Skip(1).Select(l => l.Split('\t')[1]).Distinct().ToArray();
        Assert.Equal(expected, IdsFile.Read(tmp.File("e.ids")));
    }

    [Theory]
    [InlineData("yesterday", 3, "neither Unix seconds nor an ISO date")]
    [InlineData("-5", 3, "outside 1970-01-01")]
    [InlineData("1970-01-01", 3, "is not after any action")]
    public void BadUntilIsAClearUsageError(string until, int code, string message)
    {
        using var tmp = new TempDir();
        WriteDataset(tmp.File("d"));
        (int exit, _, string stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("d"), "--until", until, "--out", tmp.File("e.npy")]);
        Assert.Equal(code, exit);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(tmp.File("e.npy")));
    }

    [Fact]
    public void MissingDatasetBadOptionsAndBadDataAreClearErrors()
    {
        using var tmp = new TempDir();
        (int exit, _, string stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("nope"), "--until", "2014-01-01", "--out", tmp.File("e.npy")]);
        Assert.Equal(4, exit);
        Assert.Contains("does not exist", stderr, StringComparison.Ordinal);
        Directory.CreateDirectory(tmp.File("empty"));
        (exit, _, stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("empty"), "--until", "2014-01-01", "--out", tmp.File("e.npy")]);
        Assert.Equal(2, exit);
        Assert.Contains("no actions.tsv", stderr, StringComparison.Ordinal);
        WriteDataset(tmp.File("d"));
        (exit, _, stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("d"), "--until", "2014-01-01", "--out", tmp.File("e.npy"), "--dim", "0"]);
        Assert.Equal(3, exit);
        Assert.Contains("--dim", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("d"), "--until", "2014-01-01", "--out", tmp.File("e.bin")]);
        Assert.Equal(3, exit);
        File.AppendAllText(tmp.File("d/actions.tsv"), "u1\ti1\tnot-a-time\tclick\n");
        (exit, _, stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", tmp.File("d"), "--until", "2014-01-01", "--out", tmp.File("e.npy")]);
        Assert.Equal(2, exit);
        Assert.Contains("actions.tsv:", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(tmp.File("e.npy")));
    }
}
