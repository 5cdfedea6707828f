using System.Text;

namespace PinnerSage.IO;

/// <summary>The item catalogue <c>items.tsv</c>: a header whose first column is <c>item_id</c> and whose other columns
/// are text fields (names from the header; they differ between datasets), then one row per item.</summary>
/// <remarks>Memory (our choice): the file's UTF-8 bytes are kept as they are, with the byte offset of every field, and
/// a text field is decoded only when asked for, so a catalogue costs about its file size plus 4 bytes per field plus
/// the id dictionary (12k–1M items: a few MB to a few hundred MB). Rules: a UTF-8 BOM is skipped, <c>\r\n</c> is
/// accepted, blank lines are skipped (and counted for line numbers), every row must have as many fields as the
/// header, ids must be non-empty and unique. Fields are not quoted or escaped (a tab cannot occur inside a field).</remarks>
public sealed class ItemCatalog
{
    private readonly byte[] _bytes;
    private readonly int[] _bounds; // per row: start of each of the k fields, then the end of the last field
    private readonly string[] _ids;
    private readonly Dictionary<string, int> _rows;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly int _titleColumn;

    private ItemCatalog(string source, string[] columns, byte[] bytes, int[] bounds, string[] ids, Dictionary<string, int> rows)
    {
        Source = source;
        Columns = columns;
        _bytes = bytes;
        _bounds = bounds;
        _ids = ids;
        _rows = rows;
        _lookup = rows.GetAlternateLookup<ReadOnlySpan<char>>();
        int title = Array.FindIndex(columns, c => c.Equals("title", StringComparison.OrdinalIgnoreCase));
        _titleColumn = title > 0 ? title : columns.Length > 1 ? 1 : 0;
    }

    /// <summary>The file the catalogue was read from.</summary>
    public string Source { get; }

    /// <summary>Column names from the header; <c>Columns[0]</c> is the id column.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Number of items.</summary>
    public int Count => _ids.Length;

    /// <summary>Item ids in file order.</summary>
    public IReadOnlyList<string> Ids => _ids;

    /// <summary>Looks an item id up without allocating; <paramref name="row"/> is its 0-based position in the file.</summary>
    public bool TryGetRow(ReadOnlySpan<char> itemId, out int row) => _lookup.TryGetValue(itemId, out row);

    /// <summary>True when the catalogue has the item.</summary>
    public bool Contains(ReadOnlySpan<char> itemId) => _lookup.ContainsKey(itemId);

