using PinnerSage.Batch;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>The actions file of a command: Parquet (by extension, through PinnerSage.Parquet) or every text form
/// <see cref="ActionSource.File"/> reads (TSV, CSV with a header, MovieLens, Amazon JSON lines, "-" for stdin).</summary>
internal static class ActionInputs
{
    public static IActionSource Open(string path) =>
        path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? ParquetActionSource.Open(path) : ActionSource.File(path);

    /// <summary>Several files read one after the other as one source (e.g. a distributed run's Parquet shards).</summary>
    public static IActionSource Open(IReadOnlyList<string> paths)
    {
        if (paths.Count == 1) return Open(paths[0]);
        IActionSource[] sources = [.. paths.Select(Open)];
        return ActionSource.FromAsyncEnumerable(Concat(sources), string.Join(", ", paths), canRescan: sources.All(s => s.CanRescan));
    }

    private static async IAsyncEnumerable<UserAction> Concat(IActionSource[] sources)
    {
        foreach (IActionSource source in sources)
            await foreach (UserAction a in source.ReadAllAsync().ConfigureAwait(false)) yield return a;
    }
}
