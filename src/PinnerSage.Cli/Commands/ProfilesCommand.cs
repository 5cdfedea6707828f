using System.CommandLine;
using System.Globalization;
using System.Text;
using PinnerSage.Batch;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Clustering;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Serving;
using PinnerSage.Storage;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage profiles build | map | plan | load | show`: the batch job into a store (and JSON lines), the same model as
/// a Hadoop Streaming / Spark RDD.pipe mapper, and a look at one stored profile.</summary>
internal static partial class ProfilesCommand
{
    public static Command Create()
    {
        var cmd = new Command("profiles", "Build, stream and inspect PinnerSage user profiles.");
        cmd.Subcommands.Add(CreateBuild());
        cmd.Subcommands.Add(CreateMap());
        cmd.Subcommands.Add(CreatePlan());
        cmd.Subcommands.Add(CreateLoad());
        cmd.Subcommands.Add(CreateShow());
        return cmd;
    }

    /// <summary>The model options shared by build and map.</summary>
    internal sealed class ModelOptions
    {
        public readonly Option<string> Embeddings = new("--embeddings")
        { Description = "Item embeddings, .npy float32 [n, d].", Required = true };
        public readonly Option<string?> Ids = new("--ids")
        { Description = "Item ids of the embeddings' rows (default: the .npy path with extension .ids)." };
        public readonly Option<string> Alpha = new("--alpha")
        {
            Description = "Ward distance (squared Euclidean) at which the dendrogram is cut: a number, or auto = " +
                          $"{WardClustering.AlphaPerMedianDistance.ToString(CultureInfo.InvariantCulture)} × the median squared distance of random item pairs " +
                          $"(≈ {ProfileOptions.DefaultAlpha.ToString(CultureInfo.InvariantCulture)} for near-orthogonal unit vectors).",
            DefaultValueFactory = _ => "auto",
        };
        public readonly Option<bool> CountRepeats = new("--count-repeats")
        { Description = "Ward sizes = numbers of actions (an item engaged k times weighs k) instead of 1 per distinct item." };
        public readonly Option<double?> Lambda = new("--lambda")
        { Description = "Importance decay per day: sum of w*exp(-lambda*days) (default: auto, chosen from the actions before now, " +
                        "falling back to the settings' 0.05; the paper's 0.01)." };
        public readonly Option<string?> Settings = new("--settings")
        {
            Description = "Retrieval settings (a file from `pinnersage tune`, or a preset: default, paper): α as a multiple of auto, λ, " +
                          "singletons. Explicit --alpha, --lambda, --keep-singletons/--drop-singletons override them.",
        };
        public readonly Option<bool> DropSingletons = new("--drop-singletons")
        { Description = "Drop items whose first merge is above alpha (the paper's default; the shipped settings keep them)." };
        public readonly Option<double?> WindowDays = new("--window-days")
        { Description = "Use actions of the last N days before now (default 90)." };
        public readonly Option<int?> MaxActions = new("--max-actions")
        { Description = $"Keep at most the N most recent actions per user (default {ProfileOptions.DefaultMaxActions})." };
        public readonly Option<long?> Now = new("--now")
        { Description = "The profiles' now, Unix seconds (default: the latest timestamp in the input)." };
        public readonly Option<bool> KeepSingletons = new("--keep-singletons")
        { Description = "Keep items whose first merge is above alpha as one-item clusters (the shipped settings' default)." };
        public readonly Option<string?> ActionWeights = new("--action-weights")
        { Description = "Importance weight per action type, e.g. click=1,save=2 (unlisted types weigh 1)." };
        public readonly Option<string?> ActionsInclude = new("--actions-include")
        { Description = "Use only these action types, e.g. click,save." };
        public readonly Option<bool> NoNormalize = new("--no-normalize")
        { Description = "Cluster the raw vectors instead of unit-normalised ones." };
        public readonly Option<int> Threads = new("--threads")
        { Description = "Worker threads (default: all cores). The output does not depend on it.", DefaultValueFactory = _ => 0 };
        public readonly Option<bool> Strict = new("--strict")
        { Description = "Fail on an action whose item is not in the embeddings (default: skip and count)." };

        public void AddTo(Command cmd)
        {
            foreach (Option o in new Option[]
                     { Embeddings, Ids, Alpha, CountRepeats, Lambda, WindowDays, MaxActions, Now, KeepSingletons, DropSingletons, Settings, ActionWeights,
                       ActionsInclude, NoNormalize, Threads, Strict })
                cmd.Options.Add(o);
        }

        /// <summary>The options with α still unresolved when it is auto (<paramref name="alpha"/> null): call
        /// <see cref="ResolveAlpha"/> once the embeddings are loaded.</summary>
        public ProfileOptions Profile(ParseResult pr, out double? alpha) => Profile(pr, out alpha, out _);

        /// <summary>As <see cref="Profile(ParseResult, out double?)"/>, with the settings that chose the defaults
        /// (auto α is <see cref="RetrievalSettings.AlphaScale"/> × <see cref="AutoAlpha.Resolve"/>).</summary>
        public ProfileOptions Profile(ParseResult pr, out double? alpha, out RetrievalSettings settings)
        {
            var defaults = new ProfileOptions();
            settings = pr.GetValue(Settings) is string s ? RetrievalSettings.FromPresetOrFile(s) : RetrievalSettings.Default;
            // An explicit --lambda fixes λ (no automatic choice).
            if (pr.GetValue(Lambda) is double fixedLambda) settings = settings.WithLambda(fixedLambda);
            if (pr.GetValue(KeepSingletons) && pr.GetValue(DropSingletons))
                throw new ArgumentException("--keep-singletons and --drop-singletons contradict each other.");
            alpha = ParseAlpha(pr.GetValue(Alpha));
            string? weights = pr.GetValue(ActionWeights), include = pr.GetValue(ActionsInclude);
            var options = new ProfileOptions
            {
                Alpha = alpha ?? defaults.Alpha,
                CountRepeats = pr.GetValue(CountRepeats),
                DecayLambda = pr.GetValue(Lambda) ?? settings.Lambda,
                WindowDays = pr.GetValue(WindowDays) ?? defaults.WindowDays,
                MaxActions = pr.GetValue(MaxActions) ?? defaults.MaxActions,
                Now = pr.GetValue(Now),
                KeepSingletons = pr.GetValue(KeepSingletons) || (!pr.GetValue(DropSingletons) && settings.KeepSingletons),
                ActionWeights = weights is null ? null : ProfileOptions.ParseActionWeights(weights),
                IncludeActions = include is null ? null : ProfileOptions.ParseActionList(include),
                NormalizeVectors = !pr.GetValue(NoNormalize),
            };
            options.Validate();
            return options;
        }
    }

    /// <summary>Parses --alpha: "auto" (null) or a number ≥ 0.</summary>
    /// <exception cref="ArgumentException">Neither.</exception>
    internal static double? ParseAlpha(string? text)
    {
        if (text is null || text.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase)) return null;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value) && value >= 0)
            return value;
        throw new ArgumentException($"--alpha: expected 'auto' or a number >= 0, got '{text}'.");
    }

    /// <summary>The options with α resolved: the given number, or <see cref="AutoAlpha.Resolve"/> on the embeddings
    /// (deterministic, so build, map and quickstart agree on the same embeddings).</summary>
    internal static ProfileOptions ResolveAlpha(ProfileOptions options, double? alpha, ItemEmbeddings items, double autoScale = 1) =>
        options with { Alpha = alpha ?? autoScale * AutoAlpha.Resolve(items, options.NormalizeVectors) };

    /// <summary>The batch pipeline's options from parsed model options: <paramref name="alpha"/> null = auto, scaled
    /// by the settings' <see cref="RetrievalSettings.AlphaScale"/>.</summary>
    internal static ProfilePipelineOptions Pipeline(ProfileOptions options, double? alpha, RetrievalSettings settings, BatchOptions batch) => new()
    {
        Profile = alpha is double fixedAlpha ? options with { Alpha = fixedAlpha } : options,
        AutoAlphaScale = alpha is null ? settings.AlphaScale : null,
        AutoLambda = settings.AutoLambda,
        Batch = batch,
    };

    private static Command CreateBuild()
    {
        var model = new ModelOptions();
        var actions = new Option<string>("--actions")
        { Description = "actions.tsv (user_id, item_id, timestamp, action[, value]; header line), or - for stdin.", Required = true };
        var store = new Option<string>("--store")
        {
            Description = "Profile store to (re)write: a SQLite file, or postgres:<Npgsql connection string> / postgresql://…. " +
                          "The store's event log (online actions) up to its last sequence is merged in and marked consumed.",
            Required = true,
        };
        var jsonl = new Option<string?>("--jsonl-out") { Description = "Also export the profiles as JSON lines." };
        var allowShrink = new Option<bool>("--allow-shrink")
        {
            Description = "Commit even a run that read no actions or that keeps fewer than half of the store's profiles " +
                          "(refused by default: an empty file or a wrong --now would wipe the store).",
        };
        var cmd = new Command("build",
            "Build every user's profile from actions.tsv into a store, replacing the previous run in one transaction. " +
            "Input sorted by user id (e.g. LC_ALL=C sort -t$'\\t' -k1,1 -s) is streamed with bounded memory; any other order " +
            "is loaded and sorted in memory (about 24 bytes per action), which the summary reports.")
        {
            actions, store, jsonl, allowShrink,
        };
        model.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ProfileOptions options = model.Profile(pr, out double? alpha, out RetrievalSettings settings);
            var batchOptions = new BatchOptions
            {
                Threads = pr.GetValue(model.Threads),
                Strict = pr.GetValue(model.Strict),
                AllowShrink = pr.GetValue(allowShrink),
            };
            batchOptions.Validate();
            string actionsPath = pr.GetValue(actions)!;
            string storePath = pr.GetValue(store)!;
            string? jsonlPath = pr.GetValue(jsonl);
            string embeddingsPath = pr.GetValue(model.Embeddings)!;
            (string, string?)[] inputs = [("--actions", actionsPath), ("--embeddings", embeddingsPath), ("--ids", pr.GetValue(model.Ids) ?? ItemEmbeddings.DefaultIdsPath(embeddingsPath))];
            if (!ProfileStores.IsPostgres(storePath)) OutputPaths.Check("--store", storePath, inputs);
            OutputPaths.Check("--jsonl-out", jsonlPath, [.. inputs, ("--store", ProfileStores.IsPostgres(storePath) ? null : storePath)]);
            IAnsiConsole console = AnsiConsole.Console;
            bool interactive = console.Profile.Capabilities.Interactive;

            using ItemEmbeddings items = ItemEmbeddings.Load(embeddingsPath, pr.GetValue(model.Ids));
            var pipeline = new ProfilePipeline(items, Pipeline(options, alpha, settings, batchOptions));
            options = pipeline.ProfileOptions;
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"embeddings: {items.Count:N0} items × {items.Dimension}; {AlphaText(options.Alpha, alpha is null)}"));
            using IProfileStore profileStore = ProfileStores.Open(storePath);
            using JsonLinesProfileWriter? export = jsonlPath is null ? null : new JsonLinesProfileWriter(jsonlPath);
            BatchSummary summary = BatchProgressReporter.Run(console, interactive, progress =>
                pipeline.RunIntoStore(ActionInputs.Open(actionsPath), profileStore, export, progress));
            WriteSummary(console, summary, pipeline.ProfileOptions, alpha is null, pipeline.AutoLambdaResult,
                         ProfileStores.IsPostgres(storePath) ? "PostgreSQL" : storePath, jsonlPath);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateMap()
    {
        var model = new ModelOptions();
        model.Now.Required = true;
        var input = new Option<string>("--actions")
        {
            Description = "A shard's actions file (Parquet, or TSV/CSV with a header) holding whole users; its profiles come out in " +
                          "user-id order. Default: - = headerless lines grouped by user on stdin, profiles in input order.",
            DefaultValueFactory = _ => "-",
        };
        var cmd = new Command("map",
            "Streaming mapper (Dask, Hadoop Streaming, Spark RDD.pipe): headerless user<TAB>item<TAB>timestamp[<TAB>action] " +
            "lines grouped by user on stdin (or a shard's file, --actions), one JSON line per user on stdout.")
        {
            input,
        };
        model.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ProfileOptions options = model.Profile(pr, out double? alpha, out RetrievalSettings settings);
            string actionsPath = pr.GetValue(input)!;
            bool stdin = actionsPath == "-";
            // A file is read like profiles build reads one (sorted in memory when it must be); stdin is streamed grouped.
            var batchOptions = new BatchOptions
            {
                Threads = pr.GetValue(model.Threads),
                Strict = pr.GetValue(model.Strict),
                HasHeader = !stdin,
                InputMode = stdin ? BatchInputMode.Grouped : BatchInputMode.Auto,
            };
            batchOptions.Validate();
            using ItemEmbeddings items = ItemEmbeddings.Load(pr.GetValue(model.Embeddings)!, pr.GetValue(model.Ids));
            options = ResolveAlpha(options, alpha, items, settings.AlphaScale);
            using Stream stdout = Console.OpenStandardOutput();
            using var writer = new JsonLinesProfileWriter(stdout);
            var job = new ProfileBatchJob(items, options, batchOptions);
            BatchSummary summary = stdin ? job.Run("-", [writer]) : job.Run(ActionInputs.Open(actionsPath), [], [writer]);
            writer.Commit();
            // stdout carries the data; the summary goes to stderr as one line (counters of a MapReduce task log).
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"profiles map: {AlphaText(options.Alpha, alpha is null)}, {LambdaText(options.DecayLambda, null)}{(settings.AutoLambda ? " (λ = auto needs every user's actions, which a mapper does not see: pass --lambda with the λ profiles build chose, to match it)" : "")}, {summary.UsersWritten} users written, {summary.ActionsRead} actions read, " +
                $"{summary.ActionsUsed} used, {summary.SkippedUnknownItem} unknown items, " +
                $"{summary.SkippedAfterNow + summary.SkippedBeforeWindow} outside the window, " +
                $"{summary.Elapsed.TotalSeconds:F1}s"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateShow()
    {
        var store = new Option<string>("--store")
        { Description = "Profile store: a SQLite file, or postgres:<Npgsql connection string> / postgresql://….", Required = true };
        var user = new Option<string>("--user") { Description = "User id.", Required = true };
        var itemsTsv = new Option<string?>("--items") { Description = "items.tsv (or MovieLens movies.csv, Amazon metadata JSON lines), to print titles." };
        var membersShown = new Option<int>("--members")
        { Description = "Members listed per cluster.", DefaultValueFactory = _ => 5 };
        Option<bool> json = CliJson.CreateOption();
        var cmd = new Command("show", "Print one user's stored profile.") { store, user, itemsTsv, membersShown, json };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            string storePath = pr.GetValue(store)!;
            string userId = pr.GetValue(user)!;
            int shown = pr.GetValue(membersShown);
            using IProfileStore profileStore = ProfileStores.OpenExisting(storePath);
            UserProfile? profile = profileStore.Get(userId);
            if (profile is null)
            {
                Console.Error.WriteLine($"error: no profile for user '{userId}' in {storePath}.");
                return ExitCodes.NotFound;
            }
            ProfileRunMetadata? meta = profileStore.GetMetadata();
            string? itemsPath = pr.GetValue(itemsTsv);
            ItemCatalog? catalog = itemsPath is null ? null : ItemCatalog.Load(itemsPath);
            if (pr.GetValue(json))
                CliJson.Write(ApiResponses.Interests(profile.UserId, meta?.Now ?? 0, meta?.Now ?? 0, 0, profile.Clusters, null, shown,
                                                     id => catalog?.Title(id), catalog is { HasImages: true } ? id => catalog.ImageUrl(id) : null));
            else
                WriteProfile(AnsiConsole.Console, profile, meta, catalog, shown);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static void WriteProfile(IAnsiConsole console, UserProfile profile, ProfileRunMetadata? meta,
                                     ItemCatalog? catalog, int shown)
    {
        int size = profile.Clusters.Sum(c => c.Size);
        // Importance is a decayed sum, so it is only meaningful with its time: the batch run's now (the page states its own).
        string when = meta is null ? "" : string.Create(CultureInfo.InvariantCulture,
            $", importance as of {DateTimeOffset.FromUnixTimeSeconds(meta.Now):yyyy-MM-dd HH:mm:ss} UTC (the batch run's now)");
        console.MarkupLine($"[bold]{Markup.Escape(profile.UserId)}[/]: {profile.Clusters.Count} clusters, {size} actions{Markup.Escape(when)}");
        var table = new Table().AddColumns("#", "medoid", "importance", "size", "members");
        for (int k = 0; k < profile.Clusters.Count; k++)
        {
            ProfileCluster c = profile.Clusters[k];
            string Label(string id) => catalog?.Title(id) is string t ? $"{id} {Shorten(t)}" : id;
            var members = new StringBuilder();
            for (int j = 0; j < Math.Min(shown, c.Members.Count); j++) members.AppendLine(Label(c.Members[j]));
            if (c.Members.Count > shown) members.Append(CultureInfo.InvariantCulture, $"… {c.Members.Count - shown} more");
            table.AddRow(
                (k + 1).ToString(CultureInfo.InvariantCulture),
                Markup.Escape(Label(c.Medoid)),
                c.Importance.ToString("F3", CultureInfo.InvariantCulture),
                c.Size.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(members.ToString().TrimEnd()));
        }
        console.Write(table);
    }

    private static string Shorten(string title) => title.Length > 80 ? string.Concat(title.AsSpan(0, 79), "…") : title;

    /// <summary>"λ = 0.1/day (auto: best of 8 on 2,500 (user, day) pairs)": the run's λ for logs and summaries.</summary>
    internal static string LambdaText(double lambda, AutoLambdaResult? auto) => string.Create(CultureInfo.InvariantCulture,
        $"λ = {lambda:G4}/day ({(auto is null ? "fixed" : auto.Chosen ? $"auto: best of {auto.Grid.Count} on {auto.Pairs:N0} (user, day) pairs" : $"auto fell back: {auto.Pairs:N0} (user, day) pairs, or a source read once")})");

    /// <summary>"α = 1.2345 (auto)": the resolved α for logs and summaries.</summary>
    internal static string AlphaText(double alpha, bool auto) =>
        string.Create(CultureInfo.InvariantCulture, $"α = {alpha:G5} ({(auto ? "auto" : "fixed")})");

    private static void WriteSummary(IAnsiConsole console, BatchSummary s, ProfileOptions options, bool autoAlpha,
                                     AutoLambdaResult? autoLambda, string store, string? jsonl)
    {
        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        string order = s.InputOrder switch
        {
            InputOrder.Sorted => "sorted by user",
            InputOrder.Grouped => "grouped by user, not sorted",
            InputOrder.Unordered => "not grouped by user",
            _ => "unknown",
        };
        var table = new Table().AddColumns("", "value").HideHeaders();
        table.AddRow("input order", order + (s.SortedInMemory ? " (sorted in memory)" : " (streamed)"));
        table.AddRow("now", string.Create(CultureInfo.InvariantCulture,
            $"{s.Now} ({DateTimeOffset.FromUnixTimeSeconds(s.Now):yyyy-MM-dd HH:mm:ss} UTC)"));
        table.AddRow("alpha", Markup.Escape(AlphaText(options.Alpha, autoAlpha) +
            (options.CountRepeats ? ", Ward sizes = action counts" : ", each distinct item once in Ward")));
        table.AddRow("lambda", Markup.Escape(LambdaText(options.DecayLambda, autoLambda)));
        table.AddRow("users read", N(s.UsersRead));
        table.AddRow("users written", N(s.UsersWritten));
        table.AddRow("users without usable actions in window", N(s.UsersWithoutActions));
        table.AddRow("actions read", N(s.ActionsRead));
        table.AddRow("logged events merged", string.Create(CultureInfo.InvariantCulture,
            $"{N(s.LoggedEventsRead)} (unknown item: {N(s.LoggedEventsSkippedUnknownItem)}; log consumed up to sequence {s.ConsumedEventSequence})"));
        table.AddRow("actions used", N(s.ActionsUsed));
        table.AddRow("skipped: unknown item", N(s.SkippedUnknownItem));
        table.AddRow("skipped: action type", N(s.SkippedActionType));
        table.AddRow("skipped: after now", N(s.SkippedAfterNow));
        table.AddRow("skipped: before window", N(s.SkippedBeforeWindow));
        table.AddRow("skipped: over max-actions", N(s.SkippedOverMaxActions));
        table.AddRow("used, in no kept cluster", N(s.ActionsUnclustered));
        table.AddRow("clusters", N(s.Clusters));
        double mean = s.UsersWritten > 0 ? (double)s.Clusters / s.UsersWritten : 0;
        table.AddRow("clusters per user", string.Create(CultureInfo.InvariantCulture,
            $"mean {mean:F2}, median {s.ClustersPerUserQuantile(0.5)}, p90 {s.ClustersPerUserQuantile(0.9)}, " +
            $"p99 {s.ClustersPerUserQuantile(0.99)}, max {Math.Max(0, s.ClustersPerUser.Count - 1)}"));
        table.AddRow("clusters per user (histogram)", Markup.Escape(Histogram(s.ClustersPerUser)));
        table.AddRow("threads", s.Threads.ToString(CultureInfo.InvariantCulture));
        table.AddRow("time", string.Create(CultureInfo.InvariantCulture,
            $"{s.Elapsed.TotalSeconds:F1}s ({s.UsersPerSecond:N0} users/s)"));
        table.AddRow("store", Markup.Escape(store));
        if (jsonl is not null) table.AddRow("json lines", Markup.Escape(jsonl));
        console.Write(table);
        if (s.ActionsRead > 0 && s.SkippedUnknownItem * 2 > s.ActionsRead)
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"[yellow]warning:[/] {100.0 * s.SkippedUnknownItem / s.ActionsRead:F0}% of the actions name items without an embedding: are --embeddings/--ids the right files?"));
    }

    /// <summary>Clusters-per-user counts in buckets 0, 1, 2, 3–5, 6–10, 11–20, 21–50, 51–100, &gt;100.</summary>
    private static string Histogram(IReadOnlyList<long> perUser)
    {
        (int Lo, int Hi)[] buckets = [(0, 0), (1, 1), (2, 2), (3, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, int.MaxValue)];
        var parts = new List<string>();
        foreach ((int lo, int hi) in buckets)
        {
            long n = 0;
            for (int k = lo; k <= Math.Min(hi, perUser.Count - 1); k++) n += perUser[k];
            if (n == 0) continue;
            string label = lo == hi ? $"{lo}" : hi == int.MaxValue ? $">{lo - 1}" : $"{lo}-{hi}";
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{label}: {n:N0}"));
        }
        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }
}
