using PinnerSage.IO;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>Checks an output path before anything is written: not an existing folder, a writable parent folder, and
/// not one of the run's inputs (by file identity, so a hard link or "./a/../x" is caught too).</summary>
internal static class OutputPaths
{
    /// <summary>The files of a dataset folder as inputs: actions, catalogue, every vector set and its ids.</summary>
    public static (string Option, string? Path)[] DatasetFiles(DatasetLayout layout) =>
    [
        ("--dataset", layout.ActionsPath), ("--dataset", layout.ItemsPath),
        .. layout.Vectors.Values.SelectMany(npy => new (string, string?)[] { ("--dataset", npy), ("--dataset", ItemEmbeddings.DefaultIdsPath(npy)) }),
    ];

    /// <summary>Throws (exit 3, naming the option) when <paramref name="output"/> cannot or must not be written.</summary>
    /// <param name="option">The output's option, e.g. "--jsonl-out".</param>
    /// <param name="output">The output path, or null (nothing to check).</param>
    /// <param name="inputs">The run's inputs and other outputs as (option, path); null paths are skipped, "-" is standard input.</param>
    /// <exception cref="ArgumentException">A folder, a missing parent folder, or the same file as an input.</exception>
    public static void Check(string option, string? output, params (string Option, string? Path)[] inputs)
    {
        if (output is null) return;
        if (output.Length == 0) throw new ArgumentException($"{option}: the path is empty.");
        if (Directory.Exists(output)) throw new ArgumentException($"{option}: {output} is a folder; give a file path.");
        string? parent = Path.GetDirectoryName(Path.GetFullPath(output));
        if (parent is not null && !Directory.Exists(parent))
            throw new ArgumentException($"{option}: the folder {parent} does not exist.");
        foreach ((string inOption, string? input) in inputs)
        {
            if (input is null or "-") continue;
            // An existing file by identity; a path not written yet (another output of the run) by name.
            bool same = File.Exists(input) ? FileIdentity.Same(output, input)
                : string.Equals(Path.GetFullPath(output), Path.GetFullPath(input), StringComparison.Ordinal);
            if (same)
                throw new ArgumentException($"{option}: {output} is the same file as {inOption} {input}; " +
                                            "writing it would destroy that file. Choose another output path.");
        }
    }
}
