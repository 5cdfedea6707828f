using System.Text;

namespace PinnerSage.IO;

/// <summary>The <c>.ids</c> companion of an embeddings <c>.npy</c>: one item id per line in row order, UTF-8.</summary>
/// <remarks>Rules: a trailing newline after the last id is optional; <c>\r\n</c> line ends are accepted; a UTF-8 BOM is
/// ignored; an empty line (including a second trailing newline) is an empty id and an error; ids may not contain a
/// tab (it could never match an <c>actions.tsv</c> field); duplicates are an error naming both lines.</remarks>
public static class IdsFile
{
    /// <summary>Reads and validates an ids file.</summary>
    /// <exception cref="DataFormatException">An empty id, an id with a tab, or a duplicate id (naming the line).</exception>
    public static string[] Read(string path)
    {
        return Read(path, out _);
    }

    /// <summary>Reads an ids file and returns the id → row map built while checking for duplicates.</summary>
    internal static string[] Read(string path, out Dictionary<string, int> rows)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true,
                                            new FileStreamOptions { BufferSize = 1 << 16, Options = FileOptions.SequentialScan });
        var ids = new List<string>();
        rows = new Dictionary<string, int>(StringComparer.Ordinal);
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            Check(path, ids.Count + 1, line, rows, ids.Count);
            ids.Add(line);
        }
        return [.. ids];
    }

    /// <summary>Writes ids one per line (with a trailing newline) atomically.</summary>
    /// <exception cref="ArgumentException">An id is empty or contains a tab or line break.</exception>
    public static void Write(string path, IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        foreach (string id in ids)
        {
            if (string.IsNullOrEmpty(id) || id.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)
                throw new ArgumentException($"Item id '{id}' is empty or contains a tab or line break.", nameof(ids));
        }
        AtomicFile.WriteText(path, writer =>
        {
            foreach (string id in ids) writer.WriteLine(id);
        });
    }

    /// <summary>Validates the id of 0-based <paramref name="row"/>, found on 1-based <paramref name="lineNo"/>, and adds
    /// it to <paramref name="rows"/> (id → row; a file's header lines make line and row differ by a constant).</summary>
    internal static void Check(string path, long lineNo, string id, Dictionary<string, int> rows, int row)
    {
        if (id.Length == 0)
            throw new DataFormatException(path, lineNo, "item_id", "empty item id (blank line)");
        if (id.Contains('\t'))
            throw new DataFormatException(path, lineNo, "item_id", $"item id '{id}' contains a tab");
        if (IdRules.Describe("item id", id) is string problem) throw new DataFormatException(path, lineNo, "item_id", problem);
        if (!rows.TryAdd(id, row))
            throw new DataFormatException(path, lineNo, "item_id", $"duplicate item id '{id}' (first on line {lineNo - row + rows[id]})");
    }
}
