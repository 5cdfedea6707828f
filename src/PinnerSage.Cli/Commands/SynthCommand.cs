using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Clustering;
using PinnerSage.Evaluation;
using PinnerSage.Profiles;
using PinnerSage.Synthetic;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage synth`: generates a synthetic world (catalogue, users, ground truth) in the generic layout.</summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var users = new Option<int>("--users") { Description = "Number of users (1k … 1M; ≈ 60 actions each on average).", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder (created if missing).", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same options give byte-identical files.", DefaultValueFactory = _ => 42 };
        var items = new Option<int?>("--items") { Description = "Catalogue size (default: clamp(users / 5, 5000, 200000))." };
        var topics = new Option<int?>("--topics") { Description = "Number of topics / interests (default: clamp(√items, 30, 500))." };
        var days = new Option<int>("--days") { Description = "Length of the activity window in days.", DefaultValueFactory = _ => 120 };
        var dimension = new Option<int>("--dimension") { Description = "Embedding dimension.", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores); output does not depend on it.", DefaultValueFactory = _ => 0 };
        Option<string> geometry = GeometryOption();
        var cmd = new Command("synth", "Generate a synthetic world: items in topics with embeddings and titles, users with drifting interests, bursty actions and the ground truth.")
        {
            users, output, seed, items, topics, days, dimension, threads, geometry,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var options = Geometry(pr.GetValue(geometry)!) with
            {
                Users = pr.GetValue(users),
                Items = pr.GetValue(items),
                Topics = pr.GetValue(topics),
                Days = pr.GetValue(days),
                Dimension = pr.GetValue(dimension),
                Seed = pr.GetValue(seed),
            };
            Generate(options, pr.GetValue(output)!, pr.GetValue(threads), quiet: false);
            return ExitCodes.Ok;
        }));
        cmd.Subcommands.Add(CreateEvaluate());
        return cmd;
    }

    private static Option<string> GeometryOption() => new("--geometry")
    {
        Description = "Item vectors: calibrated (to real content vectors: a shared direction, anisotropic noise, products with variants, loose topics) or separable (the first world's near-orthogonal topics).",
        DefaultValueFactory = _ => "calibrated",
    };

    private static SyntheticWorldOptions Geometry(string name) => name switch
    {
        "calibrated" => new SyntheticWorldOptions(),
        "separable" => SyntheticWorldOptions.Separable,
        _ => throw new ArgumentException($"--geometry must be calibrated or separable, not '{name}'."),
    };

    /// <summary>`pinnersage synth evaluate`: interest recovery (ARI against the ground truth) of in-memory profiles of a
    /// generated world for several α values: the α sweep of bench/results/alpha-sweep.md.</summary>
    private static Command CreateEvaluate()
    {
        var users = new Option<int>("--users") { Description = "Number of users.", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<ulong>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var alphas = new Option<string>("--alphas")
        { Description = "Comma-separated α values (Ward distance, squared Euclidean).", DefaultValueFactory = _ => "0.5,0.75,1,1.25,1.5,2,2.5,3,4" };
        var keepSingletons = new Option<bool>("--keep-singletons") { Description = "Keep items whose first merge is above α as singleton clusters." };
        var itemNoise = new Option<double?>("--item-noise") { Description = $"Item spread around topic centres (default: {new SyntheticWorldOptions().ItemNoise}, separable {SyntheticWorldOptions.Separable.ItemNoise})." };
        var topicSpread = new Option<double?>("--topic-spread") { Description = $"Topic spread around family centres (default: {new SyntheticWorldOptions().TopicSpread}, separable {SyntheticWorldOptions.Separable.TopicSpread})." };
        Option<string> geometry = GeometryOption();
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var countRepeats = new Option<bool>("--count-repeats")
        { Description = "Ward sizes = numbers of actions (an item engaged k times weighs k) instead of 1 per distinct item." };
        var cmd = new Command("evaluate",
            "Build profiles of a generated world in memory for each α and print the adjusted Rand index against the true interests (markdown).")
        {
            users, seed, alphas, keepSingletons, itemNoise, topicSpread, threads, countRepeats, geometry,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            double[] alphaValues = pr.GetValue(alphas)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(a => double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                    ? v : throw new ArgumentException($"--alphas: '{a}' is not a number."))
                .ToArray();
            SyntheticWorldOptions baseOptions = Geometry(pr.GetValue(geometry)!);
            var worldOptions = baseOptions with
            {
                Users = pr.GetValue(users), Seed = pr.GetValue(seed),
                ItemNoise = pr.GetValue(itemNoise) ?? baseOptions.ItemNoise, TopicSpread = pr.GetValue(topicSpread) ?? baseOptions.TopicSpread,
            };
            var clock = Stopwatch.StartNew();
            SyntheticWorld world = SyntheticWorld.Create(worldOptions);
            ProfileOptions[] options = alphaValues
                .Select(a => new ProfileOptions
                {
                    Alpha = a, KeepSingletons = pr.GetValue(keepSingletons), CountRepeats = pr.GetValue(countRepeats),
                }).ToArray();
            UserRecovery[][] results = InterestRecovery.EvaluateWorld(world, options, world.EndTime, pr.GetValue(threads));
            double autoAlpha = WardClustering.SuggestAlpha(world.ItemVectors, world.Dimension, AutoAlpha.SamplePairs, AutoAlpha.Seed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"World: {world.UserCount:N0} users, {world.ItemCount:N0} items, {world.TopicCount} topics in {world.FamilyCount} families, d = {world.Dimension}, seed {worldOptions.Seed}, item noise {worldOptions.ItemNoise}, topic spread {worldOptions.TopicSpread}; profiles: window {options[0].WindowDays} days, now = end of world, keep singletons {options[0].KeepSingletons}, count repeats {options[0].CountRepeats}; median squared distance of random item pairs {autoAlpha / WardClustering.AlphaPerMedianDistance:F3} (auto α {autoAlpha:F3})."));
            Console.WriteLine();
            Console.WriteLine("| α | mean ARI | median ARI | shuffled baseline | clusters / user | true interests / user | items in no cluster | 1-interest users kept whole |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (int k = 0; k < options.Length; k++)
            {
                RecoverySummary r = InterestRecovery.Summarize(results[k]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {alphaValues[k]:G4} | {r.MeanAri:F3} | {r.MedianAri:F3} | {r.MeanRandomAri:F3} | {r.MeanClusters:F2} | {r.MeanInterests:F2} | {r.UnclusteredShare:P1} | {r.SingleInterestWholeShare:P1} |"));
            }
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Users scored (≥ 2 true interests in the window): {InterestRecovery.Summarize(results[0]).Users:N0}; single-interest users: {InterestRecovery.Summarize(results[0]).SingleInterestUsers:N0}; time {clock.Elapsed.TotalSeconds:F1} s."));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Builds and writes a world, reporting progress and speed on the console (shared with quickstart).</summary>
    internal static (SyntheticWorld World, SyntheticWorldSummary Summary) Generate(SyntheticWorldOptions options, string directory, int threads, bool quiet)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        SyntheticWorld world = SyntheticWorld.Create(options);
        double catalogueSeconds = clock.Elapsed.TotalSeconds;
        if (!quiet)
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"catalogue: {world.ItemCount:N0} items in {world.TopicCount:N0} topics ({world.FamilyCount} families), d = {world.Dimension}, {catalogueSeconds:F1} s"));

        var usersClock = Stopwatch.StartNew();
        SyntheticWorldSummary summary;
        if (quiet)
        {
            summary = SyntheticWorldWriter.Write(world, directory, threads);
        }
        else if (!Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            summary = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask task = ctx.AddTask("users", maxValue: world.UserCount);
                    summary = SyntheticWorldWriter.Write(world, directory, threads, (done, _) => task.Value = done);
                });
        }
        else
        {
            int nextReport = 0;
            summary = SyntheticWorldWriter.Write(world, directory, threads, (done, actions) =>
            {
                if (done < nextReport && done < world.UserCount) return;
                nextReport = done + Math.Max(1, world.UserCount / 10);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {done:N0} / {world.UserCount:N0} users, {actions:N0} actions, {done / usersClock.Elapsed.TotalSeconds:N0} users/s"));
            });
        }

        double seconds = usersClock.Elapsed.TotalSeconds;
        if (!quiet)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {Path.GetFullPath(directory)}: {summary.Users:N0} users, {summary.Actions:N0} actions ({(double)summary.Actions / summary.Users:F1} per user), {summary.Items:N0} items, {summary.Topics:N0} topics"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"time: catalogue {catalogueSeconds:F1} s, users {seconds:F1} s ({summary.Users / seconds:N0} users/s, {summary.Actions / seconds:N0} rows/s), total {clock.Elapsed.TotalSeconds:F1} s"));
        }
        return (world, summary);
    }
}
