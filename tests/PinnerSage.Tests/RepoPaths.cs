namespace PinnerSage.Tests;

/// <summary>Finds the repository root and the shared datasets beside it. One source file compiled into both the tests
/// and bench/PinnerSage.Benchmarks (linked from its project file), so both look in the same places.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string?> Datasets = new(FindDatasetsRoot);

    /// <summary>The nearest folder holding PinnerSage.slnx above the current directory, else above the running
    /// assembly's folder; null when neither is inside the repository.</summary>
    public static string? FindRepoRoot()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "PinnerSage.slnx"))) return dir.FullName;
        }
        return null;
    }

    /// <summary>The <c>shared/datasets</c> folder (a sibling of the repository, found by walking up from the running
    /// assembly's folder), or null when absent. The environment variable PINNERSAGE_DATASETS overrides the search.</summary>
    public static string? DatasetsRoot => Datasets.Value;

    private static string? FindDatasetsRoot()
    {
        string? env = Environment.GetEnvironmentVariable("PINNERSAGE_DATASETS");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            // The repository folder's sibling "shared" holds the datasets: <parent>/shared/datasets.
            string candidate = Path.Combine(dir.FullName, "shared", "datasets");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Path of an entry inside the datasets root (e.g. "amazon-beauty/actions.tsv"), or null when the root or
    /// that entry is absent.</summary>
    public static string? Dataset(string relativePath)
    {
        if (DatasetsRoot is not string root) return null;
        string path = Path.Combine(root, relativePath);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }
}
