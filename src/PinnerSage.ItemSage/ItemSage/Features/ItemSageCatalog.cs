using PinnerSage.IO;

namespace PinnerSage.ItemSage.Features;

/// <summary>The items ItemSage learns from and embeds: a catalogue (an id and text fields per item) and named sets of
/// pretrained vectors (the paper's image embeddings), from a dataset folder or from memory. Training and embedding read
/// both kinds through the same code (<see cref="ItemSageFeatures"/>).</summary>
public sealed class ItemSageCatalog
{
    private readonly DatasetLayout? _dataset;
    private readonly IReadOnlyDictionary<string, ItemEmbeddings> _memorySets;
    private ItemCatalog? _catalog;

    private ItemSageCatalog(DatasetLayout? dataset, ItemCatalog? catalog, IReadOnlyDictionary<string, ItemEmbeddings> memorySets)
    {
        _dataset = dataset;
        _catalog = catalog;
        _memorySets = memorySets;
        VectorSets = dataset is not null ? [.. dataset.Vectors.Keys] : [.. memorySets.Keys];
    }

    /// <summary>A dataset folder's catalogue: <c>items.tsv</c> and <c>vectors/NAME.npy</c> (+ .ids), read when first needed.</summary>
    public static ItemSageCatalog FromDataset(DatasetLayout dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return new ItemSageCatalog(dataset, null, new Dictionary<string, ItemEmbeddings>());
    }

    /// <summary>A catalogue held in memory.</summary>
    /// <param name="textFields">Names of the text fields (e.g. title, description).</param>
    /// <param name="items">Each item's id and its texts, in <paramref name="textFields"/> order.</param>
    /// <param name="vectorSets">Pretrained vectors by set name (ids need not cover every item: an item without a
    /// vector in a set has one feature fewer); the caller keeps ownership.</param>
    /// <exception cref="DataFormatException">A bad or duplicate id, the wrong number of texts, a tab or line break in a text.</exception>
    public static ItemSageCatalog FromMemory(IReadOnlyList<string> textFields, IEnumerable<(string Id, IReadOnlyList<string> Texts)> items,
        IReadOnlyDictionary<string, ItemEmbeddings>? vectorSets = null)
    {
        ArgumentNullException.ThrowIfNull(textFields);
        ArgumentNullException.ThrowIfNull(items);
        return new ItemSageCatalog(null, ItemCatalog.FromItems(textFields, items), vectorSets ?? new Dictionary<string, ItemEmbeddings>());
    }

    /// <summary>Names of the vector sets on offer.</summary>
    public IReadOnlyList<string> VectorSets { get; }

    /// <summary>Number of items.</summary>
    public int Count => Catalog.Count;

    /// <summary>Item ids, in row order (the rows of every embedding table made from this catalogue).</summary>
    public IReadOnlyList<string> Ids => Catalog.Ids;

    /// <summary>The catalogue (row = item index everywhere in ItemSage).</summary>
    /// <exception cref="DataFormatException">A dataset without items.tsv, or a malformed one.</exception>
    internal ItemCatalog Catalog => _catalog ??= ItemCatalog.Load(_dataset!.ItemsPath
        ?? throw new DataFormatException(_dataset.Root, 0, "items.tsv", "ItemSage needs a catalogue: the dataset has no items.tsv"));

    /// <summary>A vector set and whether the caller must dispose it (sets read from files: yes; the caller's: no).</summary>
    /// <exception cref="DataFormatException">No set of that name.</exception>
    internal (ItemEmbeddings Set, bool Owned) OpenSet(string name)
    {
        if (_dataset is not null && _dataset.Vectors.TryGetValue(name, out string? path))
            return (ItemEmbeddings.Load(path, null, new EmbeddingsLoadOptions { AllowZeroVectors = true }), true);
        if (_dataset is null && _memorySets.TryGetValue(name, out ItemEmbeddings? set)) return (set, false);
        throw new DataFormatException(_dataset is null ? "memory" : Path.Combine(_dataset.Root, "vectors"), 0, name,
            $"no such vector set; the {(_dataset is null ? "catalogue" : "dataset")} has: {(VectorSets.Count == 0 ? "none" : string.Join(", ", VectorSets))}");
    }
}
