using Spectre.Console;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>The console every command writes through (installed as <see cref="AnsiConsole.Console"/> at start-up):
/// Spectre's own detection trusts TERM even when standard output is a file or a pipe, and drops colour but not bold
/// under NO_COLOR, so both are decided here.</summary>
internal static class CliConsole
{
    /// <summary>Line width when the output is not a terminal: wide enough that no table or line wraps (a file has no
    /// width; wrapping at Spectre's default 80 columns would split rows that scripts read).</summary>
    internal const int RedirectedWidth = 4096;

    /// <summary>A console on <paramref name="output"/>: no escape codes when <paramref name="isTerminal"/> is false or
    /// <paramref name="noColor"/> is set (any non-empty value, https://no-color.org), and no line limit when it is not a
    /// terminal.</summary>
    public static IAnsiConsole Create(TextWriter output, bool isTerminal, string? noColor)
    {
        bool plain = !isTerminal || !string.IsNullOrEmpty(noColor);
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = plain ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = plain ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = isTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!isTerminal) console.Profile.Width = RedirectedWidth;
        return console;
    }

    /// <summary>The console for this process's standard output.</summary>
    public static IAnsiConsole ForStandardOutput() =>
        Create(Console.Out, !Console.IsOutputRedirected, Environment.GetEnvironmentVariable("NO_COLOR"));
}
