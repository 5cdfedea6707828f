using System.Globalization;
using System.Text;
using System.Text.Json;
using PinnerSage.IO;

namespace PinnerSage.Evaluation;

/// <summary>Text renderings of an <see cref="OfflineEvalResult"/>: a Markdown report (the terminal output and the
/// results files) and JSON (method → metric → {value, low, high}).</summary>
public static class OfflineEvalOutput
{
    private static readonly string[] LiftMetrics = ["relevance", "recall", "r-precision", "mrr"];

    /// <summary>What a saturated coverage means, under both reports' tables.</summary>
    internal const string SaturatedNote =
        "Coverage is saturated: every method's candidates, over all users, cover the whole catalogue, so coverage cannot " +
        "rank the methods on this dataset (it informs on catalogues much larger than users × K).";

    /// <summary>The Markdown report: settings, one table of every method × metric (value and 95 % interval) with the
    /// lift over the baseline for relevance, recall, R-precision and MRR, and the relevance/diversity-vs-embeddings
    /// table.</summary>
    public static string Markdown(OfflineEvalResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        OfflineEvalReport r = result.Report;
        var sb = new StringBuilder();
        var ic = CultureInfo.InvariantCulture;
        sb.Append(ic, $"**{r.Dataset}** · embeddings: {r.Embeddings} · {r.Protocol} · {r.Users:N0} users, {r.TestActions:N0} test actions · {r.Seconds:F1} s").AppendLine().AppendLine();
        foreach (KeyValuePair<string, string> kv in r.Settings) sb.Append(ic, $"- {kv.Key}: {kv.Value}").AppendLine();
        sb.AppendLine();
        sb.Append("| method |");
        foreach (string m in r.MetricNames)
        {
            sb.Append(ic, $" {m} |");
            if (LiftMetrics.Contains(m)) sb.Append(" lift |");
        }
        sb.AppendLine();
        sb.Append("|---|");
        foreach (string m in r.MetricNames) sb.Append(LiftMetrics.Contains(m) ? "---:|---:|" : "---:|");
        sb.AppendLine();
        foreach (string method in r.Methods)
        {
            sb.Append(ic, $"| {method} |");
            IReadOnlyDictionary<string, MetricEstimate> row = r.Results[method];
            result.Lifts.TryGetValue(method, out IReadOnlyDictionary<string, MetricEstimate>? lifts);
            foreach (string m in r.MetricNames)
            {
                string cell = !row.TryGetValue(m, out MetricEstimate? e) ? "–"
                    : m == OfflineEvalReport.CoverageMetric && r.CoverageSaturated ? "saturated" : Value(e, m == OfflineEvalReport.CoverageMetric);
                sb.Append(' ').Append(cell).Append(" |");
                if (!LiftMetrics.Contains(m)) continue;
                sb.Append(' ').Append(lifts is not null && lifts.TryGetValue(m, out MetricEstimate? l) ? Lift(l) : "–").Append(" |");
            }
            sb.AppendLine();
        }
        if (r.CoverageSaturated) sb.AppendLine().AppendLine(SaturatedNote);
        if (r.ByClusterCount.Count > 0)
        {
            string[] bucketMetrics = [.. r.ByClusterCount[0].Means.Values.First().Keys];
            sb.AppendLine().AppendLine("By the users' number of Ward clusters (at their last point; plain means over the users):").AppendLine();
            sb.Append("| users | method |");
            foreach (string m in bucketMetrics) sb.Append(ic, $" {m} |");
            sb.AppendLine().Append("|---|---|").Append(string.Concat(bucketMetrics.Select(_ => "---:|"))).AppendLine();
            foreach (ClusterBucket b in r.ByClusterCount)
            {
                foreach (string method in r.Methods)
                {
                    sb.Append(ic, $"| {b.Label} ({b.Users:N0}) | {method} |");
                    foreach (string m in bucketMetrics) sb.Append(ic, $" {b.Means[method][m]:0.0000} |");
                    sb.AppendLine();
                }
            }
        }
        if (r.ByEmbeddingCount.Count > 0)
        {
            sb.AppendLine().AppendLine("PinnerSage with e sampled medoids (the paper's Figure 7):").AppendLine();
            sb.AppendLine("| e | relevance | diversity |").AppendLine("|---:|---:|---:|");
            foreach (EmbeddingCountPoint p in r.ByEmbeddingCount)
                sb.Append(ic, $"| {p.Embeddings} | {Value(p.Relevance, false)} | {Value(p.Diversity, false)} |").AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>Writes method → metric → {"value","low","high"} (the contract's shape); each method also carries
    /// "lift-METRIC" entries of the same shape (lift over the baseline with paired-bootstrap intervals). Atomic.</summary>
    public static void WriteJson(string path, OfflineEvalResult result)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(result);
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            foreach (string method in result.Report.Methods)
            {
                w.WriteStartObject(method);
                foreach (string m in result.Report.MetricNames)
                {
                    if (result.Report.Results[method].TryGetValue(m, out MetricEstimate? e)) Write(w, m, e);
                }
                if (result.Lifts.TryGetValue(method, out IReadOnlyDictionary<string, MetricEstimate>? lifts))
                {
                    foreach (string m in result.Report.MetricNames)
                    {
                        if (lifts.TryGetValue(m, out MetricEstimate? e)) Write(w, "lift-" + m, e);
                    }
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        });
    }

    private static void Write(Utf8JsonWriter w, string name, MetricEstimate e)
    {
        w.WriteStartObject(name);
        w.WriteNumber("value", Finite(e.Value));
        w.WriteNumber("low", Finite(e.Low));
        w.WriteNumber("high", Finite(e.High));
        w.WriteEndObject();
    }

    private static double Finite(double x) => double.IsFinite(x) ? Math.Round(x, 6) : 0;

    private static string Value(MetricEstimate e, bool point) => point
        ? e.Value.ToString("0.0000", CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{e.Value:0.0000} ({e.Low:0.000}–{e.High:0.000})");

    private static string Lift(MetricEstimate e) =>
        string.Create(CultureInfo.InvariantCulture, $"{e.Value * 100:+0;-0;0}% ({e.Low * 100:+0;-0;0}…{e.High * 100:+0;-0;0})");
}
