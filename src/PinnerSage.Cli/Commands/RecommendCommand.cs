using System.CommandLine;
using System.Globalization;
using PinnerSage.Ann;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Serving;
using PinnerSage.Storage;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage recommend`: one user's PinnerSage candidates (papers/PINNERSAGE.md, Retrieval) from a profile
/// store and an item index, each with its reason: the medoid and cluster that retrieved it and its cosine similarity.</summary>
internal static class RecommendCommand
{
    public static Command Create()
    {
        var store = new Option<string>("--store") { Description = "Profile store (from `profiles build`): a SQLite file, or postgres:<connection string>.", Required = true };
        var user = new Option<string>("--user") { Description = "User id.", Required = true };
        var index = new Option<string?>("--index")
        { Description = "HNSW index (from `index build`); carries the item ids and vectors." };
        var embeddings = new Option<string?>("--embeddings")
        {
            Description = "Item vectors .npy (+ .ids beside it): the table for an index without ids, or, without --index, " +
                          "searched exactly (brute force).",
        };
        var ids = new Option<string?>("--ids") { Description = "Item ids of --embeddings (default: beside the .npy)." };
        var metric = new Option<string>("--metric")
        { Description = "Metric of the exact search without --index: ip, cosine or l2.", DefaultValueFactory = _ => "cosine" };
        var k = new Option<int>("--k") { Description = "Recommendations (K).", DefaultValueFactory = _ => 50 };
        var items = new Option<string?>("--items") { Description = "items.tsv (or movies.csv, Amazon metadata) for titles." };
        var medoids = new Option<int>("--medoids")
        { Description = "Medoids sampled ∝ importance (all when the user has fewer).", DefaultValueFactory = _ => 3 };
        var seed = new Option<ulong?>("--seed")
        { Description = "Sampling seed (default: from the user id and the day of the profiles' now)." };
        var now = new Option<long?>("--now") { Description = "Unix seconds whose UTC day seeds the sampling (default: the store's now)." };
        var sampling = new Option<string>("--sampling")
        { Description = "proportional (∝ importance, without replacement) or top (most important).", DefaultValueFactory = _ => "proportional" };
        var blend = new Option<string>("--blend")
        { Description = "round-robin (one per medoid in turn, by importance) or similarity (by distance).", DefaultValueFactory = _ => "round-robin" };
        var retrieval = new RetrievalSettingsOptions();
        Option<bool> json = CliJson.CreateOption();
        var cmd = new Command("recommend", "Recommend items for one user with reasons: the mixture over all interests (default) or the paper's sampled medoids.")
        {
            store, user, index, embeddings, ids, metric, k, items, medoids, seed, now, sampling, blend, json,
        };
        retrieval.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            string storePath = pr.GetValue(store)!;
            RetrievalSettings settings = retrieval.Resolve(pr);
            var options = new RecommenderOptions
            {
                Policy = settings.Policy,
                Mixture = settings.Mixture,
                K = pr.GetValue(k),
                Medoids = pr.GetValue(medoids),
                Seed = pr.GetValue(seed),
                Sampling = pr.GetValue(sampling) switch
                {
                    "proportional" => MedoidSampling.ProportionalToImportance,
                    "top" => MedoidSampling.TopImportance,
                    var other => throw new ArgumentException($"--sampling must be proportional or top, not '{other}'"),
                },
                Blending = pr.GetValue(blend) switch
                {
                    "round-robin" => CandidateBlending.RoundRobin,
                    "similarity" => CandidateBlending.BySimilarity,
                    var other => throw new ArgumentException($"--blend must be round-robin or similarity, not '{other}'"),
                },
            };
            string userId = pr.GetValue(user)!;
            UserProfile? profile;
            long storeNow;
            using (IProfileStore profiles = ProfileStores.OpenExisting(storePath))
            {
                profile = profiles.Get(userId);
                storeNow = profiles.GetMetadata()?.Now ?? 0;
            }
            if (profile is null)
            {
                Console.Error.WriteLine($"error: no profile for user '{userId}' in {storePath}.");
                return ExitCodes.NotFound;
            }
            string? itemsPath = pr.GetValue(items);
            ItemCatalog? catalog = itemsPath is null ? null : ItemCatalog.Load(itemsPath);
            using RetrievalInputs inputs = RetrievalInputs.Open(pr.GetValue(index), pr.GetValue(embeddings), pr.GetValue(ids),
                                                                RetrievalInputs.ParseMetric(pr.GetValue(metric)!));
            var recommender = new Recommender(inputs.Index, inputs.Items, options);
            long when = pr.GetValue(now) ?? storeNow;
            ulong usedSeed = options.Seed ?? Recommender.DefaultSeed(profile.UserId, when);
            var results = new Recommendation[options.K];
            RecommendationSummary summary = recommender.RecommendWithSeed(profile, usedSeed, results);
            string? missing = summary.MedoidsWithoutVector == 0 ? null
                : $"warning: {summary.MedoidsWithoutVector} medoid(s) have no vector and were skipped: {string.Join(", ", recommender.MissingMedoids(profile).Take(5))}";
            if (pr.GetValue(json))
            {
                if (missing is not null) Console.Error.WriteLine(missing);
                CliJson.Write(ApiResponses.Recommendations(profile.UserId, options.K, profile.Clusters, results.AsSpan(0, summary.Count),
                                                           inputs.Items, row => catalog?.Title(inputs.Items.Id(row)),
                                                           catalog is { HasImages: true } ? row => catalog.ImageUrl(inputs.Items.Id(row)) : null));
                return summary.Count > 0 || profile.Clusters.Count == 0 ? ExitCodes.Ok : ExitCodes.NotFound;
            }
            IAnsiConsole console = AnsiConsole.Console;
            string how = options.Policy == RetrievalPolicy.Paper
                ? string.Create(CultureInfo.InvariantCulture, $"{summary.MedoidsSampled} medoids sampled (seed {usedSeed})")
                : $"mixture over every cluster ({settings})";
            console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{profile.UserId}: {profile.Clusters.Count} clusters, {how}, {summary.Count} recommendations from {inputs.Description}")));
            if (missing is not null) console.MarkupLine(Markup.Escape(missing));
            Write(console, inputs.Items, results.AsSpan(0, summary.Count), id => catalog?.Title(id));
            return summary.Count > 0 || profile.Clusters.Count == 0 ? ExitCodes.Ok : ExitCodes.NotFound;
        }));
        return cmd;
    }

    /// <summary>The recommendations as a table: rank, item, title, similarity, the medoid (with title) and its cluster
    /// (number in the profile, importance, size). <paramref name="showIds"/> false: titles only (narrow terminals).</summary>
    internal static void Write(IAnsiConsole console, ItemEmbeddings items, ReadOnlySpan<Recommendation> results,
                               Func<string, string?> titleOf, bool showIds = true)
    {
        var table = new Table();
        table.AddColumn("#");
        if (showIds) table.AddColumn("item");
        table.AddColumns("title", "similarity", "from medoid", "cluster (importance, size)");
        table.Columns[showIds ? 3 : 2].RightAligned();
        for (int i = 0; i < results.Length; i++)
        {
            Recommendation r = results[i];
            string item = items.Id(r.Item), medoid = items.Id(r.Medoid);
            string? medoidTitle = titleOf(medoid);
            string medoidText = !showIds && medoidTitle is not null ? Shorten(medoidTitle, 40)
                              : medoidTitle is not null ? $"{medoid} {Shorten(medoidTitle, 40)}" : medoid;
            var cells = new List<string> { (i + 1).ToString(CultureInfo.InvariantCulture) };
            if (showIds) cells.Add(Markup.Escape(item));
            cells.Add(Markup.Escape(Shorten(titleOf(item) ?? "", 60)));
            cells.Add(r.Similarity.ToString("F3", CultureInfo.InvariantCulture));
            cells.Add(Markup.Escape(medoidText));
            cells.Add(string.Create(CultureInfo.InvariantCulture, $"#{r.Cluster + 1} ({r.Importance:F2}, {r.Size}){(r.Contribution < 1 ? $" {r.Contribution:P0}" : "")}"));
            table.AddRow(cells.ToArray());
        }
        console.Write(table);
    }

    private static string Shorten(string text, int max) => text.Length > max ? string.Concat(text.AsSpan(0, max - 1), "…") : text;
}
