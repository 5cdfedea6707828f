using System.CommandLine;
using System.Text.Json;

namespace PinnerSage.Cli.Infrastructure;

/// <summary><c>--json</c>: one JSON document on standard output, snake_case as the HTTP API writes it, so scripts parse
/// the CLI and the service alike; everything else the command would print goes to standard error or is left out.</summary>
internal static class CliJson
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>A new <c>--json</c> flag (<paramref name="description"/>: what the document holds, when not the API's shape).</summary>
    public static Option<bool> CreateOption(string? description = null) =>
        new("--json") { Description = description ?? "Print one JSON document (snake_case, the HTTP API's shape) on standard output instead of tables." };

    /// <summary>Writes <paramref name="document"/> as one line on standard output.</summary>
    public static void Write<T>(T document) => Console.Out.WriteLine(JsonSerializer.Serialize(document, Options));
}
