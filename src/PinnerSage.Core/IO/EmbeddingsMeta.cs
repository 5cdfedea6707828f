using System.Globalization;
using System.Text.Json;

namespace PinnerSage.IO;

/// <summary>What an embeddings file was fitted on, kept in a sidecar <c>E.meta.json</c> beside <c>E.npy</c>:
/// <c>{"kind": "cooccurrence", "trained_until": 1388534400, "trained_until_utc": "2014-01-01T00:00:00Z"}</c>.
/// Engagement-trained embeddings (co-occurrence, ItemSage) have seen every action before
/// <see cref="TrainedUntil"/>; an offline evaluation that tests on such actions measures memorisation, so
/// <c>pinnersage eval</c> reads the sidecar and refuses an overlapping test period.</summary>
/// <param name="Kind">Producer: <c>cooccurrence</c> or <c>itemsage</c>.</param>
/// <param name="TrainedUntil">Exclusive end (Unix seconds) of the actions the embeddings were trained on; null when
/// unknown (e.g. an ItemSage model saved before cuts were recorded).</param>
public sealed record EmbeddingsMeta(string Kind, long? TrainedUntil)
{
    /// <summary>The sidecar of <paramref name="npyPath"/>: <c>E.npy</c> → <c>E.meta.json</c>.</summary>
    public static string PathFor(string npyPath)
    {
        ArgumentNullException.ThrowIfNull(npyPath);
        return Path.ChangeExtension(npyPath, ".meta.json");
    }

    /// <summary>Writes <paramref name="path"/> atomically.</summary>
    public void Write(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("kind", Kind);
            if (TrainedUntil is long t)
            {
                w.WriteNumber("trained_until", t);
                w.WriteString("trained_until_utc", FormatTime(t));
            }
            else
            {
                w.WriteNull("trained_until");
            }
            w.WriteEndObject();
        });
    }

    /// <summary>Reads a sidecar written by <see cref="Write"/>; null when <paramref name="path"/> does not exist.</summary>
    /// <exception cref="DataFormatException">Not a JSON object with a string <c>kind</c> and an integer or null
    /// <c>trained_until</c>.</exception>
    public static EmbeddingsMeta? TryRead(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) return null;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("kind", out JsonElement kind) || kind.ValueKind != JsonValueKind.String)
                throw new DataFormatException(path, 0, "kind", "expected a JSON object with a string \"kind\"");
            long? until = null;
            if (root.TryGetProperty("trained_until", out JsonElement t) && t.ValueKind != JsonValueKind.Null)
            {
                if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt64(out long seconds))
                    throw new DataFormatException(path, 0, "trained_until", "expected Unix seconds (an integer) or null");
                until = seconds;
            }
            return new EmbeddingsMeta(kind.GetString()!, until);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, (e.LineNumber ?? 0) + 1, null, $"not valid JSON ({e.Message})");
        }
    }

    /// <summary>Unix seconds as an ISO 8601 UTC time (date only at midnight).</summary>
    public static string FormatTime(long seconds)
    {
        DateTimeOffset t = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return t.TimeOfDay == TimeSpan.Zero
            ? t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }
}
