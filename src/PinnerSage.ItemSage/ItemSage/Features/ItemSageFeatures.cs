using System.Text.Json;
using PinnerSage.IO;
using PinnerSage.ItemSage.Model;

namespace PinnerSage.ItemSage.Features;

/// <summary>Which inputs of a dataset become ItemSage features.</summary>
public sealed record ItemSageFeatureOptions
{
    /// <summary>Text columns of items.tsv; null = every column but item_id.</summary>
    public IReadOnlyList<string>? TextFields { get; init; }

    /// <summary>Pretrained vector sets (names of vectors/NAME.npy); null = all the dataset has; empty = none.</summary>
    public IReadOnlyList<string>? VectorSets { get; init; }

    /// <summary>Unigram vocabulary cap.</summary>
    public int MaxUnigrams { get; init; } = TextVocabulary.DefaultUnigrams;

    /// <summary>Bigram vocabulary cap.</summary>
    public int MaxBigrams { get; init; } = TextVocabulary.DefaultBigrams;

    /// <summary>Trigram vocabulary cap.</summary>
    public int MaxTrigrams { get; init; } = TextVocabulary.DefaultTrigrams;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative cap, or more than <see cref="ItemSageFeatures.MaxVectorSets"/> sets.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxUnigrams);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxBigrams);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxTrigrams);
        if (VectorSets is { Count: > ItemSageFeatures.MaxVectorSets })
            throw new ArgumentOutOfRangeException(nameof(VectorSets), VectorSets.Count, $"at most {ItemSageFeatures.MaxVectorSets} vector sets (the paper's 20 images)");
    }
}

/// <summary>The features of every catalogue item: token ids per text field (through a <see cref="TextVocabulary"/>)
/// and pretrained vectors per vector set; fills <see cref="ItemFeatureBatch"/>es for any list of catalogue rows.</summary>
/// <remarks>Our choices: each vector set (one <c>vectors/NAME.npy</c>) is one "image" position of the sequence, so an
/// item has up to one vector per set (≤ 20 sets). Sets of different dimensions are zero-padded to the largest (the
/// model's one image projection then acts as a per-set projection on the shared leading coordinates); every vector is
/// rescaled to norm √(its dimension) (root-mean-square 1 per coordinate, the scale a linear layer's initialisation
/// expects; measured on amazon-scientific: MLP-concat recall@50 0.307 vs 0.298 with unit vectors, the transformer
/// unchanged) so sets of different scales weigh alike. An item without a vector in a set simply has one
/// position fewer (masked). Catalogue items are the item universe: the whole catalogue is embedded, actions on items
/// missing from items.tsv are ignored by training.</remarks>
internal sealed class ItemSageFeatures : IItemFeatureSource, IDisposable
{
    /// <summary>At most this many vector sets (the paper's "up to 20 images").</summary>
    public const int MaxVectorSets = 20;

    /// <summary>File names inside a model folder.</summary>
    public const string SpecFile = "features.json", VocabularyFile = "vocabulary.tsv";

    private readonly int[] _tokenOffsets; // [items * fields + 1]
    private readonly int[] _tokens;
    private readonly ItemEmbeddings[] _sets;
    private readonly bool[] _ownsSet;
    private readonly int[][] _setRow; // per set: catalogue row → row in the set, or −1

