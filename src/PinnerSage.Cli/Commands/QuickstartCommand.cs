using System.CommandLine;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage quickstart` (stub, to be implemented).</summary>
internal static class QuickstartCommand
{
    public static Command Create() => new("quickstart", "Not implemented yet.");
}
