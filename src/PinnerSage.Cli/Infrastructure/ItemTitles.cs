using PinnerSage.IO;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>Reads the titles of a few items from items.tsv (header line; first column item_id; the column named
/// "title", else the second column, is the title).</summary>
internal static class ItemTitles
{
    public static IReadOnlyDictionary<string, string> Load(string path, IReadOnlySet<string> wanted)
    {
        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        using var reader = new StreamReader(path);
        string? header = reader.ReadLine() ?? throw new DataFormatException(path, 1, null, "empty file, expected a header line");
        string[] columns = header.Split('\t');
        int titleColumn = Array.FindIndex(columns, c => c.Equals("title", StringComparison.OrdinalIgnoreCase));
        if (titleColumn < 0) titleColumn = columns.Length > 1 ? 1 : 0;
        string? line;
        while ((line = reader.ReadLine()) is not null && titles.Count < wanted.Count)
        {
            int tab = line.IndexOf('\t');
            string id = tab < 0 ? line : line[..tab];
            if (!wanted.Contains(id)) continue;
            string[] fields = line.Split('\t');
            string title = titleColumn < fields.Length ? fields[titleColumn] : "";
            titles[id] = title.Length > 80 ? string.Concat(title.AsSpan(0, 79), "…") : title;
        }
        return titles;
    }
}
