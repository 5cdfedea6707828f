using System.CommandLine;
using System.Globalization;
using PinnerSage.Ann;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Evaluation;
using PinnerSage.IO;
using PinnerSage.Profiles;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage eval`: the PinnerSage paper's offline evaluation (papers/PINNERSAGE.md, "Offline evaluation
/// protocol") of every user representation on a dataset in the generic layout, with any item embeddings.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset")
        { Description = "Dataset folder in the generic layout (actions.tsv; items.tsv and vectors/ optional).", Required = true };
        var embeddings = new Option<string>("--embeddings")
        { Description = "Item vectors .npy (+ .ids beside it), or the NAME of a dataset vector set (vectors/NAME.npy).", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Item ids of --embeddings (default: beside the .npy)." };
        var index = new Option<string?>("--index")
        { Description = "HNSW index built from the same embeddings (`index build --metric cosine`); default: exact search." };
        var json = new Option<string?>("--json") { Description = "Write method → metric → {value, low, high} (+ lift-METRIC) as JSON." };
        var html = new Option<string?>("--html") { Description = "Write the self-contained HTML report with plots." };
        var markdown = new Option<string?>("--markdown") { Description = "Also write the Markdown report to a file." };
        var protocol = new Option<string>("--protocol")
        { Description = "auto, walk (walk-forward by steps) or leave-last-out (per user).", DefaultValueFactory = _ => "auto" };
        var stepDays = new Option<double>("--step-days") { Description = "Walk-forward step in days.", DefaultValueFactory = _ => 1 };
        var windowDays = new Option<double>("--window-days") { Description = "History window in days before each step.", DefaultValueFactory = _ => 90 };
        var testShare = new Option<double>("--test-share")
        { Description = "Walk-forward: the test period is this last share of actions by time.", DefaultValueFactory = _ => 0.1 };
        var testFrom = new Option<string?>("--test-from") { Description = "Walk-forward: test period start (Unix seconds or ISO date)." };
        var testUntil = new Option<string?>("--test-until") { Description = "Walk-forward: test period end, exclusive (Unix seconds or ISO date); with --test-from, a validation period." };
        var leaveOut = new Option<int>("--leave-out") { Description = "Leave-last-out: last N actions per user held out.", DefaultValueFactory = _ => 1 };
        var minWalkUsers = new Option<int>("--min-walk-users")
        { Description = "Auto: walk-forward needs at least this many test users.", DefaultValueFactory = _ => 500 };
        var maxUsers = new Option<int>("--max-users")
        { Description = "Evaluate at most N users (seeded sample; 0 = all).", DefaultValueFactory = _ => 5000 };
        var candidates = new Option<int>("--candidates") { Description = "K candidates per user (⌊K/e⌋ per embedding).", DefaultValueFactory = _ => 400 };
        var sampled = new Option<int>("--sampled") { Description = "Embeddings sampled per user by PinnerSage.", DefaultValueFactory = _ => 3 };
        var threshold = new Option<double>("--relevance-threshold")
        { Description = "Cosine from which a candidate is relevant to a test item.", DefaultValueFactory = _ => 0.8 };
        var negatives = new Option<int>("--negatives") { Description = "Random negatives per test action for R-precision and MRR.", DefaultValueFactory = _ => 20 };
        var alpha = new Option<string>("--alpha") { Description = "Ward α (squared scale) or auto.", DefaultValueFactory = _ => "auto" };
        var dropSingletons = new Option<bool>("--drop-singletons")
        { Description = "Drop items whose first merge is above α (default: keep them as one-item clusters)." };
        var methods = new Option<string?>("--methods") { Description = "Methods to run, comma-separated: " + string.Join(",", EvalMethods.Names) };
        var curve = new Option<int>("--curve-max")
        { Description = "Relevance/diversity for e = 1…N sampled embeddings (0 = skip).", DefaultValueFactory = _ => 8 };
        var bootstrap = new Option<int>("--bootstrap") { Description = "Bootstrap resamples over users.", DefaultValueFactory = _ => 1000 };
        var seed = new Option<ulong>("--seed") { Description = "Seed (users, medoids, negatives, K-means, bootstrap).", DefaultValueFactory = _ => 42 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var unembedded = new Option<string>("--unembedded")
        { Description = "Test actions on items without a vector: miss (count as misses) or drop.", DefaultValueFactory = _ => "miss" };
        var excludeHistory = new Option<bool>("--exclude-history")
        { Description = "Leave the user's own history items out of the candidates and the whole-catalogue ranking." };
        var include = new Option<string?>("--actions-include") { Description = "Use only these action types (comma-separated)." };
        var allowOverlap = new Option<bool>("--allow-training-overlap")
        { Description = "Evaluate even when the embeddings' recorded training cut (E.meta.json) is after the test period start (with a warning)." };
        var cmd = new Command("eval", "The PinnerSage paper's offline evaluation: last item, averages, PinnerSage and variants; relevance, recall, ranking, coverage, diversity.")
        {
            dataset, embeddings, ids, index, json, html, markdown, protocol, stepDays, windowDays, testShare, testFrom, testUntil, leaveOut,
            minWalkUsers, maxUsers, candidates, sampled, threshold, negatives, alpha, dropSingletons, methods, curve, bootstrap,
            seed, threads, unembedded, include, excludeHistory, allowOverlap,
        };
        var retrieval = new RetrievalSettingsOptions();
        retrieval.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            DatasetLayout layout = DatasetLayout.Open(pr.GetValue(dataset)!);
            string embeddingsArg = pr.GetValue(embeddings)!;
            string npy = File.Exists(embeddingsArg) || embeddingsArg.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)
                ? embeddingsArg
                : layout.Vectors.TryGetValue(embeddingsArg, out string? named) ? named
                : throw new ArgumentException($"--embeddings: '{embeddingsArg}' is neither a .npy file nor a vector set of {layout.Root} " +
                                              $"(has: {(layout.Vectors.Count == 0 ? "none" : string.Join(", ", layout.Vectors.Keys))}).");
            if (!File.Exists(npy)) throw new FileNotFoundException($"{npy}: no such embeddings file.");
            (string, string?)[] inputFiles = [.. OutputPaths.DatasetFiles(layout), ("--embeddings", npy),
                                          ("--ids", pr.GetValue(ids) ?? ItemEmbeddings.DefaultIdsPath(npy)), ("--index", pr.GetValue(index))];
            OutputPaths.Check("--json", pr.GetValue(json), inputFiles);
            OutputPaths.Check("--html", pr.GetValue(html), [.. inputFiles, ("--json", pr.GetValue(json))]);
            OutputPaths.Check("--markdown", pr.GetValue(markdown), [.. inputFiles, ("--json", pr.GetValue(json)), ("--html", pr.GetValue(html))]);
            var options = new OfflineEvalOptions
            {
                Protocol = pr.GetValue(protocol) switch
                {
                    "auto" => EvalProtocol.Auto,
                    "walk" => EvalProtocol.WalkForward,
                    "leave-last-out" => EvalProtocol.LeaveLastOut,
                    var other => throw new ArgumentException($"--protocol must be auto, walk or leave-last-out, not '{other}'."),
                },
                StepDays = pr.GetValue(stepDays),
                WindowDays = pr.GetValue(windowDays),
                TestShare = pr.GetValue(testShare),
                TestFrom = pr.GetValue(testFrom) is string tf ? ParseTime(tf) : null,
                TestUntil = pr.GetValue(testUntil) is string tu ? ParseTime(tu) : null,
                Settings = retrieval.Resolve(pr),
                LeaveOut = pr.GetValue(leaveOut),
                MinWalkUsers = pr.GetValue(minWalkUsers),
                MaxUsers = pr.GetValue(maxUsers),
                Candidates = pr.GetValue(candidates),
                SampledEmbeddings = pr.GetValue(sampled),
                RelevanceThreshold = pr.GetValue(threshold),
                Negatives = pr.GetValue(negatives),
                Alpha = pr.GetValue(alpha) is "auto" or null ? null : ParseDouble(pr.GetValue(alpha)!, "--alpha"),
                KeepSingletons = !pr.GetValue(dropSingletons),
                Methods = pr.GetValue(methods) is string ms
                    ? ms.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null,
                CurveMaxEmbeddings = pr.GetValue(curve),
                BootstrapResamples = pr.GetValue(bootstrap),
                Seed = pr.GetValue(seed),
                Threads = pr.GetValue(threads),
                Unembedded = pr.GetValue(unembedded) switch
                {
                    "miss" => UnembeddedPolicy.Miss,
                    "drop" => UnembeddedPolicy.Drop,
                    var other => throw new ArgumentException($"--unembedded must be miss or drop, not '{other}'."),
                },
                ExcludeHistory = pr.GetValue(excludeHistory),
                IncludeActions = pr.GetValue(include) is string inc ? ProfileOptions.ParseActionList(inc) : null,
            };
            options.Validate();

            // Progress and warnings on stderr, so stdout is exactly the Markdown report.
            static void Log(string line) => Console.Error.WriteLine(line);
            using RetrievalInputs inputs = RetrievalInputs.Open(pr.GetValue(index), npy, pr.GetValue(ids), VectorMetric.InnerProduct);
            ItemEmbeddings items = inputs.Items;
            Log(string.Create(CultureInfo.InvariantCulture, $"embeddings {npy}: {items.Count:N0} items, d = {items.Dimension}"));
            EvalActions actions = EvalActions.Load(layout.ActionsPath, items, options.IncludeActions);
            Log(string.Create(CultureInfo.InvariantCulture,
                $"{layout.ActionsPath}: {actions.Count:N0} actions of {actions.UserIds.Count:N0} users; {actions.UnembeddedActions:N0} on items without a vector"));
            if (actions.Count > 0 && actions.UnembeddedActions * 20 > actions.Count)
                Log(string.Create(CultureInfo.InvariantCulture,
                    $"warning: {(double)actions.UnembeddedActions / actions.Count:P1} of the actions are on items without a vector (--unembedded {pr.GetValue(unembedded)})"));
            options = CheckTrainingCut(npy, actions, options, pr.GetValue(allowOverlap), Log);
            string description = string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(npy)} ({items.Count:N0} × {items.Dimension})");
            OfflineEvalResult result = OfflineEvaluation.Run(actions, items, options, Path.GetFileName(Path.GetFullPath(layout.Root)),
                description, pr.GetValue(index) is null ? null : inputs.Index, Log);

            string report = OfflineEvalOutput.Markdown(result);
            Console.Out.Write(report);
            // The report files of one run are committed together: all written, then all renamed.
            var outputs = new List<(string, Action<string>)>();
            if (pr.GetValue(markdown) is string md) outputs.Add((md, p => AtomicFile.WriteText(p, w => w.Write(report))));
            if (pr.GetValue(json) is string jsonPath) outputs.Add((jsonPath, p => OfflineEvalOutput.WriteJson(p, result)));
            if (pr.GetValue(html) is string htmlPath)
                outputs.Add((htmlPath, p => AtomicFile.WriteText(p, w => w.Write(OfflineEvalHtmlReport.Render(result.Report)))));
            AtomicFile.WriteAll(outputs);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Issue 13: engagement-trained embeddings (their <c>E.meta.json</c> records the cut T) must not be
    /// evaluated on actions before T. Auto resolves to walk-forward (leave-last-out tests each user's last actions,
    /// which can fall anywhere in time); a test period starting before T is refused (exit 3) unless
    /// <paramref name="allow"/>, and nothing is moved silently.</summary>
    internal static OfflineEvalOptions CheckTrainingCut(string npy, EvalActions actions, OfflineEvalOptions options, bool allow,
                                                        Action<string> log)
    {
        string metaPath = EmbeddingsMeta.PathFor(npy);
        EmbeddingsMeta? meta = EmbeddingsMeta.TryRead(metaPath);
        if (meta is null) return options;
        if (meta.TrainedUntil is not long cut)
        {
            log($"warning: {metaPath}: {meta.Kind} embeddings with an unknown training cut; they may have been trained on the test actions");
            return options;
        }
        string until = EmbeddingsMeta.FormatTime(cut);
        if (options.Protocol == EvalProtocol.Auto && !allow)
        {
            options = options with { Protocol = EvalProtocol.WalkForward };
            log($"protocol: walk-forward (auto), since {metaPath} records training on actions before {until} and leave-last-out would test each user's last actions whatever their time");
        }
        long start = TrainingOverlap.TestPeriodStart(actions, options);
        if (start == long.MaxValue || start >= cut) return options;
        string problem = $"{npy} was trained ({meta.Kind}) on the actions before {until} ({metaPath}), but the test period starts at " +
                         $"{EmbeddingsMeta.FormatTime(start)}: the evaluation would test on actions inside the training period.";
        if (allow)
        {
            log($"warning: {problem} Proceeding (--allow-training-overlap).");
            return options;
        }
        throw new ArgumentException($"{problem} Refit the embeddings on the actions before the test start (e.g. `pinnersage embeddings cooccurrence --until {EmbeddingsMeta.FormatTime(start)}`), " +
                                    $"or test from the cut on (`--protocol walk --test-from {until}`), or pass --allow-training-overlap to evaluate anyway.");
    }

    private static long ParseTime(string text)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long t)) return t;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset dt))
            return dt.ToUnixTimeSeconds();
        throw new ArgumentException($"--test-from: expected Unix seconds or an ISO date, got '{text}'.");
    }

    private static double ParseDouble(string text, string option) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v : throw new ArgumentException($"{option}: expected a number or auto, got '{text}'.");
}
