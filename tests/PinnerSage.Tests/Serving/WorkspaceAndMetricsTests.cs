using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Serving;

namespace PinnerSage.Tests.Serving;

/// <summary>workspace.json round trip and validation; the lock-free latency histogram against exact percentiles.</summary>
public sealed class WorkspaceAndMetricsTests
{
    [Fact]
    public void Workspace_round_trips_with_relative_paths_and_rejects_malformed_manifests()
    {
        using var tmp = new TempDir();
        var ws = new Workspace
        {
            Directory = tmp.Path,
            EmbeddingsPath = tmp.File("vectors/item.npy"),
            IndexPath = tmp.File("items.hnsw"),
            ItemsPath = "/elsewhere/items.tsv",
            StoreLocation = tmp.File("profiles.db"),
            ActionsPath = tmp.File("actions.tsv"),
            ActionTypes = ["click", "save"],
            ProfileOptions = new ProfileOptions { Alpha = 1.25, DecayLambda = 0.02, KeepSingletons = true,
                                                  ActionWeights = new Dictionary<string, double> { ["save"] = 3 } },
        };
        ws.Save();
        string json = File.ReadAllText(tmp.File(Workspace.FileName));
        Assert.Contains("\"embeddings\": \"vectors/item.npy\"", json);
        Assert.Contains("\"items\": \"/elsewhere/items.tsv\"", json);
        Workspace back = Workspace.Load(tmp.Path);
        Assert.Equal(ws.EmbeddingsPath, back.EmbeddingsPath);
        Assert.Equal(ws.ItemsPath, back.ItemsPath);
        Assert.Equal(ws.StoreLocation, back.StoreLocation);
        Assert.Equal(["click", "save"], back.ActionTypes);
        Assert.Equal(1.25, back.ProfileOptions.Alpha);
        Assert.Equal(0.02, back.ProfileOptions.DecayLambda);
        Assert.True(back.ProfileOptions.KeepSingletons);
        Assert.Equal(3, back.ProfileOptions.ActionWeights!["save"]);

        // A PostgreSQL location is kept as is.
        (ws with { StoreLocation = "postgres:Host=db;Database=p" }).Save();
        Assert.Equal("postgres:Host=db;Database=p", Workspace.Load(tmp.Path).StoreLocation);

        foreach ((string text, string field) in new[]
                 {
                     ("{", "$"), ("{\"format\":\"other\",\"version\":1}", "format"),
                     ("{\"format\":\"pinnersage-workspace\",\"version\":9}", "version"),
                     ("{\"format\":\"pinnersage-workspace\",\"version\":1,\"index\":\"x\"}", "embeddings"),
                     ("{\"format\":\"pinnersage-workspace\",\"version\":1,\"embeddings\":\"e\",\"index\":\"x\",\"profile_options\":{\"lambda\":-1}}", "profile_options"),
                 })
        {
            File.WriteAllText(tmp.File(Workspace.FileName), text);
            var e = Assert.Throws<DataFormatException>(() => Workspace.Load(tmp.Path));
            Assert.Contains(field, e.Message);
        }
        Assert.Throws<FileNotFoundException>(() => Workspace.Load(tmp.File("none")));
    }

    [Fact]
    public void Histogram_percentiles_are_within_a_bucket_of_the_exact_ones()
    {
        var rng = new Random(1);
        var histogram = new LatencyHistogram();
        long[] values = [.. Enumerable.Range(0, 20_000).Select(_ => (long)Math.Exp(rng.NextDouble() * 12))];
        Parallel.ForEach(values, histogram.Record);
        (long count, double mean, double max, double[] p) = histogram.Snapshot([50, 90, 99]);
        Assert.Equal(values.Length, count);
        Assert.Equal(values.Average() / 1000, mean, 1e-9);
        Assert.Equal(values.Max() / 1000.0, max);
        long[] sorted = [.. values.Order()];
        double[] percentiles = [50, 90, 99];
        for (int i = 0; i < percentiles.Length; i++)
        {
            double exact = sorted[(int)Math.Ceiling(percentiles[i] / 100 * sorted.Length) - 1] / 1000.0;
            Assert.InRange(p[i], exact, exact * 1.125 + 0.001); // the bucket's upper bound: ≤ 12.5 % above
        }
        for (int b = 0; b < 200; b++) Assert.Equal(b, LatencyHistogram.Bucket(LatencyHistogram.UpperBound(b)));
    }
}
