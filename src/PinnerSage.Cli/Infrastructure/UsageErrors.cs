using System.CommandLine;
using System.Text.RegularExpressions;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>Command-line parse errors as one line each and exit 3 (System.CommandLine's default is exit 1, which the
/// CLI reserves for "not found", with .NET type names in the message).</summary>
internal static partial class UsageErrors
{
    /// <summary>Gives every command without one a <c>--verbose</c> flag (stack traces of unexpected errors).</summary>
    public static void AddVerbose(Command command)
    {
        foreach (Command sub in command.Subcommands) AddVerbose(sub);
        if (command.Action is null || command.Options.Any(o => o.Name == "--verbose")) return;
        command.Options.Add(new Option<bool>("--verbose") { Description = "Print the stack trace of an unexpected error." });
    }

    public static int Report(ParseResult parsed)
    {
        foreach (System.CommandLine.Parsing.ParseError error in parsed.Errors)
            Console.Error.WriteLine($"error: {Describe(error.Message)}");
        Console.Error.WriteLine($"usage: {CommandPath(parsed.CommandResult.Command)} --help");
        return ExitCodes.BadUsage;
    }

    /// <summary>The message with .NET type names replaced by words ("expected an integer").</summary>
    internal static string Describe(string message) =>
        ExpectedType().Replace(message, m => "; expected " + TypeWords(m.Groups[1].Value) + ".");

    private static string TypeWords(string type) =>
        type.Contains("Int32", StringComparison.Ordinal) || type.Contains("Int64", StringComparison.Ordinal) ? "an integer"
        : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number"
        : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
        : "a " + type[(type.LastIndexOf('.') + 1)..].TrimEnd(']');

    private static string CommandPath(Command command)
    {
        var names = new List<string> { command.Name };
        foreach (Symbol parent in Parents(command)) names.Insert(0, parent.Name);
        names[0] = "pinnersage";
        return string.Join(' ', names);
    }

    private static IEnumerable<Symbol> Parents(Symbol symbol)
    {
        for (Symbol? p = symbol.Parents.FirstOrDefault(); p is not null; p = p.Parents.FirstOrDefault()) yield return p;
    }

    [GeneratedRegex(@" as expected type '([^']+)'\.?")]
    private static partial Regex ExpectedType();
}
