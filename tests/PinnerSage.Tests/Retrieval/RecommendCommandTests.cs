using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Storage;
using PinnerSage.Tests.Cli;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Retrieval;

/// <summary>`recommend` and `similar` end to end through the built CLI on a tiny generated world.</summary>
public sealed class RecommendCommandTests(ITestOutputHelper output)
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => CliProcess.Run(args);

    [Fact]
    public void RecommendAndSimilarPrintReasonsAndReportUnknownIds()
    {
        using var dir = new TempDir();
        string world = dir.File("world"), store = dir.File("p.db"), index = dir.File("items.hnsw"), int8 = dir.File("items.hnswq");
        string vectors = Path.Combine(world, "vectors", "item.npy"), items = Path.Combine(world, "items.tsv");
        (int exit, string stdout, string stderr) = Run("synth", "--users", "60", "--items", "400", "--topics", "8",
                                                       "--dimension", "16", "--out", world);
        Assert.True(exit == 0, stderr);
        (exit, _, stderr) = Run("profiles", "build", "--actions", Path.Combine(world, "actions.tsv"), "--embeddings", vectors,
                                "--store", store);
        Assert.True(exit == 0, stderr);

        // An HNSW index carrying ids and vectors, as `index build` writes it.
        using (ItemEmbeddings table = ItemEmbeddings.Load(vectors))
        {
            var hnsw = new HnswIndex(table.Dimension, new HnswOptions(), table.Count);
            hnsw.Build(table.Matrix, table.Count, 1);
            hnsw.SetItemIds(table.Ids);
            hnsw.Save(index);
            using QuantizedHnswIndex quantized = hnsw.Quantize();
            quantized.Save(int8);
        }
        string user;
        string[] medoids;
        using (SqliteProfileStore s = SqliteProfileStore.Open(store))
        {
            user = File.ReadLines(Path.Combine(world, "actions.tsv")).Skip(1).Select(l => l.Split('\t')[0]).Distinct()
                .First(u => s.Get(u) is { Clusters.Count: >= 2 });
            medoids = s.Get(user)!.Clusters.Select(c => c.Medoid).ToArray();
        }

        foreach (string[] source in new[] { new[] { "--index", index }, ["--index", int8], ["--embeddings", vectors] })
        {
            (exit, stdout, stderr) = Run(["recommend", "--store", store, "--user", user, "--k", "12", "--items", items, "--seed", "4", .. source]);
            output.WriteLine(stdout + stderr);
            Assert.True(exit == 0, stderr);
            Assert.Contains("12 recommendations", stdout);
            Assert.Contains("from medoid", stdout);
            Assert.Contains(medoids, m => stdout.Contains(m, StringComparison.Ordinal)); // the reason names a medoid
            Assert.Matches(@"#\d+ \(\d+\.\d\d, \d+\)", stdout); // … and its cluster: number (importance, size)
        }

        (exit, _, stderr) = Run("recommend", "--store", store, "--index", index, "--user", "nobody");
        Assert.Equal(1, exit);
        Assert.Contains("no profile for user 'nobody'", stderr);
        (exit, _, stderr) = Run("recommend", "--store", store, "--user", user);
        Assert.Equal(3, exit);
        Assert.Contains("--index", stderr);

        foreach (string file in new[] { index, int8 })
        {
            (exit, stdout, stderr) = Run("similar", "--index", file, "--item", medoids[0], "--k", "5", "--items", items);
            output.WriteLine(stdout + stderr);
            Assert.True(exit == 0, stderr);
            Assert.Contains("5 similar items", stdout);
            Assert.Equal(1, stdout.Split(medoids[0]).Length - 1); // named once, in the heading, never as a result
        }
        (exit, _, stderr) = Run("similar", "--index", index, "--item", "no-such-item");
        Assert.Equal(1, exit);
        Assert.Contains("no item 'no-such-item'", stderr);
    }
}
