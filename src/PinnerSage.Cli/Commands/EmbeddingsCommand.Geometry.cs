using System.CommandLine;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Embeddings;
using PinnerSage.IO;

namespace PinnerSage.Cli.Commands;

internal static partial class EmbeddingsCommand
{
    private static Command CreateGeometry()
    {
        var vectors = new Option<string>("--vectors") { Description = "The .npy table to measure.", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Ids file (default: beside the .npy)." };
        var actions = new Option<string?>("--actions") { Description = "actions.tsv: also measure users' items, their mean and the rank of each user's next item." };
        var defaults = new GeometryOptions();
        var pairs = new Option<int>("--pairs") { Description = "Random item pairs sampled.", DefaultValueFactory = _ => defaults.Pairs };
        var maxUsers = new Option<int>("--max-users") { Description = "Users measured at most (seeded sample).", DefaultValueFactory = _ => defaults.MaxUsers };
        var maxHistory = new Option<int>("--max-history") { Description = "Most recent distinct items of a user before the last action.", DefaultValueFactory = _ => defaults.MaxHistory };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the samples.", DefaultValueFactory = _ => defaults.Seed };
        var cmd = new Command("geometry", "Where items, users' items and their averages lie: random-pair cosines, same-user cosines, the mean's norm and nearest item, and the next item's rank around the mean vs around the items (Markdown).")
        {
            vectors, ids, actions, pairs, maxUsers, maxHistory, seed,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var options = new GeometryOptions
            {
                Pairs = pr.GetValue(pairs), MaxUsers = pr.GetValue(maxUsers), MaxHistory = pr.GetValue(maxHistory), Seed = pr.GetValue(seed),
            };
            try { options.Validate(); }
            catch (ArgumentOutOfRangeException ex) { throw new ArgumentException($"--{ex.ParamName switch { "MaxUsers" => "max-users", "MaxHistory" => "max-history", _ => "pairs" }}: {ex.Message}", ex); }
            using ItemEmbeddings e = ItemEmbeddings.Load(pr.GetValue(vectors)!, pr.GetValue(ids), new EmbeddingsLoadOptions { AllowZeroVectors = true });
            if (e.Count < 2) throw new DataFormatException(pr.GetValue(vectors)!, 0, null, "needs at least two items");
            (int[] start, int[] items) = pr.GetValue(actions) is string a ? ReadUserItems(a, e) : ([], []);
            EmbeddingGeometryReport r = EmbeddingGeometry.Measure(e.Matrix, e.Count, e.Dimension, start, items, options);
            Console.Out.Write(GeometryMarkdown(r));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Each user's items with a vector, in time order (ties in file order), as CSR rows.</summary>
    private static (int[] Start, int[] Items) ReadUserItems(string path, ItemEmbeddings e)
    {
        var users = new Dictionary<string, int>(StringComparer.Ordinal);
        var byUser = users.GetAlternateLookup<ReadOnlySpan<char>>();
        var rows = new List<(int User, long Time, long Line, int Item)>();
        using (var reader = new ActionsTsvReader(path))
        {
            while (reader.MoveNext())
            {
                if (!e.TryGetRow(reader.ItemId, out int item)) continue;
                if (!byUser.TryGetValue(reader.UserId, out int user)) users[reader.UserId.ToString()] = user = users.Count;
                rows.Add((user, reader.Timestamp, reader.LineNumber, item));
            }
        }
        rows.Sort();
        var start = new int[users.Count + 1];
        var items = new int[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            start[rows[i].User + 1]++;
            items[i] = rows[i].Item;
        }
        for (int u = 0; u < users.Count; u++) start[u + 1] += start[u];
        return (start, items);
    }

    internal static string GeometryMarkdown(EmbeddingGeometryReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        sb.Append(c, $"{r.Items:N0} items, d = {r.Dimension}\n\n| statistic | mean | sd | 1% | 5% | 25% | median | 75% | 95% | 99% |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        void Row(string name, Distribution x) =>
            sb.Append(c, $"| {name} | {x.Mean:F3} | {x.Sd:F3} | {x.Q01:F3} | {x.Q05:F3} | {x.Q25:F3} | {x.Median:F3} | {x.Q75:F3} | {x.Q95:F3} | {x.Q99:F3} |\n");
        Row("cos(random pair)", r.RandomPairs);
        Row("cos(item, nearest other item)", r.NearestNeighbour);
        if (r.Users is UserGeometry u)
        {
            Row("history length (distinct items)", u.History);
            Row("cos(same-user pair)", u.SameUserPairs);
            Row("‖mean of the user's items‖", u.MeanNorm);
            Row("cos(unit mean, nearest item)", u.MeanNearest);
            Row("cos(user's item, nearest other item)", u.ItemsNearest);
            Row("next item's percentile around the mean", u.NextPercentileMean);
            Row("next item's percentile around the items (max)", u.NextPercentileMax);
        }
        sb.Append(c, $"\n‖catalogue mean‖ = {r.CatalogueMeanNorm:F3}");
        if (r.Users is UserGeometry v) sb.Append(c, $"; {v.Users:N0} users measured");
        sb.Append('\n');
        return sb.ToString();
    }
}
