using System.Globalization;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.ItemSage;
using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;
using PinnerSage.Tests.ItemSage.Training;

namespace PinnerSage.Tests.ItemSage;

/// <summary>The library entry point: <see cref="ItemSageModel"/> over a dataset folder or an in-memory catalogue.</summary>
public sealed class ItemSageModelTests
{
    private static readonly ItemSageOptions Options = new()
    {
        Model = ItemSageTrainerTests.Tiny with { Seed = 3 },
        Training = new ItemSageTrainingOptions { BatchSize = 32, RandomNegatives = 16, WarmupSteps = 5, LearningRate = 5e-3f, Seed = 3, Threads = 1 },
        Steps = 30,
    };

    /// <summary>The MiniDataset folder read back without the library's readers: the catalogue from the TSV lines, the
    /// vector sets through the .npy reader, the actions as <see cref="UserAction"/> records.</summary>
    private static (ItemSageCatalog Items, List<UserAction> Actions, ItemEmbeddings[] Sets) InMemory(string root)
    {
        string[] items = File.ReadAllLines(Path.Combine(root, "items.tsv"));
        string[] header = items[0].Split('\t');
        var rows = items.Skip(1).Select(l => l.Split('\t')).Select(f => (f[0], (IReadOnlyList<string>)f[1..])).ToList();
        ItemEmbeddings[] sets = [.. new[] { "image", "text_lm" }.Select(n => ItemEmbeddings.Load(Path.Combine(root, "vectors", n + ".npy"), null,
            new EmbeddingsLoadOptions { AllowZeroVectors = true }))];
        var catalog = ItemSageCatalog.FromMemory(header[1..], rows, new Dictionary<string, ItemEmbeddings> { ["image"] = sets[0], ["text_lm"] = sets[1] });
        List<UserAction> actions = [.. File.ReadAllLines(Path.Combine(root, "actions.tsv")).Skip(1).Select(l => l.Split('\t'))
            .Select(f => new UserAction(f[0], f[1], long.Parse(f[2], CultureInfo.InvariantCulture), f[3]))];
        return (catalog, actions, sets);
    }

