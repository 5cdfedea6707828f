using System.CommandLine;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage profiles` (stub, to be implemented).</summary>
internal static class ProfilesCommand
{
    public static Command Create() => new("profiles", "Not implemented yet.");
}
