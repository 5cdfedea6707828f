using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
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
        var items = new Option<int?>("--items") { Description = "Catalogue size (default: clamp(users / 5, 2000, 200000))." };
        var topics = new Option<int?>("--topics") { Description = "Number of topics / interests (default: clamp(√items, 30, 500))." };
        var days = new Option<int>("--days") { Description = "Length of the activity window in days.", DefaultValueFactory = _ => 120 };
        var dimension = new Option<int>("--dimension") { Description = "Embedding dimension.", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores); output does not depend on it.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("synth", "Generate a synthetic world: items in topics with embeddings and titles, users with drifting interests, bursty actions and the ground truth.")
        {
            users, output, seed, items, topics, days, dimension, threads,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var options = new SyntheticWorldOptions
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
