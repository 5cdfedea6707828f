using System.Globalization;
using System.Text;

namespace PinnerSage.IO;

/// <summary>Imports item vectors from a text table, one item per line: <c>id SEP v1 SEP v2 …</c> (TSV or CSV).</summary>
/// <remarks>Rules (our choices): the separator is a tab for <c>.tsv</c>/<c>.tab</c>, a comma for <c>.csv</c>, and
/// otherwise sniffed from the first line (tab, then comma, then runs of spaces, as in word2vec/GloVe text files). The
/// first line is a header when none of its fields after the first parses as a number; if only some do, it is an error
/// (a header and a data line cannot be told apart). A word2vec-style first line of two integers ("count dim") is
/// skipped. Every row must have the same number of values; values must be finite; ids non-empty and unique; zero rows
/// are an error unless allowed. Surrounding double quotes around a field are removed (no escaped separators inside).</remarks>
public static class TextVectors
{
    /// <summary>Reads a text vector table into in-memory embeddings (not normalised unless <paramref name="options"/> says so).</summary>
    /// <exception cref="DataFormatException">Bad numbers, ragged rows, NaN/Inf, zero rows, empty or duplicate ids,
    /// naming line and column.</exception>
    public static ItemEmbeddings Read(string path, EmbeddingsLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= EmbeddingsLoadOptions.Default;
        options.Validate();
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true,
                                            new FileStreamOptions { BufferSize = 1 << 16, Options = FileOptions.SequentialScan });
        char? separator = SeparatorFromExtension(path);
        string[]? header = null;
        var ids = new List<string>();
        var rowOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var values = new List<float>();
        int dim = -1;
        long lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0 || string.IsNullOrWhiteSpace(line)) continue;
            separator ??= Sniff(line);
            string[] fields = Split(line, separator.Value);
            if (dim < 0 && header is null && ids.Count == 0)
            {
                int numeric = 0;
                for (int i = 1; i < fields.Length; i++)
                {
                    if (float.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out _)) numeric++;
                }
                if (fields.Length > 1 && numeric == 0)
                {
                    header = fields;
                    continue;
                }
                if (fields.Length == 2 && lineNo == 1 && IsInteger(fields[0]) && IsInteger(fields[1]) && separator == ' ')
                    continue; // word2vec text header "count dim"
                if (numeric < fields.Length - 1)
                {
                    int bad = Array.FindIndex(fields, 1, f => !float.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
                    throw new DataFormatException(path, lineNo, ColumnName(header, bad),
                        $"expected a number, got '{Shorten(fields[bad])}' (the first line mixes numbers and names, so it is neither a header nor data)");
                }
            }
            if (fields.Length < 2)
                throw new DataFormatException(path, lineNo, null,
                    $"expected 'id{Display(separator.Value)}v1{Display(separator.Value)}v2…', got a line with {fields.Length} field");
            if (dim < 0)
            {
                dim = fields.Length - 1;
                if (options.ExpectedDimension is int expected && expected != dim)
                    throw new DataFormatException(path, lineNo, null, $"vectors have dimension {dim}, expected {expected}");
                if (header is not null && header.Length != fields.Length)
                    throw new DataFormatException(path, lineNo, null, $"row has {fields.Length} fields, the header has {header.Length}");
            }
            else if (fields.Length - 1 != dim)
            {
                throw new DataFormatException(path, lineNo, null,
                    $"row has {fields.Length - 1} value{(fields.Length == 2 ? "" : "s")}, expected {dim} like the first row (ragged table)");
            }
            IdsFile.Check(path, lineNo, fields[0], rowOf, ids.Count);
            for (int j = 1; j < fields.Length; j++)
            {
                if (!float.TryParse(fields[j], NumberStyles.Float, CultureInfo.InvariantCulture, out float v))
                    throw new DataFormatException(path, lineNo, ColumnName(header, j), $"expected a number, got '{Shorten(fields[j])}'");
                if (!float.IsFinite(v))
                    throw new DataFormatException(path, lineNo, ColumnName(header, j),
                        $"value '{Shorten(fields[j])}' is not finite{(double.TryParse(fields[j], NumberStyles.Float, CultureInfo.InvariantCulture, out double dv) && double.IsFinite(dv) ? " as float32 (overflow)" : "")}");
                values.Add(v);
            }
            if (!options.AllowZeroVectors && ItemEmbeddings.IsZero(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values)[^dim..]))
                throw new DataFormatException(path, lineNo, null,
                    $"item '{fields[0]}' is a zero vector, which has no direction for cosine similarity; remove the item or allow zero vectors");
            ids.Add(fields[0]);
        }
        if (ids.Count == 0) throw new DataFormatException(path, 0, null, "no vectors found");
        return ItemEmbeddings.FromArray(ids, [.. values], dim, options, path);
    }

    /// <summary>Writes embeddings as a TSV text table with a header <c>item_id v1 … vd</c> (round-trip float format).</summary>
    public static void Write(string path, ItemEmbeddings embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        char sep = SeparatorFromExtension(path) ?? '\t';
        AtomicFile.WriteText(path, w =>
        {
            w.Write("item_id");
            for (int j = 1; j <= embeddings.Dimension; j++) w.Write(string.Create(CultureInfo.InvariantCulture, $"{sep}v{j}"));
            w.WriteLine();
            Span<char> buf = stackalloc char[32];
            for (int i = 0; i < embeddings.Count; i++)
            {
                w.Write(embeddings.Id(i));
                ReadOnlySpan<float> row = embeddings.Vector(i);
                for (int j = 0; j < row.Length; j++)
                {
                    w.Write(sep);
                    row[j].TryFormat(buf, out int n, "R", CultureInfo.InvariantCulture);
                    w.Write(buf[..n]);
                }
                w.WriteLine();
            }
        });
    }

    internal static char? SeparatorFromExtension(string path)
    {
        string p = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        string ext = Path.GetExtension(p).ToLowerInvariant();
        return ext switch { ".tsv" or ".tab" => '\t', ".csv" => ',', _ => null };
    }

    private static char Sniff(string line) => line.Contains('\t') ? '\t' : line.Contains(',') ? ',' : ' ';

    private static string[] Split(string line, char sep)
    {
        string[] fields = sep == ' '
            ? line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : line.Split(sep);
        for (int i = 0; i < fields.Length; i++)
        {
            string f = fields[i].Trim();
            if (f.Length >= 2 && f[0] == '"' && f[^1] == '"') f = f[1..^1];
            fields[i] = f;
        }
        return fields;
    }

    private static bool IsInteger(string s) => s.Length > 0 && !s.AsSpan().ContainsAnyExceptInRange('0', '9');

    private static string ColumnName(string[]? header, int column) =>
        header is not null && column < header.Length ? header[column] : $"column {column + 1}";

    private static string Display(char sep) => sep switch { '\t' => "<TAB>", ' ' => " ", _ => sep.ToString() };

    private static string Shorten(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
