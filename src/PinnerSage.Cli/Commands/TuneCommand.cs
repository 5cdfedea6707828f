using System.CommandLine;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Evaluation;
using PinnerSage.IO;
using PinnerSage.Retrieval;

namespace PinnerSage.Cli.Commands;

/// <summary><c>pinnersage tune</c>: chooses the mixture policy's α, λ and τ on a validation period that ends before the
/// test period (<see cref="RetrievalTuning"/>), prints the search table and writes the settings.</summary>
internal static class TuneCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "Dataset folder (actions.tsv, vectors/).", Required = true };
        var embeddings = new Option<string>("--embeddings")
        { Description = "Item vectors: a .npy file or a vector set of the dataset. Engagement-trained vectors must be fitted before the validation period.", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Item ids of --embeddings (default: beside the .npy)." };
        var output = new Option<string?>("--out") { Description = "Write the chosen settings here (JSON, for --settings)." };
        var testShare = new Option<double>("--test-share")
        { Description = "The test period: the last share of the actions, never looked at.", DefaultValueFactory = _ => 0.1 };
        var validationShare = new Option<double>("--validation-share")
        { Description = "The validation period: this share of the actions just before the test period.", DefaultValueFactory = _ => 0.1 };
        var taus = new Option<string>("--taus") { Description = "τ values (inf allowed).", DefaultValueFactory = _ => "0.3,1,inf" };
        var lambdas = new Option<string>("--lambdas") { Description = "λ values (auto: chosen from the actions, Profiles.AutoLambda).", DefaultValueFactory = _ => "auto,0.01,0.05,0.25" };
        var alphas = new Option<string>("--alpha-scales") { Description = "Multiples of the automatic α.", DefaultValueFactory = _ => "0.15,0.3,1" };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("tune", "Choose the mixture policy's α, λ and τ on a validation period before the test period; print the search table; write the settings.")
        {
            dataset, embeddings, ids, output, testShare, validationShare, taus, lambdas, alphas, threads,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            double test = pr.GetValue(testShare), valid = pr.GetValue(validationShare);
            if (!(test > 0 && test < 1)) throw new ArgumentException($"--test-share must be in (0, 1), not {test}.");
            if (!(valid > 0 && test + valid < 1)) throw new ArgumentException($"--validation-share must be > 0 with test + validation < 1, not {valid}.");
            IReadOnlyList<RetrievalSettings> grid = RetrievalTuning.Grid(Numbers(pr.GetValue(taus)!, "--taus", tau: true),
                                                                        Numbers(pr.GetValue(lambdas)!, "--lambdas", auto: true),
                                                                        Numbers(pr.GetValue(alphas)!, "--alpha-scales"));
            foreach (RetrievalSettings s in grid) s.Validate();
            string? outPath = pr.GetValue(output);
            // Every option is checked above, before any input is read.
            DatasetLayout layout = DatasetLayout.Open(pr.GetValue(dataset)!);
            string embeddingsArg = pr.GetValue(embeddings)!;
            string npy = layout.Vectors.TryGetValue(embeddingsArg, out string? named) ? named : embeddingsArg;
            if (!File.Exists(npy)) throw new FileNotFoundException($"{npy}: no such embeddings file.");
            OutputPaths.Check("--out", outPath, ("--embeddings", npy), ("--actions", layout.ActionsPath));

            static void Log(string line) => Console.Error.WriteLine(line);
            using RetrievalInputs inputs = RetrievalInputs.Open(null, npy, pr.GetValue(ids), Ann.VectorMetric.InnerProduct);
            EvalActions actions = EvalActions.Load(layout.ActionsPath, inputs.Items, null);
            (long from, long until) = RetrievalTuning.ValidationPeriod(actions, test, valid);
            Log(string.Create(CultureInfo.InvariantCulture,
                $"validation period {Day(from)} … {Day(until)} (the test period starts {Day(until)} and is not used); {grid.Count} settings"));
            var options = new OfflineEvalOptions { TestFrom = from, TestUntil = until, BootstrapResamples = 1, Threads = pr.GetValue(threads) };
            TuningResult result = RetrievalTuning.Run(actions, inputs.Items, options, grid, Log);

            var w = Console.Out;
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"best single-embedding baseline on validation: {string.Join(", ", RetrievalTuning.Metrics.Select(m => $"{m} {result.BestBaseline[m]:0.0000}"))}"));
            w.WriteLine();
            w.WriteLine("| α scale | λ | τ | " + string.Join(" | ", RetrievalTuning.Metrics) + " | objective | worst |");
            w.WriteLine("|---:|---:|---:|" + string.Concat(RetrievalTuning.Metrics.Select(_ => "---:|")) + "---:|---:|");
            foreach (TuningPoint p in result.Points)
            {
                RetrievalSettings s = p.Settings;
                string tau = double.IsPositiveInfinity(s.Tau) ? "∞" : s.Tau.ToString("0.###", CultureInfo.InvariantCulture);
                string values = string.Join(" | ", RetrievalTuning.Metrics.Select(m => p.Values[m].ToString("0.0000", CultureInfo.InvariantCulture)));
                w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {s.AlphaScale:0.###} | {(s.AutoLambda ? "auto" : s.Lambda.ToString("0.###", CultureInfo.InvariantCulture))} | {tau} | {values} | {p.Objective * 100:+0.00;-0.00} % | {p.Worst * 100:+0.00;-0.00} % |"));
            }
            w.WriteLine();
            w.WriteLine($"chosen: {result.Best}");
            if (outPath is not null)
            {
                AtomicFile.WriteText(outPath, tw => tw.Write(result.Best.ToJson()));
                Log($"wrote {outPath} (use it with --settings)");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static string Day(long t) => DateTimeOffset.FromUnixTimeSeconds(t).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Comma-separated numbers ≥ 0; with <paramref name="tau"/> "inf" is +∞, with <paramref name="auto"/> "auto" is
    /// NaN (<see cref="RetrievalTuning.Grid"/>'s automatic λ).</summary>
    private static double[] Numbers(string text, string option, bool tau = false, bool auto = false) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x =>
            tau && x is "inf" or "∞" ? double.PositiveInfinity
            : auto && x == "auto" ? double.NaN
            : double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= 0 ? v
            : throw new ArgumentException($"{option}: '{x}' is not a number ≥ 0."))];
}
