using System.CommandLine;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage embeddings` (stub, to be implemented).</summary>
internal static class EmbeddingsCommand
{
    public static Command Create() => new("embeddings", "Not implemented yet.");
}
