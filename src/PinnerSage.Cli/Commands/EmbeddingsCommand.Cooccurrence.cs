using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Embeddings;
using PinnerSage.IO;

namespace PinnerSage.Cli.Commands;

internal static partial class EmbeddingsCommand
{
    private static Command CreateCooccurrence()
    {
        var dataset = new Option<string>("--dataset") { Description = "Dataset folder in the generic layout (actions.tsv, optional items.tsv).", Required = true };
        var until = new Option<string>("--until") { Description = "Training cut T: only actions with timestamp < T are counted. Unix seconds or an ISO date/time (UTC unless it has an offset), e.g. 2014-01-01.", Required = true };
        var output = new Option<string>("--out") { Description = "Output .npy (float32 [items, dim]); ids go beside it as .ids.", Required = true };
        var dim = new Option<int>("--dim") { Description = "Embedding dimension.", DefaultValueFactory = _ => 64 };
        var window = new Option<int>("--window") { Description = "Each action co-occurs with the next N actions of the same user (time order).", DefaultValueFactory = _ => 10 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the randomised SVD and of the vectors of unseen items.", DefaultValueFactory = _ => 0UL };
        var power = new Option<int>("--power-iterations") { Description = "Power iterations of the randomised SVD (more: more accurate tail singular vectors, slower).", DefaultValueFactory = _ => new CooccurrenceOptions().PowerIterations };
        var unseen = new Option<string>("--unseen") { Description = "Items without any co-occurrence before T: 'random' (a seeded random unit vector: loadable, near-orthogonal to everything) or 'zero' (a zero row: load with --allow-zero / AllowZeroVectors).", DefaultValueFactory = _ => "random" };
        var cmd = new Command("cooccurrence", "Item embeddings from engagement alone: co-occurrence in users' histories before T, PPMI, randomised truncated SVD (rows in items.tsv order, then items only in actions.tsv; written atomically; the cut T goes to E.meta.json, which eval checks).")
        {
            dataset, until, output, dim, window, seed, power, unseen,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            long cut = ParseUntil(pr.GetValue(until)!);
            string outPath = pr.GetValue(output)!;
            if (!outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--out must name a .npy file, got '{outPath}'.");
            DatasetLayout layout = DatasetLayout.Open(pr.GetValue(dataset)!);
            OutputPaths.Check("--out", outPath, OutputPaths.DatasetFiles(layout));
            OutputPaths.Check("--out", ItemEmbeddings.DefaultIdsPath(outPath), OutputPaths.DatasetFiles(layout));
            string unseenMode = pr.GetValue(unseen)!;
            if (unseenMode is not ("random" or "zero"))
                throw new ArgumentException($"--unseen must be 'random' or 'zero', got '{unseenMode}'.");
            var options = new CooccurrenceOptions
            {
                Dimension = pr.GetValue(dim),
                Window = pr.GetValue(window),
                Seed = pr.GetValue(seed),
                PowerIterations = pr.GetValue(power),
            };
            try { options.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--{OptionName(e.ParamName)}: {e.Message}", e); }

            var clock = Stopwatch.StartNew();
            TrainingHistories h = TrainingHistories.Read(layout, cut);
            if (h.UsedActions == 0)
                throw new ArgumentException(h.FirstTimestamp is long first
                    ? $"--until {pr.GetValue(until)} (= {cut}) is not after any action: the first is at {first} ({DateTimeOffset.FromUnixTimeSeconds(first):yyyy-MM-dd HH:mm:ss}Z)."
                    : $"{layout.ActionsPath} has no actions.");
            float[] vectors = CooccurrenceEmbedding.Fit(h.UserStart, h.Items, h.Ids.Count, options, out double[] sigma);
            int k = options.Dimension, missing = 0;
            for (int i = 0; i < h.Ids.Count; i++)
            {
                Span<float> row = vectors.AsSpan(i * k, k);
                if (row.ContainsAnyExcept(0f)) continue;
                missing++;
                if (unseenMode == "random") CooccurrenceEmbedding.ColdStartVector(options.Seed, h.Ids[i], row);
            }
            string idsPath = ItemEmbeddings.DefaultIdsPath(outPath), metaPath = EmbeddingsMeta.PathFor(outPath);
            // The old sidecar goes first, so a failed run cannot leave a new .npy beside an old cut.
            File.Delete(metaPath);
            Npy.Write(outPath, vectors, h.Ids.Count, k);
            IdsFile.Write(idsPath, h.Ids);
            new EmbeddingsMeta("cooccurrence", cut).Write(metaPath);
            var c = CultureInfo.InvariantCulture;
            Console.Out.WriteLine(string.Create(c, $"actions before {cut}: {h.UsedActions:N0} of {h.TotalActions:N0}, {h.Users:N0} users; items: {h.Ids.Count:N0} ({(layout.ItemsPath is null ? "from actions.tsv" : "items.tsv order")})"));
            Console.Out.WriteLine(string.Create(c, $"items without co-occurrence before T: {missing:N0} ({(unseenMode == "random" ? "seeded random unit vectors" : "zero rows")})"));
            Console.Out.WriteLine(string.Create(c, $"singular values: {string.Join(", ", sigma.Take(5).Select(s => s.ToString("G4", c)))}{(sigma.Length > 5 ? ", …" : "")} … {sigma[^1]:G4}"));
            Console.Out.WriteLine(string.Create(c, $"wrote {outPath} ({h.Ids.Count:N0} × {k} float32, rows L2-normalised), {idsPath} and {metaPath} (trained until {EmbeddingsMeta.FormatTime(cut)}) in {clock.Elapsed.TotalSeconds:F1} s"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static string OptionName(string? param) => param switch
    {
        nameof(CooccurrenceOptions.Dimension) => "dim",
        nameof(CooccurrenceOptions.Window) => "window",
        nameof(CooccurrenceOptions.PowerIterations) => "power-iterations",
        _ => param ?? "option",
    };

    /// <summary>Unix seconds, or an ISO 8601 date or date-time (UTC unless it carries an offset).</summary>
    internal static long ParseUntil(string text)
    {
        long seconds;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long unix)) seconds = unix;
        else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out DateTimeOffset time))
            seconds = time.ToUnixTimeSeconds();
        else
            throw new ArgumentException($"--until '{text}' is neither Unix seconds nor an ISO date (e.g. 1388534400 or 2014-01-01).");
        if (seconds < 0 || seconds > ActionsTsvReader.MaxTimestamp)
            throw new ArgumentException($"--until '{text}' is outside 1970-01-01 … 2100-01-01 (0 … {ActionsTsvReader.MaxTimestamp} Unix seconds).");
        return seconds;
    }

    /// <summary>Each user's items before the cut in time order (CSR), over the catalogue: items.tsv rows first, then
    /// items that appear only in actions.tsv (any time), in order of first appearance.</summary>
    private sealed class TrainingHistories
    {
        public required List<string> Ids { get; init; }
        public required int[] UserStart { get; init; }
        public required int[] Items { get; init; }
        public int Users => UserStart.Length - 1;
        public long UsedActions => Items.Length;
        public long TotalActions { get; init; }
        public long? FirstTimestamp { get; init; }

        public static TrainingHistories Read(DatasetLayout layout, long cut)
        {
            var ids = new List<string>();
            var lookup = new Dictionary<string, int>(StringComparer.Ordinal);
            var byId = lookup.GetAlternateLookup<ReadOnlySpan<char>>();
            if (layout.ItemsPath is string itemsPath)
            {
                ItemCatalog catalog = ItemCatalog.Load(itemsPath);
                foreach (string id in catalog.Ids)
                {
                    lookup[id] = ids.Count;
                    ids.Add(id);
                }
            }
            var users = new Dictionary<string, int>(StringComparer.Ordinal);
            var byUser = users.GetAlternateLookup<ReadOnlySpan<char>>();
            var rows = new List<(int User, long Time, int Line, int Item)>();
            long total = 0, first = long.MaxValue;
            using (var reader = new ActionsTsvReader(layout.ActionsPath))
            {
                while (reader.MoveNext())
                {
                    total++;
                    if (!byId.TryGetValue(reader.ItemId, out int item))
                    {
                        item = ids.Count;
                        string id = reader.ItemId.ToString();
                        lookup[id] = item;
                        ids.Add(id);
                    }
                    first = Math.Min(first, reader.Timestamp);
                    if (reader.Timestamp >= cut) continue;
                    if (!byUser.TryGetValue(reader.UserId, out int user))
                    {
                        user = users.Count;
                        users[reader.UserId.ToString()] = user;
                    }
                    rows.Add((user, reader.Timestamp, (int)Math.Min(int.MaxValue, total), item));
                }
            }
            // Ties in time keep file order (a stable, documented tie-break).
            rows.Sort((a, b) => a.User != b.User ? a.User.CompareTo(b.User) : a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Line.CompareTo(b.Line));
            var userStart = new int[users.Count + 1];
            var items = new int[rows.Count];
            for (int r = 0; r < rows.Count; r++)
            {
                userStart[rows[r].User + 1]++;
                items[r] = rows[r].Item;
            }
            for (int u = 0; u < users.Count; u++) userStart[u + 1] += userStart[u];
            return new TrainingHistories
            {
                Ids = ids, UserStart = userStart, Items = items, TotalActions = total,
                FirstTimestamp = total > 0 ? first : null,
            };
        }
    }
}
