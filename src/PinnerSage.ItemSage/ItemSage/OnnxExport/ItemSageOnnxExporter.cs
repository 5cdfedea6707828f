using System.Reflection;
using System.Text.Json;
using Google.Protobuf;
using PinnerSage.IO;
using PinnerSage.ItemSage.Features;
using PinnerSage.ItemSage.Model;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.ItemSage.OnnxExport;

/// <summary>What <see cref="ItemSageOnnxExporter.Export"/> wrote.</summary>
/// <param name="OnnxPath">The ONNX model.</param>
/// <param name="FeaturesPath">The feature pipeline's specification (JSON).</param>
/// <param name="Tower">"transformer" or "mlp-concat".</param>
/// <param name="Inputs">The graph's input names, in order.</param>
/// <param name="OutputDim">Embedding dimension.</param>
/// <param name="Bytes">Size of the ONNX file.</param>
public sealed record ItemSageOnnxExport(string OnnxPath, string FeaturesPath, string Tower, IReadOnlyList<string> Inputs,
    int OutputDim, long Bytes);

/// <summary>Exports a trained ItemSage model folder (<see cref="ItemSageModelFolder"/>) as an ONNX graph from the model
/// inputs to the L2-normalised embedding, plus a JSON specification of the feature pipeline (text fields, tokenisation
/// rules, the vocabulary, hash parameters, vector sets and their preprocessing, the graph's inputs) so another stack can
/// compute the inputs from catalogue rows and serve the model with any ONNX runtime (CPU or GPU).</summary>
/// <remarks>The protobuf is written with OnnxSharp's generated ONNX classes and Google.Protobuf; both files are written
/// atomically (temporary file + rename). Graph details: <c>ItemSageOnnxGraph</c>; input layout:
/// <see cref="ItemSageOnnxInputs"/>.</remarks>
public static class ItemSageOnnxExporter
{
    /// <summary>Format name and version of the features specification.</summary>
    public const string SpecFormat = "pinnersage.itemsage.onnx-features", SpecVersion = "1";

    /// <summary>Multipliers of the hash functions h₁, h₂ (the values of <c>HashEmbedding</c>; a test checks they agree).</summary>
    internal const ulong HashMultiplier1 = 0x9E3779B97F4A7C15UL, HashMultiplier2 = 0xC2B2AE3D27D4EB4FUL;

    /// <summary>The default path of the features specification beside <paramref name="onnxPath"/>: "X.onnx" →
    /// "X.features.json".</summary>
    public static string DefaultFeaturesPath(string onnxPath)
    {
        ArgumentNullException.ThrowIfNull(onnxPath);
        string stem = onnxPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? onnxPath[..^5] : onnxPath;
        return stem + ".features.json";
    }

    /// <summary>Exports the model folder <paramref name="modelDirectory"/> to <paramref name="onnxPath"/> and its
    /// features specification to <paramref name="featuresPath"/> (default <see cref="DefaultFeaturesPath"/>).</summary>
    /// <exception cref="ArgumentException">No model folder or tower file there, an output that is one of the model's
    /// files, or both outputs the same path.</exception>
    /// <exception cref="DataFormatException">The model files are corrupt or inconsistent.</exception>
    public static ItemSageOnnxExport Export(string modelDirectory, string onnxPath, string? featuresPath = null)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        ArgumentNullException.ThrowIfNull(onnxPath);
        featuresPath ??= DefaultFeaturesPath(onnxPath);
        if (!Directory.Exists(modelDirectory))
            throw new ArgumentException($"--model: the model folder '{modelDirectory}' does not exist (train one with `pinnersage itemsage train`).");
        string towerPath = Path.Combine(modelDirectory, ItemSageModelFolder.TowerFile);
        string specPath = Path.Combine(modelDirectory, ItemSageFeatures.SpecFile);
        string vocabularyPath = Path.Combine(modelDirectory, ItemSageFeatures.VocabularyFile);
        foreach (string input in (string[])[towerPath, specPath, vocabularyPath])
        {
            if (!File.Exists(input))
                throw new ArgumentException($"--model: '{modelDirectory}' is not an ItemSage model folder ({Path.GetFileName(input)} is missing).");
        }
        string fullOnnx = Path.GetFullPath(onnxPath), fullSpec = Path.GetFullPath(featuresPath);
        if (string.Equals(fullOnnx, fullSpec, StringComparison.Ordinal))
            throw new ArgumentException($"the ONNX file and the features specification would both be {onnxPath}.");
        string modelFull = Path.GetFullPath(modelDirectory);
        foreach (string output in (string[])[fullOnnx, fullSpec])
        {
            // Nothing is ever written inside the model folder's own files (tower, spec, vocabulary, checkpoint).
            foreach (string input in (string[])[towerPath, specPath, vocabularyPath, ItemSageModelFolder.TrainingMetaFile])
            {
                string inputFull = Path.GetFullPath(Path.Combine(modelFull, Path.GetFileName(input)));
                if (string.Equals(output, inputFull, StringComparison.Ordinal) || (File.Exists(output) && File.Exists(inputFull) && FileIdentity.Same(output, inputFull)))
                    throw new ArgumentException($"the output {output} is the model's own file {inputFull}; writing it would destroy the model. Choose another output path.");
            }
            if (Directory.Exists(output)) throw new ArgumentException($"the output {output} is a folder; give a file path.");
            string? parent = Path.GetDirectoryName(output);
            if (parent is not null && !Directory.Exists(parent)) throw new ArgumentException($"the output's folder {parent} does not exist.");
        }

