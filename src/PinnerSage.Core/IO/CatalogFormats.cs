using System.Text;
using System.Text.Json;

namespace PinnerSage.IO;

/// <summary>Converts the original public item-metadata formats into the generic <c>items.tsv</c> layout in memory,
/// one output line per input line so errors keep the input's line numbers. Text is cleaned of tabs and line breaks
/// (replaced by spaces), since they cannot occur inside a TSV field.</summary>
internal static class CatalogFormats
{
    private static readonly string[] AmazonColumns = ["item_id", "title", "brand", "categories", "price"];

    /// <summary>Returns <paramref name="bytes"/> unchanged when they already are TSV, else the converted TSV bytes;
    /// <paramref name="lineOffset"/> maps a TSV line number back to the input's (−1 when a header line was added).</summary>
    public static byte[] ToTsv(byte[] bytes, string path, out int lineOffset)
    {
        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        ReadOnlySpan<byte> rest = bytes.AsSpan(start);
        int nl = rest.IndexOf((byte)'\n');
        ReadOnlySpan<byte> first = (nl < 0 ? rest : rest[..nl]).TrimEnd((byte)'\r');
        lineOffset = 0;
        if (!first.IsEmpty && first[0] == (byte)'{')
        {
            lineOffset = -1;
            return FromAmazonJson(rest, path);
        }
        if (Encoding.UTF8.GetString(first).Replace(" ", "").Equals("movieId,title,genres", StringComparison.OrdinalIgnoreCase))
            return FromMovieLensCsv(rest, path);
        return bytes;
    }

    private static byte[] FromMovieLensCsv(ReadOnlySpan<byte> bytes, string path)
    {
        var sb = new StringBuilder(bytes.Length + 1024);
        long lineNo = 0;
        foreach (string raw in Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            if (lineNo == 1)
            {
                sb.Append("item_id\ttitle\tgenres\n");
                continue;
            }
            if (line.Length > 0)
            {
                List<string> fields = SplitCsv(line, path, lineNo);
                for (int i = 0; i < fields.Count; i++)
                {
                    if (i > 0) sb.Append('\t');
                    string f = Clean(fields[i]);
                    // MovieLens joins genres with '|'; the generic layout uses " | " for multi-valued fields.
                    sb.Append(i == 2 ? f.Replace("|", " | ") : f);
                }
            }
            sb.Append('\n');
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>RFC 4180 fields of one line: quoted fields may hold commas and doubled quotes.</summary>
    private static List<string> SplitCsv(string line, string path, long lineNo)
    {
        var fields = new List<string>(3);
        var f = new StringBuilder();
        int i = 0;
        while (true)
        {
            f.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length) throw new DataFormatException(path, lineNo, null, "unterminated quoted field");
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"') { f.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    f.Append(line[i++]);
                }
                if (i < line.Length && line[i] != ',')
                    throw new DataFormatException(path, lineNo, null, $"unexpected character '{line[i]}' after a quoted field");
            }
            else
            {
                int comma = line.IndexOf(',', i);
                int end = comma < 0 ? line.Length : comma;
                f.Append(line, i, end - i);
                i = end;
            }
            fields.Add(f.ToString());
            if (i >= line.Length) break;
            i++; // the comma
        }
        return fields;
    }

    private static byte[] FromAmazonJson(ReadOnlySpan<byte> bytes, string path)
    {
        var sb = new StringBuilder(bytes.Length / 2);
        sb.AppendJoin('\t', AmazonColumns).Append('\n');
        long lineNo = 0;
        int pos = 0;
        while (pos < bytes.Length)
        {
            int nl = bytes[pos..].IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = (nl < 0 ? bytes[pos..] : bytes.Slice(pos, nl)).TrimEnd((byte)'\r');
            pos = nl < 0 ? bytes.Length : pos + nl + 1;
            lineNo++;
            if (line.Trim((byte)' ').IsEmpty)
            {
                sb.Append('\n');
                continue;
            }
            try
            {
                using JsonDocument doc = JsonDocument.Parse(line.ToArray());
                JsonElement o = doc.RootElement;
                if (o.ValueKind != JsonValueKind.Object) throw new DataFormatException(path, lineNo, null, "expected a JSON object per line");
                string id = Text(o, "parent_asin") is { Length: > 0 } parent ? parent : Text(o, "asin");
                if (id.Length == 0) throw new DataFormatException(path, lineNo, "asin", "missing or empty item id (asin)");
                string categories = Text(o, "categories") is { Length: > 0 } c ? c : Text(o, "category");
                sb.Append(Clean(id)).Append('\t').Append(Clean(Text(o, "title"))).Append('\t').Append(Clean(Text(o, "brand")))
                  .Append('\t').Append(Clean(categories)).Append('\t').Append(Clean(Text(o, "price"))).Append('\n');
            }
            catch (JsonException e)
            {
                throw new DataFormatException(path, lineNo, null, $"invalid JSON: {e.Message}");
            }
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>A value as text: strings as they are, numbers as written, arrays flattened and joined with " | ".</summary>
    private static string Text(JsonElement o, string key)
    {
        if (!o.TryGetProperty(key, out JsonElement v)) return "";
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString() ?? "",
            JsonValueKind.Number => v.GetRawText(),
            JsonValueKind.Array => string.Join(" | ", Flatten(v).Distinct()),
            _ => "",
        };
    }

    private static IEnumerable<string> Flatten(JsonElement array)
    {
        foreach (JsonElement e in array.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (string s in Flatten(e)) yield return s;
            }
            else if (e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } s)
            {
                yield return s;
            }
        }
    }

    private static string Clean(string s) =>
        s.AsSpan().IndexOfAny('\t', '\n', '\r') < 0 ? s : s.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
}
