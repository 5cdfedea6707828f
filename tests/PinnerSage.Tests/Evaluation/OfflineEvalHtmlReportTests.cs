using System.Globalization;
using System.Xml.Linq;
using PinnerSage.Evaluation;

namespace PinnerSage.Tests.Evaluation;

/// <summary>The HTML report: well-formed, complete, escaped, and its plot geometry matches a hand-made report.</summary>
public sealed class OfflineEvalHtmlReportTests
{
    internal static OfflineEvalReport HandMade()
    {
        string[] metrics = ["relevance", "recall", "r-precision", "mrr", "recall@10", "recall@50", "ndcg@10", "coverage", "diversity"];
        static MetricEstimate M(double v) => new(v, v * 0.9, v * 1.1);
        Dictionary<string, MetricEstimate> Row(double relevance, double recall) =>
            metrics.ToDictionary(m => m, m => m switch { "relevance" => M(relevance), "recall" => M(recall), _ => M(0.05) });
        var results = new Dictionary<string, IReadOnlyDictionary<string, MetricEstimate>>
        {
            ["last-item"] = Row(0.2, 0.1),
            ["decay-average λ=0.01"] = Row(0.3, 0.12),   // +50 %, +20 %
            ["pinnersage"] = Row(0.4, 0.2),              // +100 %, +100 %
            ["<script>alert('x')</script> & co"] = Row(0.1, 0.05), // −50 %, −50 %
        };
        results["pinnersage"] = new Dictionary<string, MetricEstimate>(results["pinnersage"]) { ["recall@10"] = M(0.07) };
        return new OfflineEvalReport
        {
            Dataset = "amazon-beauty <test>",
            Embeddings = "vectors/itemsage.npy (ItemSage)",
            Protocol = "daily walk-forward, 90-day window",
            Settings = [new("K", "400"), new("seed", "42")],
            Methods = ["last-item", "decay-average λ=0.01", "pinnersage", "<script>alert('x')</script> & co"],
            MetricNames = metrics,
            Results = results,
            ClustersPerUser = [new(5, 2), new(5, 2), new(10, 3), new(40, 9)],
            ByEmbeddingCount = [new(1, M(0.3), M(0.2)), new(3, M(0.4), M(0.35)), new(5, M(0.42), M(0.4))],
            Users = 1234,
            TestActions = 5678,
            Seconds = 12.5,
        };
    }

    private static XDocument Parse(string html)
    {
        Assert.StartsWith("<!DOCTYPE html>\n", html, StringComparison.Ordinal);
        return XDocument.Parse(html["<!DOCTYPE html>\n".Length..]); // throws on any unbalanced tag or bad escape
    }

    private static IEnumerable<XElement> Svg(XDocument doc, string localName)
        => doc.Descendants().Where(e => e.Name.LocalName == localName);