        IItemTower tower = ItemSageTower.Load(towerPath);
        (string[] textFields, string[] vectorSets, int imageDim) = ReadSpec(specPath);
        TextVocabulary vocabulary = TextVocabulary.Load(vocabularyPath);
        ItemSageModelOptions o = tower.Options;
        if (o.TextFields != textFields.Length || (o.ImageDim != 0 && o.ImageDim != imageDim) || o.VocabularySize < vocabulary.Size)
            throw new DataFormatException(towerPath, 0, null, "the tower does not match the saved features (text fields, vector dimension or vocabulary size)");

        string version = typeof(ItemSageOnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        global::Onnx.ModelProto model = ItemSageOnnxGraph.Build(tower, version);
        string kind = tower is ItemSageTransformer ? "transformer" : "mlp-concat";
        AtomicFile.WriteAll(
        [
            (featuresPath, path => AtomicFile.Write(path, s => WriteSpec(s, tower, kind, textFields, vectorSets, vocabulary, Path.GetFileName(onnxPath)))),
            (onnxPath, path => AtomicFile.Write(path, s => model.WriteTo(s))),
        ]);
        return new ItemSageOnnxExport(onnxPath, featuresPath, kind, [.. model.Graph.Input.Select(i => i.Name)], o.OutputDim,
            new FileInfo(onnxPath).Length);
    }

