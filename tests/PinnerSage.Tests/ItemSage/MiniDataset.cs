using System.Globalization;
using System.Text;
using PinnerSage.IO;

namespace PinnerSage.Tests.ItemSage;

/// <summary>A small generated dataset in the generic layout for ItemSage tests: items in a few topics whose titles
/// share topic words, users who engage with one topic, two vector sets of different dimensions (one with gaps).</summary>
internal static class MiniDataset
{
    public static string Write(string root, int items = 60, int users = 80, int topics = 4, bool vectors = true,
        string[]? actionTypes = null, int seed = 7)
    {
        actionTypes ??= ["click"];
        var rng = new Random(seed);
        Directory.CreateDirectory(root);
        var sb = new StringBuilder("item_id\ttitle\tcategory\n");
        for (int i = 0; i < items; i++)
            sb.Append(CultureInfo.InvariantCulture, $"it{i}\tTopic{i % topics} thing {i} word{i % topics}x\tCat | Sub{i % topics}\n");
        File.WriteAllText(Path.Combine(root, "items.tsv"), sb.ToString());
        var actions = new StringBuilder("user_id\titem_id\ttimestamp\taction\n");
        for (int u = 0; u < users; u++)
        {
            int topic = u % topics;
            for (int k = 0; k < 8; k++)
            {
                int item = topic + topics * rng.Next(items / topics);
                string action = actionTypes[k % actionTypes.Length];
                actions.Append(CultureInfo.InvariantCulture, $"u{u}\tit{item}\t{1_000_000 + u * 10 + k * 1000}\t{action}\n");
            }
        }
        File.WriteAllText(Path.Combine(root, "actions.tsv"), actions.ToString());
        if (vectors)
        {
            Directory.CreateDirectory(Path.Combine(root, "vectors"));
            WriteVectors(Path.Combine(root, "vectors", "image"), Enumerable.Range(0, items).ToArray(), 6, topics, rng);
            WriteVectors(Path.Combine(root, "vectors", "text_lm"), Enumerable.Range(0, items).Where(i => i % 5 != 0).ToArray(), 4, topics, rng);
        }
        return root;
    }

    private static void WriteVectors(string stem, int[] rows, int d, int topics, Random rng)
    {
        var data = new float[rows.Length * d];
        for (int r = 0; r < rows.Length; r++)
        {
            for (int j = 0; j < d; j++) data[r * d + j] = (float)(rng.NextDouble() - 0.5) * 0.3f;
            data[r * d + rows[r] % topics % d] += 1f;
        }
        Npy.Write(stem + ".npy", data, rows.Length, d);
        IdsFile.Write(stem + ".ids", rows.Select(i => "it" + i.ToString(CultureInfo.InvariantCulture)).ToArray());
    }
}
