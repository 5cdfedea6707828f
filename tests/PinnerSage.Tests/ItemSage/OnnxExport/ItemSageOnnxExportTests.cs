using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PinnerSage.IO;
using PinnerSage.ItemSage;
using PinnerSage.ItemSage.Evaluation;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.OnnxExport;
using PinnerSage.ItemSage.Training;
using PinnerSage.Tests.Cli;
using Xunit.Abstractions;

namespace PinnerSage.Tests.ItemSage.OnnxExport;

/// <summary>The ONNX export against an independent reference: ONNX Runtime runs the exported graph on inputs built
/// from the catalogue rows and the exported features specification alone, and its embeddings must match the tower's
/// own (<see cref="ItemSageEmbedder"/>) for every item.</summary>
public sealed class ItemSageOnnxExportTests(ITestOutputHelper output)
{
    private const float Tolerance = 1e-4f;

    private static readonly ItemSageModelOptions Shape = ItemSageEvaluation.SmallModel with
    {
        DModel = 16, Heads = 4, Layers = 2, FfnDim = 32, HeadHidden = 32, OutputDim = 16, HashRows = 997, HashDim = 16, Seed = 3,
    };

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Onnx_runtime_matches_the_tower_on_a_generated_catalogue(bool mlp, bool perVectorSet)
    {
        using var dir = new TempDir();
        string data = MiniDataset.Write(dir.File("data"));
        (float maxDiff, double minCos) = TrainExportAndCompare(dir, data, mlp, Shape with { ProjectionPerVectorSet = perVectorSet }, steps: 8);
        output.WriteLine($"{(mlp ? "mlp-concat" : "transformer")}, per-set {perVectorSet}: max |Δ| {maxDiff:E2}, min cosine {minCos:F7}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Onnx_runtime_matches_the_tower_on_the_whole_shared_catalogue(bool mlp)
    {
        if (TestData.RequireDataset("amazon-scientific", output) is not string data) return;
        using var dir = new TempDir();
        (float maxDiff, double minCos) = TrainExportAndCompare(dir, data, mlp, Shape with { ProjectionPerVectorSet = true, HashRows = 4099 }, steps: 6);
        output.WriteLine($"amazon-scientific, {(mlp ? "mlp-concat" : "transformer")}: max |Δ| {maxDiff:E2}, min cosine {minCos:F7}");
    }

    [Fact]
    public void The_specification_names_the_hash_functions_of_the_tower()
    {
        foreach (int rows in (int[])[1, 997, 100_000])
        {
            for (int t = 0; t < 1000; t++)
            {
                Assert.Equal(HashEmbedding.Hash1(t, rows), HashEmbedding.Hash(t, ItemSageOnnxExporter.HashMultiplier1, rows));
                Assert.Equal(HashEmbedding.Hash2(t, rows), HashEmbedding.Hash(t, ItemSageOnnxExporter.HashMultiplier2, rows));
            }
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("amazon-scientific")]
    public void Python_featuriser_reproduces_the_inputs_from_the_specification_and_onnx_checker_accepts_the_model(string? shared)
    {
        if (!TestData.RequirePython(output, "numpy", "onnx")) return;
        using var dir = new TempDir();
        string? data = shared is null ? MiniDataset.Write(dir.File("data")) : TestData.RequireDataset(shared, output);
        if (data is null) return;
        DatasetLayout layout = DatasetLayout.Open(data);
        (string model, ItemSageOnnxExport export) = TrainAndExport(dir, layout, mlp: false, Shape with { ProjectionPerVectorSet = shared is null }, steps: 2);
        ItemSageOnnxInputs expected = PipelineInputs(model, layout);

        string script = File.ReadAllText(Path.Combine(RepoPaths.FindRepoRoot() ?? throw new InvalidOperationException("repository root not found"), "tools", "itemsage_onnx_inputs.py"));
        string outDir = dir.File("py");
        var run = TestData.RunPython(script, [export.FeaturesPath, data, outDir, "--check", export.OnnxPath]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        Assert.Contains("onnx.checker: ok", run.StdOut);
        Assert.Equal(expected.TokenIdValues, ReadNpy<long>(Path.Combine(outDir, "token_ids.npy"), "<i8", out int[] idShape));
        Assert.Equal([expected.Batch, expected.Fields, expected.Tokens], idShape);
        Assert.Equal(expected.TokenWeightValues, ReadNpy<float>(Path.Combine(outDir, "token_weights.npy"), "<f4", out _));
        Assert.Equal(expected.VectorMaskValues, ReadNpy<float>(Path.Combine(outDir, "vector_mask.npy"), "<f4", out _));
        float[] vectors = ReadNpy<float>(Path.Combine(outDir, "vectors.npy"), "<f4", out _);
        for (int i = 0; i < vectors.Length; i++)
            Assert.True(MathF.Abs(vectors[i] - expected.VectorValues[i]) <= 1e-6f * MathF.Max(1, MathF.Abs(vectors[i])), $"vector value {i}");
    }

    /// <summary>A C-order .npy of the given dtype (numpy format 1.0/2.0).</summary>
    private static T[] ReadNpy<T>(string path, string descr, out int[] shape) where T : unmanaged
    {
        byte[] bytes = File.ReadAllBytes(path);
        int major = bytes[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int start = major == 1 ? 10 : 12;
        string header = System.Text.Encoding.ASCII.GetString(bytes, start, headerLength);
        Assert.Contains($"'descr': '{descr}'", header);
        Assert.Contains("'fortran_order': False", header);
        string dims = System.Text.RegularExpressions.Regex.Match(header, @"'shape': \(([^)]*)\)").Groups[1].Value;
        shape = [.. dims.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse)];
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes.AsSpan(start + headerLength)).ToArray();
    }

    [Fact]
    public void Cli_exports_and_explains_bad_input()
    {
        using var dir = new TempDir();
        string data = MiniDataset.Write(dir.File("data"));
        string model = dir.File("model");
        var train = CliProcess.Run(["itemsage", "train", "--dataset", data, "--out", model, "--small", "--d-model", "16", "--output-dim", "16",
            "--batch", "16", "--negatives", "8", "--steps", "2"]);
        Assert.True(train.Exit == 0, train.Err + train.Out);

        string onnx = Path.Combine(dir.Path, "out", "tower.onnx");
        Directory.CreateDirectory(dir.File("out"));
        var ok = CliProcess.Run(["itemsage", "export", "--model", model, "--onnx", onnx]);
        Assert.True(ok.Exit == 0, ok.Err + ok.Out);
        Assert.True(File.Exists(onnx));
        Assert.True(File.Exists(Path.Combine(dir.Path, "out", "tower.features.json")));
        Assert.Empty(Directory.GetFiles(dir.File("out"), "*.tmp*")); // no temporary file left behind
        using (var session = new InferenceSession(onnx))
            Assert.Equal([ItemSageOnnxInputs.TokenIds, ItemSageOnnxInputs.TokenWeights, ItemSageOnnxInputs.Vectors, ItemSageOnnxInputs.VectorMask],
                session.InputMetadata.Keys.ToArray());

        // itemsage embed --onnx: the same embeddings through ONNX Runtime.
        var embed = CliProcess.Run(["itemsage", "embed", "--model", model, "--dataset", data, "--out", dir.File("e.npy")]);
        Assert.True(embed.Exit == 0, embed.Err + embed.Out);
        var embedOnnx = CliProcess.Run(["itemsage", "embed", "--model", model, "--dataset", data, "--onnx", onnx, "--out", dir.File("eo.npy")]);
        Assert.True(embedOnnx.Exit == 0, embedOnnx.Err + embedOnnx.Out);
        using (ItemEmbeddings ours = ItemEmbeddings.Load(dir.File("e.npy")))
        using (ItemEmbeddings viaOnnx = ItemEmbeddings.Load(dir.File("eo.npy")))
        {
            Assert.Equal(ours.Ids, viaOnnx.Ids);
            float maxDiff = 0;
            for (int r = 0; r < ours.Count; r++)
                for (int j = 0; j < ours.Dimension; j++) maxDiff = MathF.Max(maxDiff, MathF.Abs(ours.Vector(r)[j] - viaOnnx.Vector(r)[j]));
            Assert.True(maxDiff <= Tolerance, $"embed --onnx differs by {maxDiff}");
            output.WriteLine($"embed vs embed --onnx: max |Δ| {maxDiff:E2}");
        }
        Assert.Equal(File.ReadAllText(dir.File("e.meta.json")), File.ReadAllText(dir.File("eo.meta.json")));
        var noOnnx = CliProcess.Run(["itemsage", "embed", "--model", model, "--dataset", data, "--onnx", dir.File("none.onnx"), "--out", dir.File("en.npy")]);
        Assert.Equal(3, noOnnx.Exit);
        Assert.Contains("itemsage export", noOnnx.Err);
        var notOnnx = CliProcess.Run(["itemsage", "embed", "--model", model, "--dataset", data, "--onnx", Path.Combine(model, "tower.bin"), "--out", dir.File("en.npy")]);
        Assert.Equal(3, notOnnx.Exit);
        Assert.Contains("not a loadable ONNX model", notOnnx.Err);

        var missing = CliProcess.Run(["itemsage", "export", "--model", dir.File("nope"), "--onnx", dir.File("x.onnx")]);
        Assert.Equal(3, missing.Exit);
        Assert.Contains("does not exist", missing.Err);
        Assert.False(File.Exists(dir.File("x.onnx")));

        var notModel = CliProcess.Run(["itemsage", "export", "--model", data, "--onnx", dir.File("x.onnx")]);
        Assert.Equal(3, notModel.Exit);
        Assert.Contains("tower.bin is missing", notModel.Err);

        byte[] tower = File.ReadAllBytes(Path.Combine(model, "tower.bin"));
        var overwrite = CliProcess.Run(["itemsage", "export", "--model", model, "--onnx", Path.Combine(model, "tower.bin")]);
        Assert.Equal(3, overwrite.Exit);
        Assert.Contains("destroy the model", overwrite.Err);
        var overwriteSpec = CliProcess.Run(["itemsage", "export", "--model", model, "--onnx", dir.File("y.onnx"), "--features", Path.Combine(model, "features.json")]);
        Assert.Equal(3, overwriteSpec.Exit);
        Assert.Equal(tower, File.ReadAllBytes(Path.Combine(model, "tower.bin")));
        Assert.False(File.Exists(dir.File("y.onnx")));

        var same = CliProcess.Run(["itemsage", "export", "--model", model, "--onnx", dir.File("z.json"), "--features", dir.File("z.json")]);
        Assert.Equal(3, same.Exit);

        var noFolder = CliProcess.Run(["itemsage", "export", "--model", model, "--onnx", Path.Combine(dir.Path, "no", "such", "x.onnx")]);
        Assert.Equal(3, noFolder.Exit);
        Assert.Contains("does not exist", noFolder.Err);

        var isFolder = CliProcess.Run(["itemsage", "export", "--model", model, "--onnx", dir.File("out")]);
        Assert.Equal(3, isFolder.Exit);
        Assert.Contains("folder", isFolder.Err);

        File.WriteAllBytes(Path.Combine(model, "tower.bin"), tower[..(tower.Length / 2)]);
        var corrupt = CliProcess.Run(["itemsage", "export", "--model", model, "--onnx", dir.File("c.onnx")]);
        Assert.Equal(2, corrupt.Exit);
        Assert.False(File.Exists(dir.File("c.onnx")));
    }

    /// <summary>Trains a few steps on <paramref name="layout"/>, saves the model folder and exports it.</summary>
    private static (string Model, ItemSageOnnxExport Export) TrainAndExport(TempDir dir, DatasetLayout layout, bool mlp, ItemSageModelOptions shape, int steps)
    {
        string model = dir.File("model");
        using (ItemSageFeatures features = ItemSageFeatures.Build(layout, new ItemSageFeatureOptions { MaxUnigrams = 2000, MaxBigrams = 2000, MaxTrigrams = 2000 }))
        {
            EngagementPairs pairs = EngagementPairs.Load(layout.ActionsPath, features.Catalog, new PairOptions());
            var trainer = new ItemSageTrainer(ItemSageTower.Create(mlp ? ItemSageTowerKind.MlpConcat : ItemSageTowerKind.Transformer, features.Apply(shape)), features, pairs.Train, pairs.Tasks,
                new ItemSageTrainingOptions { BatchSize = 32, RandomNegatives = 16, Steps = steps, WarmupSteps = 2, LearningRate = 1e-2f });
            trainer.Train();
            new ItemSageModel(trainer.Tower, features.Saved, null, double.NaN).Save(model);
        }
        return (model, ItemSageOnnxExporter.Export(model, dir.File("tower.onnx")));
    }

    /// <summary>The model inputs for every catalogue item through our feature pipeline.</summary>
    private static ItemSageOnnxInputs PipelineInputs(string model, DatasetLayout layout)
    {
        (IItemTower tower, ItemSageFeatures loaded) = (ItemSageTower.Load(Path.Combine(model, ItemSageModelFolder.TowerFile)), ItemSageFeatures.Load(model, layout));
        using (loaded)
        {
            ItemFeatureBatch batch = loaded.CreateBatch(loaded.ItemCount);
            loaded.Fill(Enumerable.Range(0, loaded.ItemCount).ToArray(), batch);
            return ItemSageOnnxInputs.FromBatch(batch, tower.Options);
        }
    }

    /// <summary>Trains a few steps, saves the model folder, exports it, and compares ONNX Runtime with the tower on every
    /// catalogue item. Returns the largest absolute difference and the smallest cosine.</summary>
    private (float MaxDiff, double MinCosine) TrainExportAndCompare(TempDir dir, string data, bool mlp, ItemSageModelOptions shape, int steps)
    {
        DatasetLayout layout = DatasetLayout.Open(data);
        (string model, ItemSageOnnxExport export) = TrainAndExport(dir, layout, mlp, shape, steps);
        Assert.Equal(mlp ? "mlp-concat" : "transformer", export.Tower);
        string onnx = export.OnnxPath;

        // Our embed path, from the saved model folder.
        (IItemTower tower, ItemSageFeatures loaded) = (ItemSageTower.Load(Path.Combine(model, ItemSageModelFolder.TowerFile)), ItemSageFeatures.Load(model, layout));
        float[] expected;
        using (loaded) expected = ItemSageEmbedder.EmbedAll(tower, loaded, batchSize: 64);
        ItemSageOnnxInputs fromBatch = PipelineInputs(model, layout);

        // The inputs again, from the catalogue files and the exported specification alone.
        SpecInputs inputs = SpecInputs.Build(export.FeaturesPath, data);
        Assert.Equal(fromBatch.Tokens, inputs.Tokens);
        Assert.Equal(fromBatch.TokenIdValues, inputs.TokenIds);
        Assert.Equal(fromBatch.TokenWeightValues, inputs.TokenWeights);
        Assert.Equal(fromBatch.VectorMaskValues, inputs.VectorMask);
        // The spec side rescales in double, the features in float: equal to float rounding (relative 1e-6).
        for (int i = 0; i < inputs.Vectors.Length; i++) Assert.True(MathF.Abs(fromBatch.VectorValues[i] - inputs.Vectors[i]) <= 1e-6f * MathF.Max(1, MathF.Abs(inputs.Vectors[i])), $"vector value {i}: {fromBatch.VectorValues[i]} vs {inputs.Vectors[i]} (slots {inputs.Slots}, dim {inputs.Dimension})");

        int n = inputs.Items, d = tower.Options.OutputDim;
        float[] actual = Run(onnx, inputs, 0, n);
        // A second, odd-sized batch: the graph's batch and token axes are dynamic.
        float[] part = Run(onnx, inputs, 3, Math.Min(7, n - 3));
        float maxDiff = 0;
        double minCos = 1;
        for (int r = 0; r < n; r++)
        {
            double dot = 0, na = 0, nb = 0;
            for (int j = 0; j < d; j++)
            {
                float a = actual[r * d + j], b = expected[r * d + j];
                maxDiff = MathF.Max(maxDiff, MathF.Abs(a - b));
                dot += a * b;
                na += a * a;
                nb += b * b;
            }
            minCos = Math.Min(minCos, dot / Math.Sqrt(na * nb));
            Assert.InRange(Math.Sqrt(na), 1 - 1e-5, 1 + 1e-5);
        }
        for (int i = 0; i < part.Length; i++) Assert.True(MathF.Abs(part[i] - expected[3 * d + i]) <= Tolerance, $"partial batch value {i}");
        Assert.True(maxDiff <= Tolerance, $"max |ONNX − tower| = {maxDiff}");
        Assert.True(minCos >= 0.9999, $"min cosine {minCos}");
        return (maxDiff, minCos);
    }

    private static float[] Run(string onnx, SpecInputs x, int start, int count)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(onnx, options);
        var feeds = new List<NamedOnnxValue>();
        int ft = x.Fields * x.Tokens, md = x.Slots * x.Dimension;
        if (x.Fields > 0)
        {
            feeds.Add(NamedOnnxValue.CreateFromTensor(ItemSageOnnxInputs.TokenIds,
                new DenseTensor<long>(x.TokenIds.AsMemory(start * ft, count * ft), [count, x.Fields, x.Tokens])));
            feeds.Add(NamedOnnxValue.CreateFromTensor(ItemSageOnnxInputs.TokenWeights,
                new DenseTensor<float>(x.TokenWeights.AsMemory(start * ft, count * ft), [count, x.Fields, x.Tokens])));
        }
        if (x.Slots > 0)
        {
            feeds.Add(NamedOnnxValue.CreateFromTensor(ItemSageOnnxInputs.Vectors,
                new DenseTensor<float>(x.Vectors.AsMemory(start * md, count * md), [count, x.Slots, x.Dimension])));
            feeds.Add(NamedOnnxValue.CreateFromTensor(ItemSageOnnxInputs.VectorMask,
                new DenseTensor<float>(x.VectorMask.AsMemory(start * x.Slots, count * x.Slots), [count, x.Slots])));
        }
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(feeds);
        DisposableNamedOnnxValue embedding = results.Single(r => r.Name == ItemSageOnnxInputs.Embedding);
        return [.. embedding.AsTensor<float>()];
    }

    /// <summary>Model inputs computed from items.tsv, vectors/NAME.npy + .ids and the exported .features.json only (what
    /// another stack would do): the spec's fields, vocabulary, tokenisation (the documented rules, here through
    /// <see cref="TextTokenizer"/>), vector preprocessing and slot layout.</summary>
    private sealed record SpecInputs(int Items, int Fields, int Tokens, int Slots, int Dimension, long[] TokenIds, float[] TokenWeights,
        float[] Vectors, float[] VectorMask)
    {
        public static SpecInputs Build(string specPath, string dataRoot)
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(specPath));
            JsonElement root = doc.RootElement, text = root.GetProperty("text"), vocab = text.GetProperty("vocabulary");
            string[] fields = [.. text.GetProperty("fields").EnumerateArray().Select(e => e.GetString()!)];
            var ids = new Dictionary<(TokenKind, string), long>();
            long next = 0;
            foreach ((TokenKind kind, string name) in new[] { (TokenKind.Unigram, "unigrams"), (TokenKind.Bigram, "bigrams"), (TokenKind.Trigram, "trigrams") })
                foreach (JsonElement token in vocab.GetProperty(name).EnumerateArray()) ids[(kind, token.GetString()!)] = next++;
            Assert.Equal(vocab.GetProperty("size").GetInt64(), next);

            string[] lines = File.ReadAllLines(Path.Combine(dataRoot, "items.tsv"));
            string[] header = lines[0].Split('\t');
            int[] columns = [.. fields.Select(f => Array.IndexOf(header, f))];
            string[][] rows = [.. lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t'))];
            int n = rows.Length, f = fields.Length;
            var tokens = new List<long>[n * f];
            int longest = 1;
            for (int r = 0; r < n; r++)
            {
                for (int c = 0; c < f; c++)
                {
                    var list = tokens[r * f + c] = [];
                    TextTokenizer.Tokenize(rows[r][columns[c]], (kind, token) =>
                    {
                        if (ids.TryGetValue((kind, token), out long id)) list.Add(id);
                    });
                    longest = Math.Max(longest, list.Count);
                }
            }
            int t = f > 0 ? longest : 0;
            var tokenIds = new long[n * f * t];
            var weights = new float[n * f * t];
            for (int i = 0; i < n * f; i++)
            {
                for (int k = 0; k < tokens[i].Count; k++)
                {
                    tokenIds[i * t + k] = tokens[i][k];
                    weights[i * t + k] = 1f;
                }
            }

            JsonElement vec = root.GetProperty("vectors");
            int slots = vec.GetProperty("slots").GetInt32(), dim = vec.GetProperty("dimension").GetInt32();
            bool bySet = vec.GetProperty("slot_layout").GetString() == "by_set";
            var vectors = new float[n * slots * dim];
            var mask = new float[n * slots];
            var used = new int[n];
            int set = 0;
            foreach (JsonElement s in vec.GetProperty("sets").EnumerateArray())
            {
                string stem = Path.Combine(dataRoot, "vectors", s.GetString()!);
                float[] table = Npy.ReadFloat32(stem + ".npy", out _, out int cols);
                var rowOf = IdsFile.Read(stem + ".ids").Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
                for (int r = 0; r < n && slots > 0; r++)
                {
                    if (!rowOf.TryGetValue(rows[r][0], out int row)) continue;
                    int slot = bySet ? set : used[r]++;
                    ReadOnlySpan<float> v = table.AsSpan(row * cols, cols);
                    double norm = Math.Sqrt(v.ToArray().Sum(x => (double)x * x));
                    for (int j = 0; j < cols && norm > 0; j++) vectors[(r * slots + slot) * dim + j] = (float)(v[j] * Math.Sqrt(cols) / norm);
                    mask[r * slots + slot] = 1f;
                }
                set++;
            }
            return new SpecInputs(n, f, t, slots, dim, tokenIds, weights, vectors, mask);
        }
    }
}
