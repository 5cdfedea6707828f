using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PinnerSage.Ann;
using PinnerSage.Batch;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Evaluation;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Serving;
using PinnerSage.Storage;
using PinnerSage.Synthetic;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage quickstart`: the end-to-end showcase. Generates a small synthetic world, builds every user's
/// PinnerSage profile with the batch job, and prints a few users' interests next to the ground truth, with the mean
/// adjusted Rand index; then builds an HNSW index over the items and prints those users'
/// recommendations with reasons. No server, no download, well under a minute.</summary>
internal static class QuickstartCommand
{
    /// <summary>The item index the quickstart builds, in its output folder.</summary>
    internal const string IndexFile = "items.hnsw";

    private const int RecommendationsShown = 10;

    /// <summary>The offline-evaluation methods (<see cref="EvalMethods.Names"/>) the quickstart compares on the world's
    /// held-out last days, one line each, in this order: the one list to edit to show another method. The decay average
    /// is the best one on this world (λ = 0.01: relevance 0.49 against 0.47 for λ = 0.1, bench/results/synthetic-geometry.md).</summary>
    internal static readonly IReadOnlyList<string> ComparedMethods = ["default", "pinnersage", "decay-avg-0.01", "last-item"];

    /// <summary>Users sampled for that comparison (our choice: a few seconds on two cores).</summary>
    private const int ComparedUsers = 400;

    public static Command Create()
    {
        var output = new Option<string>("--out")
        { Description = "Output folder.", DefaultValueFactory = _ => "pinnersage-quickstart" };
        var users = new Option<int>("--users") { Description = "Users in the generated world.", DefaultValueFactory = _ => 2000 };
        var seed = new Option<ulong>("--seed") { Description = "Random seed of the world.", DefaultValueFactory = _ => 42 };
        var alpha = new Option<string>("--alpha")
        {
            Description = "Ward merge distance of the α cut (squared Euclidean on unit vectors): a number, or auto (from the " +
                          "median squared distance of random item pairs, as profiles build).",
            DefaultValueFactory = _ => "auto",
        };
        var noItemSage = new Option<bool>("--no-itemsage")
        { Description = "Skip the small ItemSage model (~20 s) that is otherwise trained first; build profiles on the world's own item vectors." };
        var cmd = new Command("quickstart",
            "End-to-end showcase: generate a small synthetic shop, build user profiles, print a few users' interests against the ground truth.")
        {
            output, users, seed, alpha, noItemSage,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
            Run(pr.GetValue(output)!, pr.GetValue(users), pr.GetValue(seed), ProfilesCommand.ParseAlpha(pr.GetValue(alpha)),
                AnsiConsole.Console, itemSage: !pr.GetValue(noItemSage))));
        return cmd;
    }

    /// <summary>Runs the showcase; <paramref name="alpha"/> null = auto (<see cref="AutoAlpha.Resolve"/>);
    /// <paramref name="itemSage"/>: train a small ItemSage model first and build the profiles on its embeddings.</summary>
    internal static int Run(string directory, int userCount, ulong seed, double? alpha, IAnsiConsole console, bool itemSage = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(userCount, 10, "--users");
        var total = Stopwatch.StartNew();
        console.MarkupLine("[bold]PinnerSage quickstart[/]: a generated shop whose users each have a few hidden interests; " +
                           "PinnerSage clusters each user's recent actions and should find them.");
        console.WriteLine();

        // 1. The world.
        var clock = Stopwatch.StartNew();
        var worldOptions = new SyntheticWorldOptions { Users = userCount, Seed = seed };
        (SyntheticWorld world, SyntheticWorldSummary written) = SynthCommand.Generate(worldOptions, directory, threads: 0, quiet: true);
        string actionsPath = Path.Combine(directory, SyntheticWorldWriter.ActionsFile);
        Step(console, 1, $"world: {written.Users:N0} users, {written.Actions:N0} actions over {worldOptions.Days} days, " +
                         $"{written.Items:N0} items in {written.Topics} topics, d = {world.Dimension}", actionsPath, clock);

        // 2. Profiles through the batch job, exactly as `pinnersage profiles build` runs it.
        clock.Restart();
        // The shipped retrieval settings decide the profile's λ, singletons and α scale, as in profiles build.
        RetrievalSettings settings = RetrievalSettings.Default;
        ProfileOptions profileOptions = settings.ApplyTo(new ProfileOptions());
        string storePath = Path.Combine(directory, "profiles.db"), jsonlPath = Path.Combine(directory, "profiles.jsonl");
        BatchSummary batch;
        string embeddingsPath = itemSage
            ? ItemSageCommand.QuickstartEmbeddings(directory, seed, console)
            : Path.Combine(directory, SyntheticWorldWriter.VectorsFile);
        // One table for the profiles and, in step 4, the index, so medoids and candidates share a space.
        using ItemEmbeddings itemTable = ItemEmbeddings.Load(embeddingsPath);
        using (SqliteProfileStore store = SqliteProfileStore.Open(storePath))
        using (var jsonl = new JsonLinesProfileWriter(jsonlPath))
        {
            // The showcase rewrites its own folder, whatever an earlier run left there.
            var pipeline = new ProfilePipeline(itemTable, ProfilesCommand.Pipeline(profileOptions, alpha, settings, new BatchOptions { AllowShrink = true }));
            batch = pipeline.RunIntoStore(ActionSource.File(actionsPath), store, jsonl);
            profileOptions = pipeline.ProfileOptions;
        }
        Step(console, 2, $"profiles: {batch.UsersWritten:N0} users, {batch.Clusters:N0} clusters " +
                         $"({ProfilesCommand.AlphaText(profileOptions.Alpha, alpha is null)}, λ = {profileOptions.DecayLambda}/day{(settings.AutoLambda ? " (auto)" : "")}, last {profileOptions.WindowDays} days)",
             storePath + " + profiles.jsonl", clock);

        // 3. Compare with the ground truth.
        clock.Restart();
        var results = new UserRecovery[world.UserCount];
        var profiles = new UserProfile?[world.UserCount];
        var actions = new List<SyntheticAction>();
        using (SqliteProfileStore store = SqliteProfileStore.Open(storePath))
        {
            for (int u = 0; u < world.UserCount; u++)
            {
                actions.Clear();
                world.GenerateUser(u, actions);
                profiles[u] = store.Get(world.UserId(u));
                results[u] = InterestRecovery.EvaluateUser(world, u, actions, profiles[u], profileOptions, batch.Now);
            }
        }
        RecoverySummary summary = InterestRecovery.Summarize(results);
        Step(console, 3, $"ground truth: mean adjusted Rand index {summary.MeanAri:F2} over {summary.Users:N0} users", null, clock);

        // 4. The item index and each shown user's recommendations (papers/PINNERSAGE.md, Retrieval).
        clock.Restart();
        string indexPath = Path.Combine(directory, IndexFile);
        var index = new HnswIndex(itemTable.Dimension, new HnswOptions { Metric = VectorMetric.Cosine }, itemTable.Count);
        index.Build(itemTable.Matrix, itemTable.Count, Environment.ProcessorCount);
        index.SetItemIds(itemTable.Ids);
        index.Save(indexPath);
        var recommender = new Recommender(index, itemTable, new RecommenderOptions { K = RecommendationsShown });
        Step(console, 4, $"index: HNSW over {index.Count:N0} items (M = {index.Options.M}, efConstruction = {index.Options.EfConstruction}, cosine)",
             indexPath, clock);
        console.WriteLine();

        var shown = new Recommendation[RecommendationsShown];
        foreach (int u in PickUsers(results))
        {
            ShowUser(console, world, profiles[u]!, results[u]);
            RecommendationSummary rs = recommender.Recommend(profiles[u]!, batch.Now, shown);
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"[bold]Recommended[/] for {profiles[u]!.UserId}: {rs.MedoidsSampled} medoids sampled ∝ importance, their nearest " +
                $"items blended round-robin, engaged items left out"));
            RecommendCommand.Write(console, itemTable, shown.AsSpan(0, rs.Count), id => world.ItemTitle(ItemIndex(id)), showIds: false);
            console.WriteLine();
        }

        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]Interest recovery[/]: mean ARI [green]{summary.MeanAri:F3}[/] (median {summary.MedianAri:F2}) over {summary.Users:N0} users; " +
            $"the same clusters with shuffled members score {summary.MeanRandomAri:F3}."));
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"  ARI 1 = each user's clusters are exactly the interests behind the actions, 0 = chance. " +
            $"Users average {summary.MeanInterests:F1} true interests and {summary.MeanClusters:F1} clusters; " +
            $"{summary.UnclusteredShare:P1} of their items fell in no cluster (first merge above α)."));
        console.WriteLine();
        CompareOnHeldOutDays(console, directory);

        string sample = world.UserId(PickUsers(results).FirstOrDefault());
        string dir = Quote(directory);
        console.MarkupLine("[bold]Next[/]:");
        // Plain lines, not a table: the commands are meant to be copied, so they must not wrap inside cells.
        (string What, string Command)[] next =
        [
            ("recommendations with reasons for any user (K = 50 by default)",
             $"pinnersage recommend --store {dir}/profiles.db --index {dir}/{IndexFile} --user {sample} --items {dir}/items.tsv"),
            ("items similar to one item",
             $"pinnersage similar --index {dir}/{IndexFile} --item {world.ItemId(0)} --items {dir}/items.tsv"),
            ("one stored profile with titles",
             $"pinnersage profiles show --store {dir}/profiles.db --user {sample} --items {dir}/items.tsv"),
            ("rebuild with a fixed α instead of auto (or try --lambda, --window-days, --count-repeats)",
             $"pinnersage profiles build --actions {dir}/actions.tsv --embeddings {Quote(embeddingsPath)} --store {dir}/profiles.db --alpha 1.5"),
            ("Ward + α cut on any set of vectors, scipy-compatible linkage",
             $"pinnersage cluster --vectors {dir}/vectors/item.npy --linkage-out z.npy"),
            ("a 1M-user world (≈ 60M actions) for the batch benchmark",
             "pinnersage synth --users 1000000 --out world-1m"),
        ];
        foreach ((string what, string command) in next)
        {
            console.MarkupLine($"  [grey]# {Markup.Escape(what)}[/]");
            console.Profile.Out.Writer.WriteLine($"  {command}"); // raw: no wrapping, so it can be copied
        }
        // 5. The serving workspace: the same files tied together for `pinnersage serve`.
        new Workspace
        {
            Directory = Path.GetFullPath(directory),
            EmbeddingsPath = Path.GetFullPath(embeddingsPath),
            IndexPath = Path.GetFullPath(indexPath),
            ItemsPath = Path.GetFullPath(Path.Combine(directory, SyntheticWorldWriter.ItemsFile)),
            StoreLocation = Path.GetFullPath(storePath),
            ActionsPath = Path.GetFullPath(actionsPath),
            ActionTypes = SyntheticWorld.ActionLabels,
            ProfileOptions = profileOptions,
        }.Save();
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[grey]Files in {Markup.Escape(Path.GetFullPath(directory))} (serving workspace: {Workspace.FileName}); done in {total.Elapsed.TotalSeconds:F1} s.[/]"));
        console.WriteLine();
        console.MarkupLine("[bold]Serve it[/] (HTTP API, online updates and the web page), then open the page:");
        console.Profile.Out.Writer.WriteLine($"  pinnersage serve --workspace {dir} --urls {ServeCommand.DefaultUrls}");
        console.Profile.Out.Writer.WriteLine($"  {ServeCommand.PageUrl(ServeCommand.DefaultUrls)}");
        return ExitCodes.Ok;
    }

    /// <summary>The paper's offline protocol (walk-forward over the last 10 % of the actions, day by day, each day's
    /// profiles built from the days before it) for <see cref="ComparedMethods"/>, on the world's own item vectors: the
    /// quickstart's ItemSage model was trained on every day, so evaluating on it would test on its training data.</summary>
    private static void CompareOnHeldOutDays(IAnsiConsole console, string directory)
    {
        var clock = Stopwatch.StartNew();
        using ItemEmbeddings items = ItemEmbeddings.Load(Path.Combine(directory, SyntheticWorldWriter.VectorsFile));
        EvalActions actions = EvalActions.Load(Path.Combine(directory, SyntheticWorldWriter.ActionsFile), items);
        var options = new OfflineEvalOptions
        {
            Protocol = EvalProtocol.WalkForward, MaxUsers = ComparedUsers, Methods = ComparedMethods, CurveMaxEmbeddings = 0,
            BootstrapResamples = 200,
        };
        OfflineEvalReport r = OfflineEvaluation.Run(actions, items, options, "quickstart", SyntheticWorldWriter.VectorsFile).Report;
        var c = CultureInfo.InvariantCulture;
        console.MarkupLine("[bold]Held-out days[/] " + Markup.Escape(string.Create(c,
            $"({r.Protocol}; {r.Users:N0} sampled users, {r.TestActions:N0} test actions, the world's item vectors; 95 % intervals):")));
        foreach (string method in ComparedMethods)
        {
            IReadOnlyDictionary<string, MetricEstimate> m = r.Results[method];
            string Metric(string name) => string.Create(c, $"{name} {m[name].Value:F3} [{m[name].Low:F3}, {m[name].High:F3}]");
            console.Profile.Out.Writer.WriteLine($"  {method,-15} {Metric("relevance")}  {Metric("recall")}  {Metric("recall@10")}");
        }
        // The workspace's report: the page links it (Workspace.ReportFile).
        string reportPath = Path.Combine(directory, Workspace.ReportFile);
        AtomicFile.WriteText(reportPath, w => w.Write(OfflineEvalHtmlReport.Render(r)));
        console.MarkupLine(string.Create(c, $"  [grey]relevance: share of test actions whose item is within cosine {options.RelevanceThreshold} of one of the K = {options.Candidates} candidates; recall: whose item is a candidate; recall@10: in the top 10 of the whole catalogue ({clock.Elapsed.TotalSeconds:F1} s). Report: {Markup.Escape(reportPath)} (linked from the page). Full table: pinnersage eval --dataset {Markup.Escape(Quote(directory))} --embeddings item[/]"));
        console.WriteLine();
    }

    private static string Quote(string path) => path.Contains(' ') ? $"\"{path}\"" : path;

    private static void Step(IAnsiConsole console, int number, string text, string? output, Stopwatch clock)
    {
        string where = output is null ? "" : $" → {output}";
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[blue]{number}/4[/] {Markup.Escape(text + where)} [grey]({clock.Elapsed.TotalSeconds:F1} s)[/]"));
    }

    /// <summary>Three users with ≥ 2 clusters and more items: a light, a medium and a heavy one, each the first of its
    /// kind in user order, so the print-out is the same on every run.</summary>
    private static IEnumerable<int> PickUsers(UserRecovery[] results)
    {
        (int Min, int Max)[] kinds = [(2, 3), (4, 6), (7, 12)];
        var picked = new List<int>();
        foreach ((int min, int max) in kinds)
        {
            UserRecovery? r = results.FirstOrDefault(r => r.Clusters >= min && r.Clusters <= max && r.Interests >= min
                                                         && !picked.Contains(r.User) && !double.IsNaN(r.Ari));
            if (r is not null) picked.Add(r.User);
        }
        foreach (UserRecovery r in results)
        {
            if (picked.Count >= 3) break;
            if (r.Clusters >= 1 && !picked.Contains(r.User)) picked.Add(r.User);
        }
        return picked;
    }

    private static void ShowUser(IAnsiConsole console, SyntheticWorld world, UserProfile profile, UserRecovery result)
    {
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]{profile.UserId}[/]: {result.Items} distinct items in the window, {result.Interests} true interests, " +
            $"{profile.Clusters.Count} clusters, {result.Unclustered} {(result.Unclustered == 1 ? "item" : "items")} in no cluster, ARI {result.Ari:F2}"));
        var table = new Table().AddColumns("#", "medoid item", "importance", "size", "true interest of the members");
        table.Columns[2].RightAligned();
        table.Columns[3].RightAligned();
        for (int k = 0; k < profile.Clusters.Count; k++)
        {
            ProfileCluster c = profile.Clusters[k];
            int medoid = ItemIndex(c.Medoid);
            var topics = c.Members.GroupBy(m => world.ItemTopic(ItemIndex(m)))
                .Select(g => (Topic: g.Key, Count: g.Count())).OrderByDescending(g => g.Count).ThenBy(g => g.Topic).ToArray();
            string truth = world.Topics[topics[0].Topic].Name
                           + (topics.Length == 1 ? "" : string.Create(CultureInfo.InvariantCulture,
                               $" ({topics[0].Count}/{c.Members.Count}, +{topics.Length - 1} other)"));
            table.AddRow(
                (k + 1).ToString(CultureInfo.InvariantCulture),
                Markup.Escape(world.ItemTitle(medoid)),
                c.Importance.ToString("F2", CultureInfo.InvariantCulture),
                c.Size.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(truth));
        }
        console.Write(table);
        console.WriteLine();
    }

    /// <summary>Item ids are "i" + zero-padded 1-based index (see <see cref="SyntheticWorld.ItemId"/>).</summary>
    private static int ItemIndex(string itemId) => int.Parse(itemId.AsSpan(1), CultureInfo.InvariantCulture) - 1;
}
