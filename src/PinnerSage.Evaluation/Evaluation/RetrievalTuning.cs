using System.Globalization;
using PinnerSage.IO;
using PinnerSage.Retrieval;

namespace PinnerSage.Evaluation;

/// <summary>One grid point of <see cref="RetrievalTuning"/>: its settings, metric values and objective.</summary>
/// <param name="Settings">The candidate settings.</param>
/// <param name="Values">Metric → value on the validation period.</param>
/// <param name="Objective">Mean over <see cref="RetrievalTuning.Metrics"/> of log(value / best baseline's value).</param>
/// <param name="Worst">The smallest of those log ratios.</param>
public sealed record TuningPoint(RetrievalSettings Settings, IReadOnlyDictionary<string, double> Values, double Objective, double Worst);

/// <summary>What <see cref="RetrievalTuning.Run"/> found: every grid point best first, the baselines' best values, and
/// the evaluation report of the validation run.</summary>
public sealed record TuningResult(IReadOnlyList<TuningPoint> Points, IReadOnlyDictionary<string, double> BestBaseline,
                                  OfflineEvalReport Report)
{
    /// <summary>The chosen settings: the highest objective.</summary>
    public RetrievalSettings Best => Points[0].Settings;
}

/// <summary>Chooses α, λ and τ of the mixture policy on a validation period that ends where the test period starts
/// (issue 13): the offline evaluation (<see cref="OfflineEvaluation"/>) of every grid point and of the single-embedding
/// baselines on the validation period only, then the grid point whose mean log ratio to the best baseline over
/// relevance, recall and recall@50 is highest (ties: the larger worst ratio).</summary>
/// <remarks>Why that objective: the acceptance asks the default to be at least the best baseline on each of the three;
/// a mean of log ratios is scale-free across metrics and datasets, and the worst ratio is reported beside it.</remarks>
public static class RetrievalTuning
{
    /// <summary>The metrics of the objective.</summary>
    public static IReadOnlyList<string> Metrics { get; } = ["relevance", "recall", "recall@50"];

    /// <summary>The baselines every point is compared with.</summary>
    public static IReadOnlyList<string> Baselines { get; } =
        ["last-item", "mean", "decay-avg-0", "decay-avg-0.01", "decay-avg-0.1", "decay-avg-0.25"];

    /// <summary>The default grid: τ ∈ {0.3, 1, ∞} × λ ∈ {auto, 0.01, 0.05, 0.25} × α scale ∈ {0.15, 0.3, 1}; a NaN λ
    /// stands for auto (<see cref="Profiles.AutoLambda"/>).</summary>
    public static IReadOnlyList<RetrievalSettings> Grid(IReadOnlyList<double>? taus = null, IReadOnlyList<double>? lambdas = null,
                                                        IReadOnlyList<double>? alphaScales = null)
    {
        var grid = new List<RetrievalSettings>();
        foreach (double a in alphaScales ?? [0.15, 0.3, 1])
        foreach (double l in lambdas ?? [double.NaN, 0.01, 0.05, 0.25])
        foreach (double t in taus ?? [0.3, 1, double.PositiveInfinity])
            grid.Add(double.IsNaN(l)
                ? RetrievalSettings.Default with { Policy = RetrievalPolicy.Mixture, AlphaScale = a, AutoLambda = true, Tau = t }
                : RetrievalSettings.Default with { Policy = RetrievalPolicy.Mixture, AlphaScale = a, Lambda = l, AutoLambda = false, Tau = t });
        return grid;
    }

    /// <summary>The evaluation method name of <paramref name="s"/> (parsed back by the evaluation).</summary>
    public static string MethodName(RetrievalSettings s) => string.Create(CultureInfo.InvariantCulture,
        $"{MixtureMethod.Prefix}(tau={(double.IsPositiveInfinity(s.Tau) ? "inf" : s.Tau.ToString("R", CultureInfo.InvariantCulture))};lambda={(s.AutoLambda ? "auto" : s.Lambda.ToString("R", CultureInfo.InvariantCulture))};alpha={s.AlphaScale:R};m={s.Components};pool={s.PoolClusters};centre={s.CentreFetch:R};keep={s.CentreKeep:R})");

    /// <summary>The validation period for a test period that is the last <paramref name="testShare"/> of the actions:
    /// the <paramref name="validationShare"/> of the actions just before it.</summary>
    public static (long From, long Until) ValidationPeriod(EvalActions actions, double testShare, double validationShare)
    {
        ArgumentNullException.ThrowIfNull(actions);
        long until = EvalSplit.TestPeriodStart(actions, testShare);
        long from = EvalSplit.TestPeriodStart(actions, Math.Min(0.99, testShare + validationShare));
        if (from >= until) throw new ArgumentException("The validation period is empty: the data spans too few days.");
        return (from, until);
    }

    /// <summary>Runs the grid on <paramref name="validation"/> (walk-forward; TestFrom and TestUntil set).</summary>
    /// <exception cref="ArgumentException">The options do not name a validation period, or the grid is empty.</exception>
    public static TuningResult Run(EvalActions actions, ItemEmbeddings items, OfflineEvalOptions validation,
                                   IReadOnlyList<RetrievalSettings> grid, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(grid);
        if (validation.TestFrom is null || validation.TestUntil is null)
            throw new ArgumentException("Tuning needs a validation period: TestFrom and TestUntil.", nameof(validation));
        if (grid.Count == 0) throw new ArgumentException("The grid is empty.", nameof(grid));
        var names = grid.Select(MethodName).ToList();
        OfflineEvalOptions options = validation with
        {
            Protocol = EvalProtocol.WalkForward,
            Methods = [.. Baselines, .. names],
            CurveMaxEmbeddings = 0,
        };
        OfflineEvalResult result = OfflineEvaluation.Run(actions, items, options, "validation", "", null, log);
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, MetricEstimate>> r = result.Report.Results;
        var best = Metrics.ToDictionary(m => m, m => Baselines.Max(b => r[b][m].Value), StringComparer.Ordinal);
        var points = new List<TuningPoint>();
        for (int i = 0; i < grid.Count; i++)
        {
            IReadOnlyDictionary<string, MetricEstimate> row = r[names[i]];
            var values = row.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal);
            double[] logs = [.. Metrics.Select(m => best[m] > 0 ? Math.Log(Math.Max(values[m], 1e-12) / best[m]) : 0)];
            points.Add(new TuningPoint(grid[i], values, logs.Average(), logs.Min()));
        }
        var ordered = points.Select((p, i) => (p, i))
                            .OrderByDescending(x => x.p.Objective).ThenByDescending(x => x.p.Worst).ThenBy(x => x.i)
                            .Select(x => x.p).ToList();
        return new TuningResult(ordered, best, result.Report);
    }
}
