using System.Text.Json;
using PinnerSage.Ann;
using PinnerSage.Evaluation;
using PinnerSage.IO;
using PinnerSage.Tests.Cli;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Evaluation;

/// <summary>`pinnersage eval` end to end through the built CLI: a synthetic world (with and without items.tsv, exact
/// and HNSW search), the JSON shape, and the exit codes for bad input.</summary>
public sealed class EvalCommandTests(ITestOutputHelper output)
{
    private static readonly string[] Metrics =
        ["relevance", "recall", "r-precision", "mrr", "recall@10", "recall@50", "ndcg@10", "coverage", "diversity"];

    [Fact]
    public void EvaluatesASyntheticWorldAndWritesJsonAndHtml()
    {
        using var dir = new TempDir();
        string world = dir.File("world");
        (int exit, string stdout, string stderr) = CliProcess.Run(["synth", "--users", "80", "--items", "600", "--topics", "8",
                                                                   "--dimension", "16", "--days", "60", "--out", world]);
        Assert.True(exit == 0, stderr);
        File.Delete(Path.Combine(world, "items.tsv")); // works without a catalogue
        string json = dir.File("r.json"), html = dir.File("r.html");
        (exit, stdout, stderr) = CliProcess.Run(["eval", "--dataset", world, "--embeddings", "item", "--json", json,
                                                 "--html", html, "--bootstrap", "50", "--curve-max", "3", "--test-share", "0.2"]);
        output.WriteLine(stdout);
        Assert.True(exit == 0, stderr);
        Assert.Contains("| pinnersage |", stdout);
        Assert.True(File.Exists(html));
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(EvalMethods.Names, doc.RootElement.EnumerateObject().Select(p => p.Name));
        foreach (JsonProperty method in doc.RootElement.EnumerateObject())
        {
            foreach (string metric in Metrics)
            {
                JsonElement e = method.Value.GetProperty(metric);
                double value = e.GetProperty("value").GetDouble(), low = e.GetProperty("low").GetDouble(), high = e.GetProperty("high").GetDouble();
                Assert.InRange(value, 0, 1);
                Assert.True(low <= value + 1e-9 && value <= high + 1e-9, $"{method.Name} {metric}: {low} {value} {high}");
            }
        }
        Assert.Equal(0, doc.RootElement.GetProperty("last-item").GetProperty("lift-relevance").GetProperty("value").GetDouble());

        // The same world through an HNSW index built from the same vectors.
        string index = dir.File("items.hnsw");
        using (ItemEmbeddings table = ItemEmbeddings.Load(Path.Combine(world, "vectors", "item.npy")))
        {
            var hnsw = new HnswIndex(table.Dimension, new HnswOptions(), table.Count);
            hnsw.Build(table.Matrix, table.Count, 1);
            hnsw.SetItemIds(table.Ids);
            hnsw.Save(index);
        }
        (exit, stdout, stderr) = CliProcess.Run(["eval", "--dataset", world, "--embeddings", "item", "--index", index,
                                                 "--methods", "pinnersage", "--bootstrap", "20", "--curve-max", "0"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("search: HNSW", stdout);
    }

    [Fact]
    public void BadInputGivesClearErrorsAndExitCodes()
    {
        using var dir = new TempDir();
        string data = dir.File("data");
        Directory.CreateDirectory(data);
        string npy = dir.File("e.npy");
        ItemEmbeddings.FromArray(["a", "b"], [1, 0, 0, 1], 2).Save(npy);
        File.WriteAllText(Path.Combine(data, "actions.tsv"), "user_id\titem_id\ttimestamp\taction\nu\ta\t100\tclick\nu\tb\tnot-a-time\tclick\n");

        (int exit, _, string stderr) = CliProcess.Run(["eval", "--dataset", data, "--embeddings", npy]);
        Assert.Equal(2, exit);
        Assert.Contains("actions.tsv:3", stderr);
        Assert.Contains("timestamp", stderr);

        (exit, _, stderr) = CliProcess.Run(["eval", "--dataset", data, "--embeddings", npy, "--methods", "nope"]);
        Assert.Equal(3, exit);
        Assert.Contains("Unknown method 'nope'", stderr);

        (exit, _, stderr) = CliProcess.Run(["eval", "--dataset", data, "--embeddings", "text_lm"]);
        Assert.Equal(3, exit);
        Assert.Contains("neither a .npy file nor a vector set", stderr);

        (exit, _, stderr) = CliProcess.Run(["eval", "--dataset", data, "--embeddings", dir.File("missing.npy")]);
        Assert.Equal(4, exit);

        (exit, _, stderr) = CliProcess.Run(["eval", "--dataset", dir.File("nowhere"), "--embeddings", npy]);
        Assert.Equal(4, exit);
    }

    [Fact]
    public void RunsOnEveryRealDatasetVectorSet()
    {
        string? root = TestData.DatasetsRoot;
        if (!TestData.RequireOrSkip(root is not null, "../shared/datasets", output)) return;
        string scientific = Path.Combine(root!, "amazon-scientific");
        if (!TestData.RequireOrSkip(Directory.Exists(scientific), "amazon-scientific", output)) return;
        (int exit, string stdout, string stderr) = CliProcess.Run(["eval", "--dataset", scientific, "--embeddings", "text_lm",
            "--max-users", "150", "--bootstrap", "20", "--curve-max", "2", "--methods", "pinnersage,mean"]);
        output.WriteLine(stdout);
        Assert.True(exit == 0, stderr);
        Assert.Contains("leave-last-1-out", stdout); // synthetic one-day-apart timestamps: the walk leaves few users
    }
}
