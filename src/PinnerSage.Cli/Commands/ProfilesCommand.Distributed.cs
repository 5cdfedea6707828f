using System.CommandLine;
using System.Globalization;
using PinnerSage.Batch;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Storage;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage profiles plan | load`: the two ends of a distributed batch run (scaleout/dask, or Spark and
/// Hadoop Streaming over `profiles map`) — what every mapper must be told, and the commit of their output into a store
/// exactly as `profiles build` commits its own.</summary>
internal static partial class ProfilesCommand
{
    private static Command CreatePlan()
    {
        var model = new ModelOptions();
        var actions = new Option<string[]>("--actions")
        {
            Description = "The whole input of the run: actions.tsv (or CSV with a header), or every Parquet shard (repeat the option or list them).",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var store = new Option<string?>("--store")
        { Description = "The store the run will replace: its event log (up to its last sequence) joins the run." };
        var output = new Option<string>("--out") { Description = "The plan (JSON) for profiles map and profiles load.", Required = true };
        var events = new Option<string?>("--events-out")
        { Description = "The store's logged events the run includes, as headerless action lines for the mappers (required with --store)." };
        var cmd = new Command("plan",
            "Resolve what every mapper of a distributed run needs (now, λ = auto, α = auto: each needs every user's actions) " +
            "and export the store's logged events, so that profiles map on shards plus profiles load equal profiles build.")
        {
            actions, store, output, events,
        };
        model.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ProfileOptions options = model.Profile(pr, out double? alpha, out RetrievalSettings settings);
            string[] actionsPaths = pr.GetValue(actions)!;
            string outPath = pr.GetValue(output)!, embeddingsPath = pr.GetValue(model.Embeddings)!;
            string? storePath = pr.GetValue(store), eventsPath = pr.GetValue(events);
            if (storePath is not null && eventsPath is null)
                throw new ArgumentException("--events-out: required with --store (the store's logged events must reach the mappers).");
            (string, string?)[] inputs = [.. actionsPaths.Select(p => ("--actions", (string?)p)), ("--embeddings", embeddingsPath), ("--store", storePath is null || ProfileStores.IsPostgres(storePath) ? null : storePath)];
            OutputPaths.Check("--out", outPath, inputs);
            OutputPaths.Check("--events-out", eventsPath, [.. inputs, ("--out", outPath)]);
            using ItemEmbeddings items = ItemEmbeddings.Load(embeddingsPath, pr.GetValue(model.Ids));
            var pipeline = new ProfilePipeline(items, Pipeline(options, alpha, settings, new BatchOptions { Threads = pr.GetValue(model.Threads) }));
            using IProfileStore? profileStore = storePath is null ? null : ProfileStores.OpenExisting(storePath);
            ProfileRunPlan? plan = null;
            var outputs = new List<(string, Action<string>)>();
            // Both outputs are committed together or not at all (the plan needs the events pass first).
            if (eventsPath is not null)
                outputs.Add((eventsPath, temp =>
                {
                    using var writer = new StreamWriter(temp, append: false, new System.Text.UTF8Encoding(false));
                    plan = pipeline.Plan(ActionInputs.Open(actionsPaths), profileStore, writer);
                }));
            outputs.Add((outPath, temp =>
            {
                plan ??= pipeline.Plan(ActionInputs.Open(actionsPaths), profileStore, null);
                File.WriteAllText(temp, plan.ToJson() + "\n");
            }));
            AtomicFile.WriteAll(outputs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"plan: now {plan!.Now}, {AlphaText(plan.Alpha, alpha is null)}, {LambdaText(plan.Lambda, pipeline.AutoLambdaResult)}, " +
                $"{plan.EventsExported:N0} logged events up to sequence {plan.ConsumedEventSequence} → {outPath}"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateLoad()
    {
        var store = new Option<string>("--store")
        { Description = "Profile store to (re)write: a SQLite file, or postgres:<Npgsql connection string> / postgresql://….", Required = true };
        var plan = new Option<string>("--plan") { Description = "The run's plan (profiles plan --out).", Required = true };
        var parts = new Option<string[]>("--parts")
        {
            Description = "The mappers' JSON-lines outputs, each in user-id order (the shell's glob order does not matter).",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var jsonl = new Option<string?>("--jsonl-out") { Description = "Also write the merged profiles as one JSON-lines file." };
        var allowShrink = new Option<bool>("--allow-shrink")
        { Description = "Commit even when the parts hold no profile or fewer than half the store's (refused by default)." };
        var cmd = new Command("load",
            "Commit the profiles of a distributed run (profiles map outputs) into a store in one transaction, with the plan's " +
            "run metadata and its logged events marked consumed, exactly as profiles build commits its own.")
        {
            store, plan, parts, jsonl, allowShrink,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            string storePath = pr.GetValue(store)!, planPath = pr.GetValue(plan)!;
            string[] partPaths = pr.GetValue(parts)!;
            string? jsonlPath = pr.GetValue(jsonl);
            foreach (string part in partPaths)
                if (!File.Exists(part)) throw new FileNotFoundException($"--parts: {part} does not exist.", part);
            OutputPaths.Check("--jsonl-out", jsonlPath, [("--plan", planPath), ("--store", ProfileStores.IsPostgres(storePath) ? null : storePath), .. partPaths.Select(p => ("--parts", (string?)p))]);
            ProfileRunPlan runPlan = ProfileRunPlan.Load(planPath);
            using IProfileStore profileStore = ProfileStores.Open(storePath);
            using JsonLinesProfileWriter? export = jsonlPath is null ? null : new JsonLinesProfileWriter(jsonlPath);
            long written = ProfileLoad.Run(partPaths, profileStore, runPlan, pr.GetValue(allowShrink), export);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loaded {written:N0} profiles from {partPaths.Length} part(s) into {(ProfileStores.IsPostgres(storePath) ? "PostgreSQL" : storePath)}, " +
                $"now {runPlan.Now}, logged events up to sequence {runPlan.ConsumedEventSequence} consumed"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
