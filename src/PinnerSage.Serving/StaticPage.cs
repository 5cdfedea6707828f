using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace PinnerSage.Serving;

/// <summary>The web page: files under wwwroot/ embedded in this assembly (one binary, works offline), read once.</summary>
internal static class StaticPage
{
    private const string Prefix = "wwwroot/";

    private static readonly FrozenDictionary<string, byte[]> Files = Load();

    /// <summary>The embedded file names (relative to wwwroot/).</summary>
    public static IEnumerable<string> Names => Files.Keys;

    public static IResult Serve(string file)
    {
        if (!Files.TryGetValue(file, out byte[]? bytes))
            return TypedResults.Problem(detail: $"No page asset '{file}'.", statusCode: 404, title: "Not found");
        return TypedResults.Bytes(bytes, ContentType(file));
    }

    private static FrozenDictionary<string, byte[]> Load()
    {
        Assembly assembly = typeof(StaticPage).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            using Stream stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[Prefix.Length..]] = copy.ToArray();
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string file) => Path.GetExtension(file).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".ico" => "image/x-icon",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };
}