    private static (string[] TextFields, string[] VectorSets, int ImageDim) ReadSpec(string path)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
            JsonElement root = doc.RootElement;
            string[] Strings(string name) => root.TryGetProperty(name, out JsonElement e)
                ? [.. e.EnumerateArray().Select(x => x.GetString() ?? "")] : [];
            return (Strings("TextFields"), Strings("VectorSets"), root.TryGetProperty("ImageDim", out JsonElement d) ? d.GetInt32() : 0);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new DataFormatException(path, 1, null, $"malformed feature spec: {e.Message}");
        }
    }

    private static void WriteSpec(Stream stream, IItemTower tower, string kind, string[] textFields, string[] vectorSets,
        TextVocabulary vocabulary, string onnxFile)
    {
        ItemSageModelOptions o = tower.Options;
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("format", SpecFormat);
        w.WriteString("version", SpecVersion);
        w.WriteString("onnx", onnxFile);
        w.WriteString("tower", kind);
        w.WriteNumber("opset", OnnxGraph.Opset);
        w.WriteNumber("output_dim", o.OutputDim);

        w.WriteStartArray("inputs");
        if (o.TextFields > 0)
        {
            Input(w, ItemSageOnnxInputs.TokenIds, "int64", ["batch", o.TextFields, "tokens"],
                "vocabulary ids of each text field's tokens (see text), in tokenisation order, padded with 0");
            Input(w, ItemSageOnnxInputs.TokenWeights, "float32", ["batch", o.TextFields, "tokens"],
                "1 for each real token, 0 for padding; a field whose weights are all 0 (no in-vocabulary token) is absent");
        }
        if (o.ImageDim > 0)
        {
            Input(w, ItemSageOnnxInputs.Vectors, "float32", ["batch", o.MaxImages, o.ImageDim],
                "pretrained vectors by slot (see vectors), preprocessed as vectors.preprocessing says; absent slots any value (masked)");
            Input(w, ItemSageOnnxInputs.VectorMask, "float32", ["batch", o.MaxImages], "1 where the slot holds a vector, else 0");
        }
        w.WriteEndArray();
        w.WriteStartObject("output");
        w.WriteString("name", ItemSageOnnxInputs.Embedding);
        w.WriteString("type", "float32");
        w.WriteStartArray("shape");
        w.WriteStringValue("batch");
        w.WriteNumberValue(o.OutputDim);
        w.WriteEndArray();
        w.WriteString("description", "the item embedding, unit L2 norm (cosine = dot product)");
        w.WriteEndObject();

        w.WriteStartObject("text");
        w.WriteStartArray("fields");
        foreach (string f in textFields) w.WriteStringValue(f);
        w.WriteEndArray();
        w.WriteString("fields_source", "columns of items.tsv (tab-separated, header row, first column item_id), in this order (axis 1 of token_ids)");
        w.WriteStartObject("tokenization");
        w.WriteString("normalization", "Unicode NFKC, then invariant lower case (our tables: Unicode 14, BMP, compatibility mappings plus canonical composition of a mark with the preceding character; canonical reordering, supplementary-plane and Hangul jamo composition are not applied)");
        w.WriteString("value_separator", TextTokenizer.ValueSeparator);
        w.WriteString("values", "the normalised field is split on value_separator; tokens never cross two values");
        w.WriteString("words", "maximal runs of UTF-16 code units that are letters, digits, non-spacing or spacing-combining marks; everything else separates words and is dropped");
        w.WriteString("unigram", "each word");
        w.WriteString("bigram", "word[k-1] + ' ' + word[k] for consecutive words of one value");
        w.WriteString("trigram", "every window of 3 UTF-16 code units of boundary_marker + word + boundary_marker");
        w.WriteString("boundary_marker", TextTokenizer.BoundaryMarker.ToString());
        w.WriteString("order", "per value in order: its unigrams, then its bigrams, then its trigrams");
        w.WriteString("out_of_vocabulary", "dropped (a token not in the vocabulary of its kind has no id)");
        w.WriteString("repeats", "kept (each occurrence is one token)");
        w.WriteEndObject();
        w.WriteStartObject("vocabulary");
        w.WriteNumber("size", vocabulary.Size);
        w.WriteString("ids", "unigrams are ids 0..U-1 in the order listed, then bigrams U..U+B-1, then trigrams");
        string[] kinds = ["unigrams", "bigrams", "trigrams"];
        int id = 0;
        for (int k = 0; k < 3; k++)
        {
            w.WriteStartArray(kinds[k]);
            for (int i = 0; i < vocabulary.Counts[k]; i++) w.WriteStringValue(vocabulary.Token(id++));
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteStartObject("hash");
        w.WriteNumber("rows", o.HashRows);
        w.WriteNumber("dim", o.HashDim);
        w.WriteString("h1_multiplier", $"0x{HashMultiplier1:X16}");
        w.WriteString("h2_multiplier", $"0x{HashMultiplier2:X16}");
        w.WriteString("function", "h(t) = hi64((x ^ (x >> 29)) * m * rows) with x = (t + 1) * m, all arithmetic mod 2^64 (t = token id, m = multiplier, hi64 = high 64 bits of the 128-bit product)");
        w.WriteString("in_graph", "yes: the graph holds h1 and h2 for every id as int64 tables; callers pass vocabulary ids, not hash rows");
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject("vectors");
        w.WriteStartArray("sets");
        foreach (string s in vectorSets) w.WriteStringValue(s);
        w.WriteEndArray();
        w.WriteNumber("dimension", o.ImageDim);
        w.WriteNumber("slots", o.ImageDim > 0 ? o.MaxImages : 0);
        w.WriteString("source", "vectors/NAME.npy (float32 [n, d]) with vectors/NAME.ids (one item id per row) for each set, in the order listed");
        w.WriteString("preprocessing", "each vector v of a set (its own dimension d) is scaled to L2 norm sqrt(d) (a zero vector stays zero, and still counts as present), then zero-padded to 'dimension'");
        w.WriteString("slot_layout", o.ProjectionPerVectorSet ? "by_set" : "packed");
        w.WriteString("slot_layout_rule", o.ProjectionPerVectorSet
            ? "by_set: slot j holds the item's vector of set j; vector_mask[j] = 1 when the item has a vector in that set"
            : "packed: the item's present vectors, in set order, fill slots 0, 1, ...; vector_mask is 1 on those slots");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Input(Utf8JsonWriter w, string name, string type, object[] shape, string description)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("type", type);
        w.WriteStartArray("shape");
        foreach (object d in shape)
        {
            if (d is string s) w.WriteStringValue(s);
            else w.WriteNumberValue((int)d);
        }
        w.WriteEndArray();
        w.WriteString("description", description);
        w.WriteEndObject();
    }
}