    private ItemSageFeatures(ItemCatalog catalog, TextVocabulary vocabulary, string[] textFields, int[] columns,
        string[] setNames, (ItemEmbeddings[] Sets, bool[] Owned) sets)
    {
        Catalog = catalog;
        Vocabulary = vocabulary;
        TextFields = textFields;
        VectorSets = setNames;
        (_sets, _ownsSet) = sets;
        ImageDim = _sets.Length == 0 ? 0 : _sets.Max(s => s.Dimension);
        int n = catalog.Count, f = columns.Length;
        _tokenOffsets = new int[n * f + 1];
        var tokens = new List<int>();
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < f; c++)
            {
                vocabulary.Encode(catalog.Field(r, columns[c]), tokens);
                _tokenOffsets[r * f + c + 1] = tokens.Count;
            }
        }
        _tokens = [.. tokens];
        _setRow = new int[_sets.Length][];
        for (int s = 0; s < _sets.Length; s++)
        {
            _setRow[s] = new int[n];
            for (int r = 0; r < n; r++) _setRow[s][r] = _sets[s].TryGetRow(catalog.Ids[r], out int row) ? row : -1;
        }
    }

    /// <summary>The catalogue (row = item index everywhere in ItemSage).</summary>
    public ItemCatalog Catalog { get; }

    /// <summary>The token vocabulary.</summary>
    public TextVocabulary Vocabulary { get; }

    /// <summary>Names of the text fields, in feature order.</summary>
    public IReadOnlyList<string> TextFields { get; }

    /// <summary>Names of the vector sets, in position order.</summary>
    public IReadOnlyList<string> VectorSets { get; }

    /// <summary>Dimension of the (padded) pretrained vectors; 0 without vector sets.</summary>
    public int ImageDim { get; }

    /// <summary>Vector positions per item (= number of vector sets).</summary>
    public int MaxImages => _sets.Length;

    /// <summary>Number of catalogue items.</summary>
    public int ItemCount => Catalog.Count;

    /// <summary>Number of in-vocabulary tokens of an item's text field.</summary>
    public int TokenCount(int item, int field) =>
        _tokenOffsets[item * TextFields.Count + field + 1] - _tokenOffsets[item * TextFields.Count + field];

    /// <summary>The model options for these features: vocabulary size, text fields, image dimension and count.</summary>
    public ItemSageModelOptions Apply(ItemSageModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            VocabularySize = Math.Max(1, Vocabulary.Size),
            TextFields = TextFields.Count,
            ImageDim = ImageDim,
            MaxImages = Math.Max(1, MaxImages),
        };
    }

    /// <summary>A batch sized for these features.</summary>
    public ItemFeatureBatch CreateBatch(int capacity) =>
        new(capacity, TextFields.Count, Math.Max(1, MaxImages), ImageDim);

    /// <summary>Fills <paramref name="batch"/> with the items at <paramref name="rows"/> (catalogue rows).</summary>
    public void Fill(ReadOnlySpan<int> rows, ItemFeatureBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int f = TextFields.Count;
        batch.Clear();
        batch.Count = rows.Length;
        int total = 0;
        foreach (int r in rows) total += _tokenOffsets[(r + 1) * f] - _tokenOffsets[r * f];
        if (batch.Tokens.Length < total) batch.Tokens = new int[Math.Max(total, batch.Tokens.Length * 2)];
        int pos = 0;
        batch.TokenOffsets[0] = 0;
        for (int b = 0; b < rows.Length; b++)
        {
            int r = rows[b];
            for (int c = 0; c < f; c++)
            {
                int start = _tokenOffsets[r * f + c], end = _tokenOffsets[r * f + c + 1];
                _tokens.AsSpan(start, end - start).CopyTo(batch.Tokens.AsSpan(pos));
                pos += end - start;
                batch.TokenOffsets[b * f + c + 1] = pos;
            }
            int count = 0;
            for (int s = 0; s < _sets.Length; s++)
            {
                int row = _setRow[s][r];
                if (row < 0) continue;
                Span<float> dest = batch.Images.AsSpan((b * batch.MaxImages + count) * ImageDim, ImageDim);
                dest.Clear();
                ReadOnlySpan<float> v = _sets[s].Vector(row);
                float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
                if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Multiply(v, MathF.Sqrt(v.Length) / norm, dest[..v.Length]);
                batch.ImageSet[b * batch.MaxImages + count] = s;
                count++;
            }
            batch.ImageCount[b] = count;
        }
    }

    /// <summary>Builds the features of a dataset: loads items.tsv and the chosen vector sets and builds the vocabulary.</summary>
    /// <exception cref="DataFormatException">No items.tsv, an unknown text field or vector set.</exception>
    public static ItemSageFeatures Build(DatasetLayout dataset, ItemSageFeatureOptions options) =>
        Build(ItemSageCatalog.FromDataset(dataset), options);

    /// <summary>Builds the features of a catalogue: the chosen text fields' vocabulary and the chosen vector sets.</summary>
    /// <exception cref="DataFormatException">No catalogue, an unknown text field or vector set.</exception>
    public static ItemSageFeatures Build(ItemSageCatalog items, ItemSageFeatureOptions options)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ItemCatalog catalog = items.Catalog;
        string[] fields = options.TextFields is { } tf ? [.. tf] : [.. catalog.Columns.Skip(1)];
        int[] columns = ResolveColumns(catalog, fields);
        var vocabulary = TextVocabulary.Build(catalog, columns, options.MaxUnigrams, options.MaxBigrams, options.MaxTrigrams);
        string[] setNames = options.VectorSets is { } vs ? [.. vs] : [.. items.VectorSets.Take(MaxVectorSets)];
        return new ItemSageFeatures(catalog, vocabulary, fields, columns, setNames, LoadSets(items, setNames));
    }

    /// <summary>The features of a dataset with the vocabulary and choices saved in a model folder (for embedding).</summary>
    public static ItemSageFeatures Load(string modelDirectory, DatasetLayout dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return ReadSpec(modelDirectory).For(ItemSageCatalog.FromDataset(dataset));
    }

    /// <summary>Reads the feature spec and vocabulary of a model folder.</summary>
    /// <exception cref="DataFormatException">A malformed spec or vocabulary.</exception>
    internal static SavedFeatures ReadSpec(string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        string specPath = Path.Combine(modelDirectory, SpecFile);
        Spec spec;
        try
        {
            spec = JsonSerializer.Deserialize<Spec>(File.ReadAllText(specPath))
                   ?? throw new DataFormatException(specPath, 1, null, "empty feature spec");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(specPath, (e.LineNumber ?? 0) + 1, e.Path, $"malformed feature spec (truncated?): {e.Message}");
        }
        return new SavedFeatures(specPath, spec.TextFields, spec.VectorSets, spec.ImageDim,
            TextVocabulary.Load(Path.Combine(modelDirectory, VocabularyFile)));
    }

    /// <summary>A model's feature choices and vocabulary (from <see cref="ReadSpec"/> or a training run), which
    /// featurise any catalogue exactly as in training.</summary>
    internal sealed record SavedFeatures(string Source, string[] TextFields, string[] VectorSets, int ImageDim, TextVocabulary Vocabulary)
    {
        /// <summary>The features of <paramref name="items"/> under these choices.</summary>
        /// <exception cref="DataFormatException">A missing text field or vector set, or vectors of another dimension.</exception>
        public ItemSageFeatures For(ItemSageCatalog items)
        {
            ItemCatalog catalog = items.Catalog;
            var features = new ItemSageFeatures(catalog, Vocabulary, TextFields, ResolveColumns(catalog, TextFields),
                VectorSets, LoadSets(items, VectorSets));
            if (features.ImageDim != ImageDim)
            {
                features.Dispose();
                throw new DataFormatException(Source, 1, "ImageDim", $"the model was trained on vectors of dimension {ImageDim}, the catalogue's are {features.ImageDim}");
            }
            return features;
        }
    }

    /// <summary>This run's choices and vocabulary, for featurising other catalogues the same way.</summary>
    internal SavedFeatures Saved => new(Catalog.Source, [.. TextFields], [.. VectorSets], ImageDim, Vocabulary);

    /// <summary>Writes the feature spec and the vocabulary into a model folder.</summary>
    public void Save(string modelDirectory) => WriteSpec(modelDirectory, Saved);

    /// <summary>Writes saved feature choices and their vocabulary into a model folder (read back by <see cref="ReadSpec"/>).</summary>
    internal static void WriteSpec(string modelDirectory, SavedFeatures features)
    {
        Directory.CreateDirectory(modelDirectory);
        features.Vocabulary.Save(Path.Combine(modelDirectory, VocabularyFile));
        var spec = new Spec { TextFields = features.TextFields, VectorSets = features.VectorSets, ImageDim = features.ImageDim };
        AtomicFile.WriteText(Path.Combine(modelDirectory, SpecFile), w => w.Write(JsonSerializer.Serialize(spec, new JsonSerializerOptions { WriteIndented = true })));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        for (int s = 0; s < _sets.Length; s++)
            if (_ownsSet[s]) _sets[s].Dispose();
    }

    private static int[] ResolveColumns(ItemCatalog catalog, IReadOnlyList<string> fields)
    {
        var columns = new int[fields.Count];
        for (int i = 0; i < fields.Count; i++)
        {
            columns[i] = catalog.IndexOfColumn(fields[i]);
            if (columns[i] <= 0)
                throw new DataFormatException(catalog.Source, 1, fields[i],
                    $"no such text field; the catalogue has: {string.Join(", ", catalog.Columns.Skip(1))}");
        }
        return columns;
    }

    private static (ItemEmbeddings[] Sets, bool[] Owned) LoadSets(ItemSageCatalog items, IReadOnlyList<string> names)
    {
        if (names.Count > MaxVectorSets)
            throw new ArgumentOutOfRangeException(nameof(names), names.Count, $"at most {MaxVectorSets} vector sets");
        var sets = new ItemEmbeddings[names.Count];
        var owned = new bool[names.Count];
        try
        {
            for (int i = 0; i < names.Count; i++) (sets[i], owned[i]) = items.OpenSet(names[i]);
            return (sets, owned);
        }
        catch
        {
            for (int i = 0; i < names.Count; i++)
                if (owned[i]) sets[i].Dispose();
            throw;
        }
    }

    private sealed class Spec
    {
        public string[] TextFields { get; set; } = [];
        public string[] VectorSets { get; set; } = [];
        public int ImageDim { get; set; }
    }
}
