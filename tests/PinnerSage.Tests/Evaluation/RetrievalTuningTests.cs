using PinnerSage.Evaluation;
using PinnerSage.IO;
using PinnerSage.Numerics;
using PinnerSage.Retrieval;

namespace PinnerSage.Tests.Evaluation;

/// <summary><c>pinnersage tune</c>'s library side and the evaluation's <c>default</c> row: the validation period never
/// sees the test period, the choice is the objective's argmax, and the default row is the mixture with its settings.</summary>
public sealed class RetrievalTuningTests
{
    private const long Day = 86_400;
    private const long T0 = 18_500 * Day;

    /// <summary>60 users over 100 days on 300 items in 6 topics (each user mostly in 2 topics), plus, when
    /// <paramref name="withTestPeriod"/>, random actions in days 100–120 (the "test period").</summary>
    private static (EvalActions, ItemEmbeddings) World(bool withTestPeriod)
    {
        const int n = 300, d = 16, topics = 6;
        var rng = new SplitMix64(7);
        var data = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            data[i * d + i % topics] = 3;
            for (int k = 0; k < d; k++) data[i * d + k] += (float)(rng.NextDoubleNonZero() - 0.5);
        }
        ItemEmbeddings items = ItemEmbeddings.FromArray([.. Enumerable.Range(0, n).Select(i => $"i{i}")], data, d);
        var user = new List<int>();
        var time = new List<long>();
        var row = new List<int>();
        for (int u = 0; u < 60; u++)
        {
            int a = u % topics, b = (u / topics) % topics;
            for (int i = 0; i < 40; i++)
            {
                user.Add(u);
                time.Add(T0 + (long)(rng.Next() % (100 * Day)));
                int topic = rng.Next() % 3 == 0 ? b : a;
                row.Add(topic + topics * (int)(rng.Next() % (n / topics)));
            }
            // Drawn either way, so both worlds share everything before day 100.
            for (int i = 0; i < 5; i++)
            {
                long t = T0 + 100 * Day + (long)(rng.Next() % (20 * Day));
                int r = (int)(rng.Next() % n);
                if (!withTestPeriod) continue;
                user.Add(u);
                time.Add(t);
                row.Add(r);
            }
        }
        return (EvalActions.Build([.. Enumerable.Range(0, 60).Select(u => $"u{u}")], [.. user], [.. time], [.. row]), items);
    }

    private static readonly OfflineEvalOptions Validation = new()
    {
        TestFrom = T0 + 80 * Day, TestUntil = T0 + 100 * Day, BootstrapResamples = 10, Threads = 1, MaxUsers = 0,
    };

    [Fact]
    public void TheChoiceIsTheObjectivesArgmaxAndNeverSeesTheTestPeriod()
    {
        IReadOnlyList<RetrievalSettings> grid = RetrievalTuning.Grid([0.3, double.PositiveInfinity], [0.01, 0.25], [1]);
        (EvalActions withTest, ItemEmbeddings items) = World(withTestPeriod: true);
        TuningResult result = RetrievalTuning.Run(withTest, items, Validation, grid);

        // The objective recomputed from the report: mean log ratio to the best baseline over the three metrics.
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, MetricEstimate>> r = result.Report.Results;
        foreach (TuningPoint p in result.Points)
        {
            double[] logs = [.. RetrievalTuning.Metrics.Select(m =>
                Math.Log(p.Values[m] / RetrievalTuning.Baselines.Max(b => r[b][m].Value)))];
            Assert.Equal(logs.Average(), p.Objective, 12);
            Assert.Equal(logs.Min(), p.Worst, 12);
            Assert.Equal(r[RetrievalTuning.MethodName(p.Settings)]["recall"].Value, p.Values["recall"]);
        }
        Assert.Equal(grid.Count, result.Points.Count);
        Assert.Equal(result.Points.Max(p => p.Objective), result.Points[0].Objective);
        Assert.Equal(result.Points[0].Settings, result.Best);

        // Removing every action of the test period changes nothing: the validation period ends before it.
        (EvalActions withoutTest, _) = World(withTestPeriod: false);
        TuningResult again = RetrievalTuning.Run(withoutTest, items, Validation, grid);
        Assert.Equal(result.Points.Select(p => p.Objective), again.Points.Select(p => p.Objective));
    }

    [Fact]
    public void TheDefaultRowIsTheMixtureWithTheSameSettings()
    {
        (EvalActions actions, ItemEmbeddings items) = World(withTestPeriod: true);
        RetrievalSettings settings = RetrievalSettings.Default with { Tau = 0.5, Lambda = 0.1, AlphaScale = 2 };
        string name = RetrievalTuning.MethodName(settings);
        OfflineEvalResult result = OfflineEvaluation.Run(actions, items,
            Validation with { Methods = [EvalMethods.Default, name], Settings = settings }, "world", "test");
        foreach (string metric in result.Report.MetricNames)
            Assert.Equal(result.Report.Results[name][metric], result.Report.Results[EvalMethods.Default][metric]);
        // And a different setting is a different row (the comparison can fail).
        OfflineEvalResult other = OfflineEvaluation.Run(actions, items,
            Validation with { Methods = [EvalMethods.Default], Settings = settings with { Tau = double.PositiveInfinity, AlphaScale = 0.3 } }, "world", "test");
        Assert.NotEqual(result.Report.Results[EvalMethods.Default]["recall@10"], other.Report.Results[EvalMethods.Default]["recall@10"]);
    }

    [Fact]
    public void TheValidationPeriodEndsWhereTheTestPeriodStarts()
    {
        (EvalActions actions, _) = World(withTestPeriod: true);
        (long from, long until) = RetrievalTuning.ValidationPeriod(actions, 0.1, 0.1);
        Assert.Equal(EvalSplit.TestPeriodStart(actions, 0.1), until);
        Assert.Equal(EvalSplit.TestPeriodStart(actions, 0.2), from);
        Assert.True(from < until);
        Assert.Throws<ArgumentException>(() => RetrievalTuning.Run(actions, ItemEmbeddings.FromArray(["i"], [1f], 1),
            new OfflineEvalOptions { TestFrom = from }, RetrievalTuning.Grid()));
    }

    [Fact]
    public void WalkForwardStopsAtTestUntil()
    {
        (EvalActions actions, _) = World(withTestPeriod: true);
        List<EvalInstance> points = EvalSplit.WalkForward(actions, T0 + 80 * Day, 1, 90, false, until: T0 + 100 * Day);
        Assert.NotEmpty(points);
        foreach (EvalInstance x in points)
        {
            Assert.True(x.Now < T0 + 100 * Day);
            for (int i = x.TestStart; i < x.TestEnd; i++) Assert.True(actions.Times[i] < T0 + 100 * Day);
        }
        Assert.True(EvalSplit.WalkForward(actions, T0 + 80 * Day, 1, 90, false).Count > points.Count);
    }
}
