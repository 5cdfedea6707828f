using PinnerSage.IO;
using PinnerSage.ItemSage.Training;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.ItemSage.Training;

public sealed class ItemSageCliTests
{
    [Fact]
    public void Train_embed_and_profiles_build_run_end_to_end_and_resume_continues()
    {
        using var dir = new TempDir();
        string data = MiniDataset.Write(dir.File("data"), actionTypes: ["click", "save"]);
        string model = dir.File("model");
        string[] common = ["--dataset", data, "--out", model, "--small", "--d-model", "16", "--output-dim", "16", "--batch", "32", "--negatives", "16"];
        var train = CliProcess.Run(["itemsage", "train", .. common, "--steps", "6", "--checkpoint-every", "3", "--task-shares", "click=1,save=3"]);
        Assert.True(train.Exit == 0, train.Err + train.Out);
        Assert.Contains("step 6/6", train.Out);
        foreach (string f in new[] { "tower.bin", "features.json", "vocabulary.tsv", "checkpoint/trainer.bin", "checkpoint/optimizer.bin" })
            Assert.True(File.Exists(Path.Combine(model, f)), f);
        var resume = CliProcess.Run(["itemsage", "train", .. common, "--steps", "9", "--resume"]);
        Assert.True(resume.Exit == 0, resume.Err + resume.Out);
        Assert.Contains("step 9/9", resume.Out);
        Assert.DoesNotContain("step 1/9", resume.Out);

        string npy = dir.File("e.npy");
        var embed = CliProcess.Run(["itemsage", "embed", "--model", model, "--dataset", data, "--out", npy]);
        Assert.True(embed.Exit == 0, embed.Err + embed.Out);
        // The cut of the training pairs travels from the model folder to the embeddings' sidecar (eval checks it).
        long cut = EngagementPairs.Load(Path.Combine(data, "actions.tsv"), ItemCatalog.Load(Path.Combine(data, "items.tsv")), new PairOptions()).TrainedUntil;
        Assert.Equal(new EmbeddingsMeta("itemsage", cut), EmbeddingsMeta.TryRead(Path.Combine(model, ItemSageModelFolder.TrainingMetaFile)));
        Assert.Equal(new EmbeddingsMeta("itemsage", cut), EmbeddingsMeta.TryRead(dir.File("e.meta.json")));
        Assert.Contains("trained on actions before", System.Text.RegularExpressions.Regex.Replace(embed.Out, @"\s+", " "));
        using (ItemEmbeddings e = ItemEmbeddings.Load(npy))
        {
            Assert.Equal(60, e.Count); // the whole catalogue, including items no one engaged with
            Assert.Equal(16, e.Dimension);
            Assert.True(e.TryGetRow("it59", out _));
        }
        var profiles = CliProcess.Run(["profiles", "build", "--actions", Path.Combine(data, "actions.tsv"), "--embeddings", npy, "--store", dir.File("p.db")]);
        Assert.True(profiles.Exit == 0, profiles.Err + profiles.Out);

        var bad = CliProcess.Run(["itemsage", "train", "--dataset", data, "--out", model, "--text-fields", "nope", "--steps", "1"]);
        Assert.Equal(2, bad.Exit);
        Assert.Contains("nope", bad.Err);
    }

    [Fact]
    public void Train_with_validate_stops_early_and_says_why()
    {
        using var dir = new TempDir();
        string data = MiniDataset.Write(dir.File("data"), users: 120, actionTypes: ["click", "save"]);
        string model = dir.File("model");
        var train = CliProcess.Run(["itemsage", "train", "--dataset", data, "--out", model, "--small", "--d-model", "16", "--output-dim", "16",
            "--batch", "32", "--negatives", "16", "--validate", "--validate-every", "5", "--patience", "1", "--plateau-drops", "0", "--steps", "400"]);
        Assert.True(train.Exit == 0, train.Err + train.Out);
        Assert.Contains("validation recall@50 at step 5:", train.Out);
        Assert.Matches(@"stopped at step \d+: (validation stopped improving|maximum steps reached); kept step \d+", train.Out);
        Assert.True(File.Exists(Path.Combine(model, "tower.bin")));
        var bad = CliProcess.Run(["itemsage", "train", "--dataset", data, "--out", model, "--validate", "--resume"]);
        Assert.True(bad.Exit == 3, bad.Exit + bad.Err); // bad usage
        Assert.Contains("--validate", bad.Err);
    }

    [Fact]
    public void Eval_writes_the_json_and_a_table_with_the_paired_intervals()
    {
        using var dir = new TempDir();
        string data = MiniDataset.Write(dir.File("data"), actionTypes: ["click", "save"]);
        string json = dir.File("eval.json");
        var eval = CliProcess.Run(["itemsage", "eval", "--dataset", data, "--steps", "4", "--variants", "popularity,transformer,mlp-concat",
            "--d-model", "16", "--heads", "4", "--layers", "2", "--ffn-dim", "32", "--head-hidden", "32", "--projection-per-vector-set", "false",
            "--temperature", "0.1", "--learn-temperature", "true", "--seeds", "2", "--init", "glorot",
            "--json", json]);
        Assert.True(eval.Exit == 0, eval.Err + eval.Out);
        Assert.Contains("mlp-concat", eval.Out);
        Assert.Contains("minus transformer", eval.Out); // the paired-difference table
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        var mlp = doc.RootElement.GetProperty("mlp-concat").GetProperty("all");
        double delta = mlp.GetProperty("delta_recall@50_vs_transformer").GetDouble();
        double expected = mlp.GetProperty("recall@50").GetDouble()
                        - doc.RootElement.GetProperty("transformer").GetProperty("all").GetProperty("recall@50").GetDouble();
        Assert.Equal(expected, delta, 12);
        Assert.InRange(delta, mlp.GetProperty("delta_recall@50_vs_transformer_low").GetDouble(), mlp.GetProperty("delta_recall@50_vs_transformer_high").GetDouble());
        Assert.Equal(2, mlp.GetProperty("seeds").GetDouble());
        Assert.True(mlp.TryGetProperty("recall@50_seed_sd", out _));
        Assert.Contains("transformer (seed 2)", eval.Out);

        var badInit = CliProcess.Run(["itemsage", "eval", "--dataset", data, "--steps", "1", "--init", "xavier"]);
        Assert.NotEqual(0, badInit.Exit);
        Assert.Contains("--init", badInit.Err);

        var bad = CliProcess.Run(["itemsage", "eval", "--dataset", data, "--steps", "1", "--d-model", "16", "--heads", "5"]);
        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("Heads", bad.Err);
    }
}