    private static void Close(double expected, double actual, double tolerance)
        => Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected:R} ± {tolerance}, got {actual:R}");

    private static double D(XElement e, string attribute) => double.Parse(e.Attribute(attribute)!.Value, CultureInfo.InvariantCulture);

    [Fact]
    public void IsWellFormedSelfContainedAndNamesEveryMethodAndMetric()
    {
        OfflineEvalReport report = HandMade();
        string html = OfflineEvalHtmlReport.Render(report);
        XDocument doc = Parse(html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        // Nine metrics: two tables (5 + 4 metric columns), each with every method, together every metric once in order.
        List<XElement> tables = [.. doc.Descendants("table")];
        Assert.Equal(["results-table", "results-table-2"], tables.Select(t => t.Attribute("id")!.Value));
        Assert.All(tables, t => Assert.Equal("method", t.Descendants("th").First().Value));
        Assert.All(tables, t => Assert.InRange(t.Descendants("th").Count() - 1, 1, OfflineEvalHtmlReport.MetricsPerTable));
        Assert.Equal(report.MetricNames, tables.SelectMany(t => t.Descendants("th").Skip(1).Select(h => h.Value)));
        foreach (XElement t in tables)
        {
            List<XElement> methodRows = t.Element("tbody")!.Elements("tr").ToList();
            Assert.Equal(report.Methods.Count, methodRows.Count);
            for (int r = 0; r < methodRows.Count; r++)
                Assert.StartsWith(report.Methods[r], methodRows[r].Elements("td").First().Value, StringComparison.Ordinal);
        }
        XElement table = tables[0];
        List<XElement> rows = table.Element("tbody")!.Elements("tr").ToList();
        Assert.DoesNotContain(doc.Descendants("p"), p => p.Attribute("id")?.Value == "coverage-saturated"); // 0.05: informative
        Assert.Contains("amazon-beauty <test>", doc.Descendants("h1").Single().Value, StringComparison.Ordinal);
        // The pinnersage row: relevance 0.4000 [0.3600, 0.4400] +100.0 %.
        XElement relevance = rows[2].Elements("td").ElementAt(1);
        Assert.Equal("0.4000[0.3600, 0.4400]+100.0 %", relevance.Value);
        Assert.Equal("best", relevance.Attribute("class")?.Value); // the highest relevance of the report
        Assert.Null(rows[0].Elements("td").ElementAt(1).Attribute("class"));
        Assert.Equal("−50.0 %", rows[3].Elements("td").ElementAt(2).Descendants("span").Last().Value);
        Assert.DoesNotContain(rows[0].Descendants("span"), s => s.Attribute("class")?.Value.StartsWith("lift", StringComparison.Ordinal) == true);
        Assert.Equal(3, Svg(doc, "svg").Count()); // lift bars, cluster scatter, Figure 7
    }

    [Fact]
    public void BarLengthsAreProportionalToLiftsAndStartAtZero()
    {
        OfflineEvalReport report = HandMade();
        XDocument doc = Parse(OfflineEvalHtmlReport.Render(report));
        List<XElement> bars = Svg(doc, "rect").Where(r => r.Attribute("class")?.Value == "bar").ToList();
        Assert.Equal(6, bars.Count); // three non-baseline methods × (relevance, recall)
        XElement zero = Svg(doc, "line").Single(l => l.Attribute("class")?.Value == "zero");
        double x0 = D(zero, "x1");
        double pixelsPerLift = double.NaN;
        foreach (XElement bar in bars)
        {
            string method = bar.Attribute("data-method")!.Value, metric = bar.Attribute("data-metric")!.Value;
            double lift = report.Lift(method, metric)!.Value;
            Assert.Equal(lift, D(bar, "data-lift"), 12);
            double x = D(bar, "x"), width = D(bar, "width");
            // A positive bar starts at the zero line, a negative one ends there.
            Close(x0, lift >= 0 ? x : x + width, 0.02);
            double scale = width / Math.Abs(lift);
            if (double.IsNaN(pixelsPerLift)) pixelsPerLift = scale;
            Close(pixelsPerLift, scale, 0.1);
        }
        Assert.Contains(bars, b => b.Attribute("data-method")!.Value == "<script>alert('x')</script> & co");
        // Whiskers span the interval: pinnersage relevance [0.36/0.2 − 1, 0.44/0.2 − 1] = [+80 %, +120 %].
        XElement pinBar = bars.Single(b => b.Attribute("data-method")!.Value == "pinnersage" && b.Attribute("data-metric")!.Value == "relevance");
        double cy = D(pinBar, "y") + D(pinBar, "height") / 2;
        XElement whisker = Svg(doc, "line").Single(l => l.Attribute("class")?.Value == "whisker" && Math.Abs(D(l, "y1") - cy) < 0.6);
        Close(x0 + 0.8 * pixelsPerLift, D(whisker, "x1"), 0.1);
        Close(x0 + 1.2 * pixelsPerLift, D(whisker, "x2"), 0.1);
    }

    [Fact]
    public void ScatterAndFigure7PointsAreWhereTheDataSays()
    {
        OfflineEvalReport report = HandMade();
        XDocument doc = Parse(OfflineEvalHtmlReport.Render(report));
        List<XElement> dots = Svg(doc, "circle").Where(c => c.Attribute("class")?.Value == "dot").ToList();
        Assert.Equal(3, dots.Count); // (5, 2) twice is one dot of two users
        Assert.Equal("2", dots.Single(d => d.Attribute("data-actions")!.Value == "5").Attribute("data-users")!.Value);
        // Linear axes through the origin: cx ∝ actions and cy falls linearly with clusters.
        (double X, double Y) P(XElement d) => (D(d, "cx"), D(d, "cy"));
        (double x5, double y2) = P(dots.Single(d => d.Attribute("data-actions")!.Value == "5"));
        (double x10, double y3) = P(dots.Single(d => d.Attribute("data-actions")!.Value == "10"));
        (double x40, double y9) = P(dots.Single(d => d.Attribute("data-actions")!.Value == "40"));
        Close((x40 - x10) / 30, (x10 - x5) / 5, 0.01);
        Close((y9 - y3) / 6, (y3 - y2) / 1, 0.01);
        Assert.True(y9 < y3 && x40 > x10);

        List<XElement> points = Svg(doc, "circle").Where(c => c.Attribute("class")?.Value == "point").ToList();
        Assert.Equal(6, points.Count);
        foreach (string metric in new[] { "relevance", "diversity" })
        {
            var ps = points.Where(p => p.Attribute("data-metric")!.Value == metric).OrderBy(p => int.Parse(p.Attribute("data-embeddings")!.Value)).ToList();
            Assert.Equal(3, ps.Count);
            // e = 1, 3, 5 equally spaced in x; y in order of the values.
            Close(D(ps[1], "cx") - D(ps[0], "cx"), D(ps[2], "cx") - D(ps[1], "cx"), 0.02);
            double v0 = D(ps[0], "data-value"), v1 = D(ps[1], "data-value"), v2 = D(ps[2], "data-value");
            double slope = (D(ps[1], "cy") - D(ps[0], "cy")) / (v1 - v0);
            Close(slope, (D(ps[2], "cy") - D(ps[1], "cy")) / (v2 - v1), 0.02 / Math.Abs(v2 - v1));
            Assert.True(D(ps[2], "cy") < D(ps[0], "cy"));
        }
    }

    [Fact]
    public void HeavyUsersSwitchTheScatterToLogAxes()
    {
        // 9, 99 and 999 actions are 1, 2 and 3 on a log10(1 + x) axis: equally spaced; likewise 0, 9, 99 clusters.
        OfflineEvalReport report = HandMade() with { ClustersPerUser = [new(9, 0), new(99, 9), new(999, 99)] };
        XDocument doc = Parse(OfflineEvalHtmlReport.Render(report));
        List<XElement> dots = Svg(doc, "circle").Where(c => c.Attribute("class")?.Value == "dot")
                                                .OrderBy(d => int.Parse(d.Attribute("data-actions")!.Value)).ToList();
        Assert.Equal(3, dots.Count);
        Close(D(dots[1], "cx") - D(dots[0], "cx"), D(dots[2], "cx") - D(dots[1], "cx"), 0.02);
        Close(D(dots[1], "cy") - D(dots[0], "cy"), D(dots[2], "cy") - D(dots[1], "cy"), 0.02);
        Assert.Contains(Svg(doc, "text"), t => t.Value.Contains("log(1 + x)", StringComparison.Ordinal));
        Assert.Contains(Svg(doc, "text"), t => t.Attribute("class")?.Value == "tick" && t.Value == "1000");
    }

    [Fact]
    public void CoverageOfOneForEveryMethodIsReportedAsSaturated()
    {
        OfflineEvalReport informative = HandMade();
        var results = informative.Results.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, MetricEstimate>)
            new Dictionary<string, MetricEstimate>(kv.Value) { ["coverage"] = new(1, 1, 1) });
        OfflineEvalReport saturated = informative with { Results = results };
        Assert.False(informative.CoverageSaturated);
        Assert.True(saturated.CoverageSaturated);
        // One method below 1 is enough for coverage to inform.
        var oneBelow = new Dictionary<string, IReadOnlyDictionary<string, MetricEstimate>>(results)
        {
            ["pinnersage"] = new Dictionary<string, MetricEstimate>(results["pinnersage"]) { ["coverage"] = new(0.98, 0.98, 0.98) },
        };
        Assert.False((informative with { Results = oneBelow }).CoverageSaturated);

        XDocument doc = Parse(OfflineEvalHtmlReport.Render(saturated));
        XElement table = doc.Descendants("table").Single(t => t.Descendants("th").Any(h => h.Value == "coverage"));
        int column = table.Descendants("th").Select(h => h.Value).ToList().IndexOf("coverage");
        Assert.All(table.Element("tbody")!.Elements("tr"), row => Assert.Equal("saturated", row.Elements("td").ElementAt(column).Value));
        Assert.Contains("cannot rank the methods", doc.Descendants("p").Single(p => p.Attribute("id")?.Value == "coverage-saturated").Value);
    }

    [Fact]
    public void EmptyReportStillRenders()
    {
        var report = new OfflineEvalReport
        {
            Dataset = "empty",
            Embeddings = "",
            Protocol = "",
            Settings = [],
            Methods = ["pinnersage"],
            MetricNames = ["relevance"],
            Results = new Dictionary<string, IReadOnlyDictionary<string, MetricEstimate>>(),
        };
        XDocument doc = Parse(OfflineEvalHtmlReport.Render(report));
        Assert.Contains("no lift to show", doc.ToString(), StringComparison.Ordinal);
        Assert.Null(report.Lift("pinnersage", "relevance"));
    }

    [Fact]
    public void LiftIsRelativeToTheBaselineAndUndefinedForZero()
    {
        OfflineEvalReport report = HandMade();
        Assert.Equal(1.0, report.Lift("pinnersage", "relevance")!.Value, 12);
        Assert.Equal(0.0, report.Lift("last-item", "recall")!.Value, 12);
        Assert.Null(report.Lift("missing", "recall"));
        Assert.Null(report.Lift("pinnersage", "missing"));
        var zero = report with { Results = new Dictionary<string, IReadOnlyDictionary<string, MetricEstimate>> { ["last-item"] = new Dictionary<string, MetricEstimate> { ["recall"] = new(0, 0, 0) }, ["x"] = new Dictionary<string, MetricEstimate> { ["recall"] = new(1, 1, 1) } } };
        Assert.Null(zero.Lift("x", "recall"));
    }
}
