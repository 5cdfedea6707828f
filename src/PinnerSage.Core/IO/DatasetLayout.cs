namespace PinnerSage.IO;

/// <summary>The generic dataset layout shared by the real datasets and the synthetic world:
/// <c>actions.tsv</c> (required; <c>actions.tsv.gz</c> also accepted), <c>items.tsv</c> (optional) and
/// <c>vectors/NAME.npy</c> + <c>vectors/NAME.ids</c> (optional, any number of named vector sets).</summary>
public sealed class DatasetLayout
{
    private DatasetLayout(string root, string actions, string? items, IReadOnlyDictionary<string, string> vectors)
    {
        Root = root;
        ActionsPath = actions;
        ItemsPath = items;
        Vectors = vectors;
    }

    /// <summary>The dataset folder.</summary>
    public string Root { get; }

    /// <summary>Path of the actions file.</summary>
    public string ActionsPath { get; }

    /// <summary>Path of <c>items.tsv</c>, or null when the dataset has no catalogue.</summary>
    public string? ItemsPath { get; }

    /// <summary>Vector sets by name (file name without extension) → .npy path; the .ids file is beside it.</summary>
    public IReadOnlyDictionary<string, string> Vectors { get; }

    /// <summary>Finds the files of a dataset folder.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="DataFormatException">The folder has no actions file.</exception>
    public static DatasetLayout Open(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"Dataset folder '{root}' does not exist.");
        string? actions = new[] { "actions.tsv", "actions.tsv.gz" }.Select(f => Path.Combine(root, f)).FirstOrDefault(File.Exists)
            ?? throw new DataFormatException(root, 0, null, "not a dataset folder: it has no actions.tsv (layout: actions.tsv, items.tsv, vectors/NAME.npy + NAME.ids)");
        string itemsPath = Path.Combine(root, "items.tsv");
        var vectors = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string vectorDir = Path.Combine(root, "vectors");
        if (Directory.Exists(vectorDir))
        {
            foreach (string npy in Directory.EnumerateFiles(vectorDir, "*.npy"))
                vectors[Path.GetFileNameWithoutExtension(npy)] = npy;
        }
        return new DatasetLayout(root, actions, File.Exists(itemsPath) ? itemsPath : null, vectors);
    }
}
