using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using PinnerSage.IO;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>Runs a command body and maps every failure to one clear line on standard error and a documented exit code:
/// bad data 2, bad options 3, I/O 4, and anything unexpected (a bug, or input no reader anticipated) also 4, with the
/// stack trace only under <c>--verbose</c>.</summary>
internal static partial class CommandRunner
{
    /// <summary>Set from the command line: print stack traces of unexpected errors.</summary>
    public static bool Verbose { get; set; }

    /// <summary>The command being run, so a library's argument name (<c>TestShare</c>) can be told as its option
    /// (<c>--test-share</c>).</summary>
    public static Command? Current { get; set; }

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>Writes the error line and returns its exit code.</summary>
    public static int Report(Exception e)
    {
        switch (e)
        {
            case DataFormatException or InvalidDataException or Batch.ShrinkRefusedException:
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.BadData;
            case ArgumentException bad:
                Console.Error.WriteLine($"error: {Sentence(bad, Current)}");
                return ExitCodes.BadUsage;
            case IOException or UnauthorizedAccessException or OutOfMemoryException:
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.IoError;
            default:
                // The last resort: one line, never a bare stack trace or exit 1 (which means "not found").
                Console.Error.WriteLine($"error: unexpected {e.GetType().Name}: {FirstLine(e.Message)}" +
                                        (Verbose ? "" : " (run with --verbose for details)"));
                if (Verbose) Console.Error.WriteLine(e);
                return ExitCodes.IoError;
        }
    }

    /// <summary>A bad value as one sentence naming the option: "--negatives must be 1 or more, not -1." rather than
    /// .NET's "Negatives ('-1') must be greater than or equal to '1'. (Parameter 'Negatives') Actual value was -1.".</summary>
    internal static string Sentence(ArgumentException e, Command? command)
    {
        string text = FirstLine(e.Message);
        string? name = e.ParamName;
        if (name is not null) text = text.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        string? option = name is null ? null : OptionFor(name, command);
        if (option is not null && option != name)
        {
            // The argument's own name, and the option's name without its dashes, both become the option.
            text = Regex.Replace(text, $@"\b{Regex.Escape(name!)}\b", option);
            text = Regex.Replace(text, $@"(?<!-)\b{Regex.Escape(option[2..])}\b", option);
        }
        Match standard = StandardOutOfRange().Match(text);
        if (standard.Success)
            return $"{standard.Groups["name"].Value} must be {Rule(standard.Groups["rule"].Value)}, not {standard.Groups["value"].Value}.";
        text = text.TrimEnd('.', ' ');
        if (option is not null && !text.Contains(option, StringComparison.Ordinal))
            text = text.StartsWith("must ", StringComparison.Ordinal) ? $"{option} {text}" : $"{option}: {text}";
        if (e is ArgumentOutOfRangeException { ActualValue: { } actual })
            text += string.Create(CultureInfo.InvariantCulture, $", not {actual}");
        return text + ".";
    }

    /// <summary>The option of <paramref name="command"/> an argument name stands for: itself ("--k"), or its kebab
    /// form ("MinWalkUsers" → "--min-walk-users"); null when the command has no such option.</summary>
    private static string? OptionFor(string name, Command? command)
    {
        if (name.StartsWith("--", StringComparison.Ordinal)) return name;
        string kebab = Renamed.TryGetValue(name, out string? renamed) ? renamed
            : "--" + PascalWord().Replace(name, "-$0").ToLowerInvariant().TrimStart('-');
        // Case-insensitive, so HNSW's "M" finds "--M".
        return command?.Options.FirstOrDefault(o => string.Equals(o.Name, kebab, StringComparison.OrdinalIgnoreCase))?.Name;
    }

    /// <summary>Options named otherwise than the library property they set.</summary>
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["DuplicateCosine"] = "--dedup-threshold",
        ["CurveMaxEmbeddings"] = "--curve-max",
        ["BootstrapResamples"] = "--bootstrap",
        ["SampledEmbeddings"] = "--sampled",
        ["DecayLambda"] = "--lambda",
    };

    /// <summary>.NET's ThrowIf… wording in plain words.</summary>
    private static string Rule(string rule)
    {
        rule = rule.Replace("'", "", StringComparison.Ordinal);
        return rule switch
        {
            "a non-negative and non-zero value" => "more than 0",
            "a non-negative value" => "0 or more",
            _ when rule.StartsWith("greater than or equal to ", StringComparison.Ordinal) => rule[25..] + " or more",
            _ when rule.StartsWith("less than or equal to ", StringComparison.Ordinal) => rule[22..] + " or less",
            _ when rule.StartsWith("greater than ", StringComparison.Ordinal) => "more than " + rule[13..],
            _ => rule,
        };
    }

    [GeneratedRegex(@"^(?<name>\S+) \('(?<value>[^']*)'\) must be (?<rule>.+?)\.?$")]
    private static partial Regex StandardOutOfRange();

    [GeneratedRegex(@"[A-Z]")]
    private static partial Regex PascalWord();

    private static string FirstLine(string message)
    {
        int end = message.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? message : message[..end];
    }
}
