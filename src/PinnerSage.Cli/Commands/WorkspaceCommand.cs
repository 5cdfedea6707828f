using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PinnerSage.Batch;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Serving;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage workspace build|batch`: create a serving workspace from a dataset and embeddings, and run the
/// next batch (actions.tsv plus the online event log) on one.</summary>
internal static class WorkspaceCommand
{
    public static Command Create()
    {
        var cmd = new Command("workspace", "Serving workspaces: a folder with workspace.json tying embeddings, index, catalogue, store and options together.");
        cmd.Subcommands.Add(CreateBuild());
        cmd.Subcommands.Add(CreateBatch());
        return cmd;
    }

    private static Command CreateBuild()
    {
        var model = new ProfilesCommand.ModelOptions();
        var output = new Option<string>("--out") { Description = "Workspace folder (created if missing).", Required = true };
        var actions = new Option<string>("--actions") { Description = "actions.tsv of the batch (referenced, not copied).", Required = true };
        var items = new Option<string?>("--items") { Description = "items.tsv, for titles (optional)." };
        var store = new Option<string?>("--store")
        { Description = "Profile store: a SQLite file (default DIR/profiles.db) or postgres:<connection string> / postgresql://…" };
        var actionTypes = new Option<string?>("--action-types")
        { Description = "Action types accepted online, e.g. click,save (default: any well-formed name)." };
        var cmd = new Command("build",
            "Create a serving workspace: HNSW index over the embeddings, every user's profile by the batch job into the store, workspace.json.")
        {
            output, actions, items, store, actionTypes,
        };
        model.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ProfileOptions options = model.Profile(pr, out double? alpha, out RetrievalSettings settings);
            var clock = Stopwatch.StartNew();
            string? types = pr.GetValue(actionTypes);
            string? storePath = pr.GetValue(store);
            if (storePath is not null && Workspace.IsFileStore(storePath))
                OutputPaths.Check("--store", storePath, ("--actions", pr.GetValue(actions)), ("--embeddings", pr.GetValue(model.Embeddings)),
                                  ("--ids", pr.GetValue(model.Ids)), ("--items", pr.GetValue(items)));
            var batchOptions = new BatchOptions { Threads = pr.GetValue(model.Threads), Strict = pr.GetValue(model.Strict) };
            batchOptions.Validate();
            Workspace ws = WorkspaceBuilder.Create(new WorkspaceSources
            {
                Directory = pr.GetValue(output)!,
                ActionsPath = pr.GetValue(actions)!,
                EmbeddingsPath = pr.GetValue(model.Embeddings)!,
                IdsPath = pr.GetValue(model.Ids),
                ItemsPath = pr.GetValue(items),
                StoreLocation = storePath,
                ActionTypes = types is null ? [] : [.. ProfileOptions.ParseActionList(types).Order(StringComparer.Ordinal)],
                ProfileOptions = options,
                AutoAlpha = alpha is null,
                AutoAlphaScale = settings.AlphaScale,
                Retrieval = settings,
            }, pr.GetValue(model.Threads), out BatchSummary summary, batchOptions);
            Report(ws, summary, clock);
            AnsiConsole.Console.Profile.Out.Writer.WriteLine(
                $"serve it: pinnersage serve --workspace {ws.Directory} --urls {ServeCommand.DefaultUrls}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateBatch()
    {
        var workspace = new Option<string>("--workspace") { Description = "Workspace folder.", Required = true };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores).", DefaultValueFactory = _ => 0 };
        var allowShrink = new Option<bool>("--allow-shrink")
        { Description = "Commit even a run that read no actions or that keeps fewer than half of the store's profiles." };
        var cmd = new Command("batch",
            "The next batch run: rebuild every profile from the workspace's actions.tsv plus every online event logged so far, " +
            "replacing the profiles and the users' online state in one transaction (events logged meanwhile stay online).")
        {
            workspace, threads, allowShrink,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            Workspace ws = Workspace.Load(pr.GetValue(workspace)!);
            BatchSummary summary = WorkspaceBuilder.RunBatch(ws, new BatchOptions { Threads = pr.GetValue(threads), AllowShrink = pr.GetValue(allowShrink) });
            Report(ws, summary, clock);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static void Report(Workspace ws, BatchSummary s, Stopwatch clock) =>
        AnsiConsole.Console.Profile.Out.Writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"workspace {ws.Directory}: {s.UsersWritten:N0} profiles ({s.Clusters:N0} clusters, {s.ActionsUsed:N0} actions used, " +
            $"{s.SkippedUnknownItem:N0} with unknown items skipped), α = {ws.ProfileOptions.Alpha:G4}, store {(Workspace.IsFileStore(ws.StoreLocation) ? ws.StoreLocation : "PostgreSQL")}; " +
            $"{clock.Elapsed.TotalSeconds:F1} s"));
}