    /// <summary>A text field of a row (column 0 is the id), decoded from UTF-8.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Row or column out of range.</exception>
    public string Field(int row, int column)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)_ids.Length, nameof(row));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)column, (uint)Columns.Count, nameof(column));
        int k = Columns.Count;
        int start = _bounds[row * (k + 1) + column];
        int end = column + 1 < k ? _bounds[row * (k + 1) + column + 1] - 1 : _bounds[row * (k + 1) + k];
        return Encoding.UTF8.GetString(_bytes, start, end - start);
    }

    /// <summary>A named text field of an item, or null when the item or the column is unknown.</summary>
    public string? Field(string itemId, string column)
    {
        int c = IndexOfColumn(column);
        return c >= 0 && TryGetRow(itemId, out int row) ? Field(row, c) : null;
    }

    /// <summary>The item's display title: the "title" column when present, otherwise the first text field (the id
    /// itself when the file has only an id column); null when the item is unknown.</summary>
    public string? Title(ReadOnlySpan<char> itemId) => TryGetRow(itemId, out int row) ? Field(row, _titleColumn) : null;

    /// <summary>Header names of an image URL column, in order of preference (our choice: the names datasets use).</summary>
    public static readonly IReadOnlyList<string> ImageColumns = ["image_url", "image", "imurl", "image_link"];

    /// <summary>Whether the catalogue has an image URL column (<see cref="ImageColumns"/>).</summary>
    public bool HasImages => ImageColumn() > 0;

    /// <summary>The item's image URL from the image column, or null (unknown item, no such column, an empty field, or a
    /// value that is not an absolute http, https or data:image URL — never a script or a local path).</summary>
    public string? ImageUrl(ReadOnlySpan<char> itemId)
    {
        int column = ImageColumn();
        if (column <= 0 || !TryGetRow(itemId, out int row)) return null;
        string url = Field(row, column).Trim();
        bool safe = Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) && (uri.Scheme is "http" or "https"
                    || (uri.Scheme == "data" && url.StartsWith("data:image/", StringComparison.OrdinalIgnoreCase)));
        return safe ? url : null;
    }

    private int ImageColumn()
    {
        foreach (string name in ImageColumns)
            if (IndexOfColumn(name) is > 0 and var c) return c;
        return -1;
    }

    /// <summary>Index of a column by name (case-insensitive), or −1.</summary>
    public int IndexOfColumn(string name)
    {
        for (int i = 0; i < Columns.Count; i++)
        {
            if (Columns[i].Equals(name, StringComparison.OrdinalIgnoreCase)) return i;
        }
        return -1;
    }

    /// <summary>Reads and validates an <c>items.tsv</c> file. Also accepts, recognised by their first line, MovieLens
    /// <c>movies.csv</c> (<c>movieId,title,genres</c>; genres joined with " | ") and Amazon product metadata JSON lines
    /// (columns item_id, title, brand, categories, price), converted to the same layout with line numbers kept.</summary>
    /// <exception cref="DataFormatException">Bad header, a row with the wrong number of fields, an empty or duplicate id.</exception>
    public static ItemCatalog Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = File.ReadAllBytes(path);
        byte[] tsv = CatalogFormats.ToTsv(bytes, path, out int lineOffset);
        return Parse(tsv, path, lineOffset);
    }

    /// <summary>A catalogue held in memory: <paramref name="textFields"/> name the columns after item_id, and each item gives
    /// its id and one text per field (same rules as the file: ids by <see cref="IdRules"/>, unique, no tab or line break
    /// in a text).</summary>
    /// <param name="textFields">Column names after item_id.</param>
    /// <param name="items">(id, texts) per item, texts in <paramref name="textFields"/> order.</param>
    /// <param name="name">Names the catalogue in errors (record numbers count from 1 after a header).</param>
    /// <exception cref="DataFormatException">An item with the wrong number of texts, a bad or duplicate id, or a text
    /// holding a tab or line break.</exception>
    public static ItemCatalog FromItems(IReadOnlyList<string> textFields, IEnumerable<(string Id, IReadOnlyList<string> Texts)> items,
        string name = "memory")
    {
        ArgumentNullException.ThrowIfNull(textFields);
        ArgumentNullException.ThrowIfNull(items);
        // The same representation and checks as a file: the items become TSV bytes once, then the one parser reads them.
        var text = new StringBuilder("item_id");
        foreach (string field in textFields) text.Append('\t').Append(Clean(field, name, 1, "header"));
        long record = 1;
        foreach ((string id, IReadOnlyList<string> texts) in items)
        {
            record++;
            text.Append('\n').Append(Clean(id, name, record, "item_id"));
            foreach (string t in texts) text.Append('\t').Append(Clean(t, name, record, "text"));
        }
        return Parse(Encoding.UTF8.GetBytes(text.ToString()), name);

        static string Clean(string value, string name, long record, string field) =>
            value.AsSpan().IndexOfAny('\t', '\n', '\r') < 0 ? value
                : throw new DataFormatException(name, record, field, "a tab or line break inside a field");
    }

    /// <summary>Parses TSV bytes; <paramref name="lineOffset"/> is added to line numbers in errors (a converted
    /// format whose header line was synthesised reports the original file's lines).</summary>
    internal static ItemCatalog Parse(byte[] bytes, string path, int lineOffset = 0)
    {
        int pos = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        long lineNo = lineOffset;
        string[]? columns = null;
        var bounds = new List<int>();
        var ids = new List<string>();
        var rows = new Dictionary<string, int>(StringComparer.Ordinal);
        while (pos < bytes.Length)
        {
            int nl = bytes.AsSpan(pos).IndexOf((byte)'\n');
            int lineEnd = nl < 0 ? bytes.Length : pos + nl;
            int next = nl < 0 ? bytes.Length : lineEnd + 1;
            if (lineEnd > pos && bytes[lineEnd - 1] == '\r') lineEnd--;
            lineNo++;
            ReadOnlySpan<byte> line = bytes.AsSpan(pos, lineEnd - pos);
            if (columns is null)
            {
                columns = Encoding.UTF8.GetString(line).Split('\t');
                if (!columns[0].Trim().Equals("item_id", StringComparison.OrdinalIgnoreCase))
                    throw new DataFormatException(path, lineNo, "item_id",
                        $"expected a header line whose first column is 'item_id', got '{columns[0]}'");
            }
            else if (!line.IsEmpty)
            {
                int k = columns.Length;
                int fieldStart = pos;
                int fields = 0;
                while (true)
                {
                    bounds.Add(fieldStart);
                    fields++;
                    int tab = bytes.AsSpan(fieldStart, lineEnd - fieldStart).IndexOf((byte)'\t');
                    if (tab < 0) break;
                    if (fields == k)
                        throw new DataFormatException(path, lineNo, null, $"row has more than the header's {k} fields");
                    fieldStart += tab + 1;
                }
                if (fields != k)
                    throw new DataFormatException(path, lineNo, columns[fields], $"row has {fields} field{(fields == 1 ? "" : "s")}, the header has {k}");
                bounds.Add(lineEnd);
                int idEnd = k > 1 ? bounds[^k] - 1 : lineEnd;
                string id = Encoding.UTF8.GetString(bytes, pos, idEnd - pos);
                if (id.Length == 0) throw new DataFormatException(path, lineNo, columns[0], "empty item id");
                if (IdRules.Describe("item id", id) is string problem) throw new DataFormatException(path, lineNo, columns[0], problem);
                if (!rows.TryAdd(id, ids.Count))
                    throw new DataFormatException(path, lineNo, columns[0], $"duplicate item id '{id}'");
                ids.Add(id);
            }
            pos = next;
        }
        if (columns is null) throw new DataFormatException(path, 0, null, "file is empty; expected a header line starting with 'item_id'");
        return new ItemCatalog(path, columns, bytes, [.. bounds], [.. ids], rows);
    }
}
