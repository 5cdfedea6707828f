using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using PinnerSage.IO;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>Range checks at parse time, one table for every command, so a bad value fails with exit 3 naming the
/// option before any file is opened (our limits: far above any sensible run, far below what exhausts memory).</summary>
internal static class OptionRanges
{
    /// <summary>Most worker threads of any command: each worker holds its own scratch (the batch job's Ward matrix is
    /// up to 16 MB), so thread counts are capped rather than trusted.</summary>
    public const int MaxThreads = Batch.BatchOptions.MaxThreads;

    /// <summary>Largest k of `recommend`, `similar` and `index search`.</summary>
    public const int MaxK = 10_000;

    private static readonly Dictionary<string, (double Min, double Max)> Limits = new(StringComparer.Ordinal)
    {
        ["--threads"] = (0, MaxThreads),
        ["--k"] = (1, MaxK),
        ["--now"] = (0, ActionsTsvReader.MaxTimestamp),
        ["--M"] = (2, 512),
        ["--ef"] = (1, 100_000),
        ["--ef-construction"] = (1, 100_000),
        ["--members"] = (0, 100_000),
        ["--medoids"] = (1, 1_000),
        ["--cache"] = (1, 100_000_000),
        ["--users"] = (1, 10_000_000),
        ["--items"] = (1, 100_000_000),
        ["--topics"] = (1, 1_000_000),
        ["--days"] = (1, 36_500),
        ["--window-days"] = (0, 1_000_000),
        ["--step-days"] = (0, 1_000_000),
        ["--dimension"] = (1, 65_536),
        ["--dim"] = (1, 65_536),
        ["--d-model"] = (1, 65_536),
        ["--output-dim"] = (1, 65_536),
        ["--max-actions"] = (1, Clustering.UserClusterer.MaxItems),
        ["--batch"] = (1, 1_000_000),
        ["--seeds"] = (1, 1_000),
        ["--candidates"] = (1, 1_000_000),
        ["--sampled"] = (1, 1_000),
        ["--leave-out"] = (1, 100_000),
        ["--bootstrap"] = (0, 1_000_000),
        ["--writes-per-second"] = (0, 1_000_000),
        ["--lambda"] = (0, 1_000_000),
        ["--dedup-threshold"] = (0, 1),
    };

    /// <summary>Adds the checks to every option of <paramref name="command"/> and its subcommands named in the table.</summary>
    public static void Apply(Command command)
    {
        foreach (Command sub in command.Subcommands) Apply(sub);
        foreach (Option option in command.Options)
        {
            if (!Limits.TryGetValue(option.Name, out (double Min, double Max) range)) continue;
            option.Validators.Add(result => Check(result, option.Name, range.Min, range.Max));
        }
    }

    private static void Check(OptionResult result, string name, double min, double max)
    {
        foreach (Token token in result.Tokens)
        {
            // Text that is not a number is left to the type conversion, which reports it.
            if (!double.TryParse(token.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) continue;
            if (v >= min && v <= max) continue;
            string hint = name == "--now" && v is >= 946_684_800_000 and <= ActionsTsvReader.MaxTimestamp * 1000.0
                ? $" ({token.Value} looks like milliseconds: divide by 1000)"
                : name == "--threads" ? $" (at most {MaxThreads}; 0 = all cores)" : "";
            result.AddError(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {token.Value} is out of range; expected {min:G} to {max:G}{hint}."));
        }
    }
}
