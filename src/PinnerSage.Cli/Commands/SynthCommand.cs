using System.CommandLine;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage synth` (stub, to be implemented).</summary>
internal static class SynthCommand
{
    public static Command Create() => new("synth", "Not implemented yet.");
}
