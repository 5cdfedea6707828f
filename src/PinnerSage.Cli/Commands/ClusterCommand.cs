using System.CommandLine;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage cluster` (stub, to be implemented).</summary>
internal static class ClusterCommand
{
    public static Command Create() => new("cluster", "Not implemented yet.");
}