    [Fact]
    public void An_in_memory_catalogue_trains_and_embeds_exactly_as_its_dataset_folder()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.File("data")));
        ItemSageModel fromFolder = ItemSageModel.Train(ItemSageCatalog.FromDataset(layout), ActionSource.File(layout.ActionsPath), Options, dir.File("a"));
        (ItemSageCatalog items, List<UserAction> actions, ItemEmbeddings[] sets) = InMemory(layout.Root);
        try
        {
            ItemSageModel fromMemory = ItemSageModel.Train(items, ActionSource.FromEnumerable(actions), Options, dir.File("b"));
            foreach (string file in (string[])[ItemSageModelFolder.TowerFile, ItemSageFeatures.SpecFile, ItemSageFeatures.VocabularyFile, ItemSageModelFolder.TrainingMetaFile])
                Assert.Equal(File.ReadAllBytes(Path.Combine(dir.File("a"), file)), File.ReadAllBytes(Path.Combine(dir.File("b"), file)));
            Assert.Equal(fromFolder.TrainedUntil, fromMemory.TrainedUntil);

            using ItemEmbeddings a = fromFolder.Embed(ItemSageCatalog.FromDataset(layout));
            using ItemEmbeddings b = fromMemory.Embed(items);
            Assert.Equal(a.Ids, b.Ids);
            Assert.Equal(60, a.Count);
            for (int r = 0; r < a.Count; r++) Assert.True(a.Vector(r).SequenceEqual(b.Vector(r)), $"row {r}");
        }
        finally
        {
            foreach (ItemEmbeddings s in sets) s.Dispose();
        }
    }

    [Fact]
    public void A_saved_model_loads_and_embeds_the_same_rows_with_any_thread_count()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.File("data")));
        var items = ItemSageCatalog.FromDataset(layout);
        ItemSageModel trained = ItemSageModel.Train(items, ActionSource.File(layout.ActionsPath), Options with { Tower = ItemSageTowerKind.MlpConcat });
        Assert.False(Directory.Exists(dir.File("model")));
        trained.Save(dir.File("model"));
        ItemSageModel loaded = ItemSageModel.Load(dir.File("model"));
        Assert.Equal(ItemSageTowerKind.MlpConcat, loaded.Tower);
        Assert.Equal(trained.TrainedUntil, loaded.TrainedUntil);
        Assert.Equal(trained.TextFields, loaded.TextFields);
        Assert.Equal(trained.VectorSets, loaded.VectorSets);

        using ItemEmbeddings expected = trained.Embed(items);
        foreach (int threads in new[] { 1, 2 })
        {
            loaded.Threads = threads;
            using ItemEmbeddings e = loaded.Embed(items);
            for (int r = 0; r < e.Count; r++) Assert.True(expected.Vector(r).SequenceEqual(e.Vector(r)), $"{threads} threads, row {r}");
        }

        // The external-runtime path featurises the same batches: a runtime that returns the tower's own rows gives them back.
        int at = 0;
        using ItemEmbeddings viaRuntime = loaded.Embed(items, x =>
        {
            float[] rows = new float[x.Batch * loaded.Dimension];
            for (int i = 0; i < x.Batch; i++) expected.Vector(at + i).CopyTo(rows.AsSpan(i * loaded.Dimension));
            at += x.Batch;
            return rows;
        });
        Assert.Equal(expected.Count, at);
        for (int r = 0; r < expected.Count; r++) Assert.True(expected.Vector(r).SequenceEqual(viaRuntime.Vector(r)));
    }

    [Fact]
    public void Option_combinations_that_cannot_work_are_refused_before_training()
    {
        using var dir = new TempDir();
        var layout = DatasetLayout.Open(MiniDataset.Write(dir.File("data")));
        var items = ItemSageCatalog.FromDataset(layout);
        IActionSource actions = ActionSource.File(layout.ActionsPath);
        Assert.Throws<ArgumentException>(() => ItemSageModel.Train(items, actions, Options with { Resume = true }));
        Assert.Throws<ArgumentException>(() => ItemSageModel.Train(items, actions, Options with { CheckpointEvery = 5 }));
        Assert.Throws<ArgumentException>(() => ItemSageModel.Train(items, actions,
            Options with { CheckpointEvery = 5, Validation = new ItemSageValidation(10, ItemSageEvaluation.DefaultStopping) }, dir.File("m")));
        Assert.Throws<ArgumentOutOfRangeException>(() => ItemSageModel.Train(items, actions,
            Options with { Training = Options.Training with { Threads = 0 } }));
        // Values (ratings) exist only in files: a minimum value over an in-memory source would drop every action.
        var memory = ActionSource.FromEnumerable([new UserAction("u", "it1", 1), new UserAction("u", "it2", 2)]);
        Assert.Throws<ArgumentException>(() => ItemSageModel.Train(items, memory, Options with { Pairs = new PairOptions { MinValue = 4 } }));
        Assert.False(Directory.Exists(dir.File("m")));
    }

    [Fact]
    public void An_in_memory_catalogue_follows_the_file_rules()
    {
        var catalog = ItemSageCatalog.FromMemory(["title"], [("a", ["red shoe"]), ("b", ["blue mug"])]);
        Assert.Equal(["a", "b"], catalog.Ids);
        Assert.Equal("blue mug", catalog.Catalog.Field(1, 1));
        Assert.Throws<DataFormatException>(() => ItemSageCatalog.FromMemory(["title"], [("a", ["red\tshoe"])]));
        Assert.Throws<DataFormatException>(() => ItemSageCatalog.FromMemory(["title"], [("a", ["x"]), ("a", ["y"])]));
        Assert.Throws<DataFormatException>(() => ItemSageCatalog.FromMemory(["title", "category"], [("a", ["only one"])]));
        var e = Assert.Throws<DataFormatException>(() => ItemSageFeatures.Build(catalog, new ItemSageFeatureOptions { VectorSets = ["image"] }));
        Assert.Contains("no such vector set", e.Message);
    }
}
