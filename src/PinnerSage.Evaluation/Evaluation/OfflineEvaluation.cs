using System.Diagnostics;
using System.Globalization;
using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Numerics;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;

namespace PinnerSage.Evaluation;

/// <summary>What <see cref="OfflineEvaluation.Run"/> produced: the report the renderers read, and the lift of every
/// method over the baseline with paired-bootstrap intervals (method → metric → estimate).</summary>
public sealed record OfflineEvalResult(OfflineEvalReport Report,
                                       IReadOnlyDictionary<string, IReadOnlyDictionary<string, MetricEstimate>> Lifts);

/// <summary>The paper's offline evaluation (Pal et al., KDD 2020, §5.1; papers/PINNERSAGE.md "Offline evaluation
/// protocol") on any dataset in the generic layout: split (<see cref="EvalSplit"/>), build every method's query
/// embeddings from the history only, retrieve ⌊K/e⌋ neighbours per embedding, score the test actions
/// (<see cref="EvalMetrics"/>), average per user, then over users with bootstrap intervals.</summary>
/// <remarks>
/// <para>Leakage: a method is handed a <see cref="UserHistory"/> loaded from the range [HistoryStart, TestStart) of the
/// point and from nothing else (<see cref="Worker.Process"/>); the test range starts where the history range ends and
/// every history timestamp is &lt; now ≤ every test timestamp (<see cref="EvalInstance"/>).</para>
/// <para>Aggregation (our choice): per user, relevance and recall are shares of all the user's test actions (over all
/// steps); the ranking and whole-catalogue metrics and diversity are means over the user's points; the reported value
/// is the mean over users (every user weighs the same, as the bootstrap resamples users). Coverage is the share of
/// the catalogue in any candidate list of any user; it is a catalogue-level number without an interval (low = high).
/// Nothing is excluded from the candidates or the whole-catalogue ranking (the paper excludes nothing; an embedding's
/// own item, e.g. a medoid, is its first neighbour and takes a slot).</para>
/// <para>Retrieval: an item query's neighbours (last item, medoids) are cached by item row, as in production.
/// Items with a zero vector stay zero after normalisation and score 0 against everything.</para>
/// </remarks>
public static class OfflineEvaluation
{
    /// <summary>Runs the evaluation.</summary>
    /// <param name="actions">The dataset's actions mapped to rows of <paramref name="items"/>.</param>
    /// <param name="items">The item embeddings (the catalogue searched).</param>
    /// <param name="options">Options; validated here.</param>
    /// <param name="dataset">Dataset description for the report.</param>
    /// <param name="embeddingsDescription">Embeddings description for the report.</param>
    /// <param name="index">Index over the rows of <paramref name="items"/> (labels = rows, cosine or inner-product
    /// metric); null = exact search.</param>
    /// <param name="log">Progress lines.</param>
    /// <exception cref="ArgumentException">Bad options, or an index that does not match the embeddings.</exception>
    public static OfflineEvalResult Run(EvalActions actions, ItemEmbeddings items, OfflineEvalOptions options,
                                        string dataset, string embeddingsDescription, IVectorIndex? index = null,
                                        Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        int d = items.Dimension, catalogue = items.Count;
        float[] unit = VectorNorms.NormalizeRows(items.Matrix, catalogue, d);
        double alpha = options.Alpha ?? AutoAlpha.Resolve(items, normalizeVectors: true);
        if (index is not null)
        {
            if (index.Dimension != d)
                throw new ArgumentException($"The index has dimension {index.Dimension}, the embeddings {d}.", nameof(index));
            if (index.Metric == VectorMetric.L2)
                throw new ArgumentException("The index must use the cosine or inner-product metric, not L2.", nameof(index));
        }
        index ??= ExactIndex.Build(unit, d, VectorMetric.InnerProduct);

        (List<EvalInstance> points, string protocol, List<KeyValuePair<string, string>> settings) = Split(actions, options);
        int eligibleUsers = EvalSplit.DistinctUsers(points);
        points = EvalSplit.SampleUsers(points, actions, options.MaxUsers, options.Seed);
        log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"{protocol}: {points.Count:N0} evaluation points of {EvalSplit.DistinctUsers(points):N0} users (of {eligibleUsers:N0} eligible)"));

        List<string> names = [EvalMethods.Baseline, .. (options.Methods ?? EvalMethods.Names).Where(n => n != EvalMethods.Baseline).Distinct()];
        names.Sort((a, b) => IndexOf(a).CompareTo(IndexOf(b)) is var c && c != 0 ? c : string.CompareOrdinal(a, b));
        // λ = auto (the default's): chosen on the actions before the first test point only, as a batch run at the test
        // start would choose it (Profiles.AutoLambda).
        // Only the mixture rows can use it; the baselines and the paper's rows never do.
        double autoLambda = options.Settings.Lambda;
        if (names.Any(n => n == EvalMethods.Default || n.StartsWith(MixtureMethod.Prefix, StringComparison.Ordinal)))
        {
            long firstTest = points.Count == 0 ? long.MaxValue : points.Min(p => p.Now);
            AutoLambdaResult auto = AutoLambda.Resolve(actions.Offsets, actions.Times, actions.Rows, unit, d, firstTest,
                                                       options.WindowDays, options.Settings.Lambda);
            autoLambda = auto.Lambda;
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"auto λ = {auto.Lambda:0.###} per day ({(auto.Chosen ? $"best mean cosine of {auto.Pairs:N0} (user, day) pairs before the test period" : "fallback: too few actions")})"));
        }
        var plan = new Plan(actions, unit, d, catalogue, alpha, index, options, names) { AutoLambda = autoLambda };

        // Users in order; each user's points are contiguous (the splits emit them user by user).
        var groups = new List<(int Start, int End)>();
        for (int i = 0; i < points.Count;)
        {
            int j = i;
            while (j < points.Count && points[j].User == points[i].User) j++;
            groups.Add((i, j));
            i = j;
        }
        var sums = new Sums(groups.Count, names.Count, plan.MetricCount, options.CurveMaxEmbeddings, catalogue);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Threads > 0 ? options.Threads : Environment.ProcessorCount };
        long testActions = 0;
        Parallel.For(0, groups.Count, parallel, () => new Worker(plan, sums), (g, _, worker) =>
        {
            (int start, int end) = groups[g];
            for (int i = start; i < end; i++) worker.Process(points[i], g, last: i == end - 1);
            return worker;
        }, worker => Interlocked.Add(ref testActions, worker.TestActions));

        OfflineEvalResult result = Aggregate(plan, sums, groups.Count, options, dataset, embeddingsDescription, protocol,
                                             settings, alpha, testActions, clock);
        log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"evaluated in {clock.Elapsed.TotalSeconds:F1} s"));
        return result;
    }

    private static int IndexOf(string name)
    {
        for (int i = 0; i < EvalMethods.Names.Count; i++)
        {
            if (EvalMethods.Names[i] == name) return i;
        }
        return int.MaxValue;
    }

    private static (List<EvalInstance>, string, List<KeyValuePair<string, string>>) Split(EvalActions actions, OfflineEvalOptions o)
    {
        bool requireEmbedded = o.Unembedded == UnembeddedPolicy.Drop;
        var settings = new List<KeyValuePair<string, string>>();
        string Window() => string.Create(CultureInfo.InvariantCulture, $"{o.WindowDays:0.##}-day window");
        List<EvalInstance>? walk = null;
        long from = 0;
        if (o.Protocol != EvalProtocol.LeaveLastOut)
        {
            from = o.TestFrom ?? EvalSplit.TestPeriodStart(actions, o.TestShare);
            walk = EvalSplit.WalkForward(actions, from, o.StepDays, o.WindowDays, requireEmbedded, o.TestUntil ?? long.MaxValue);
        }
        List<EvalInstance>? leave = null;
        if (o.Protocol != EvalProtocol.WalkForward)
            leave = EvalSplit.LeaveLastOut(actions, o.LeaveOut, o.WindowDays, requireEmbedded);

        bool useWalk = o.Protocol == EvalProtocol.WalkForward;
        if (o.Protocol == EvalProtocol.Auto)
        {
            int walkUsers = EvalSplit.DistinctUsers(walk!), leaveUsers = EvalSplit.DistinctUsers(leave!);
            useWalk = walkUsers >= o.MinWalkUsers && walkUsers >= o.MinWalkShare * leaveUsers;
            settings.Add(new("protocol choice", string.Create(CultureInfo.InvariantCulture,
                $"auto: walk-forward would test {walkUsers:N0} users, leave-last-{o.LeaveOut}-out {leaveUsers:N0}; walk needs ≥ {o.MinWalkUsers:N0} and ≥ {o.MinWalkShare:P0} of leave-out → {(useWalk ? "walk-forward" : "leave-last-out")}")));
        }
        string protocol = useWalk
            ? string.Create(CultureInfo.InvariantCulture,
                $"walk-forward in {o.StepDays:0.##}-day steps from {DateTimeOffset.FromUnixTimeSeconds(from):yyyy-MM-dd}{(o.TestUntil is long u ? $" until {DateTimeOffset.FromUnixTimeSeconds(u):yyyy-MM-dd}" : "")}, {Window()}")
            : string.Create(CultureInfo.InvariantCulture, $"leave-last-{o.LeaveOut}-out by time per user, {Window()}");
        return (useWalk ? walk! : leave!, protocol, settings);
    }

    private static OfflineEvalResult Aggregate(Plan plan, Sums sums, int users, OfflineEvalOptions o, string dataset,
                                               string embeddings, string protocol,
                                               List<KeyValuePair<string, string>> settings, double alpha,
                                               long testActions, Stopwatch clock)
    {
        int methods = plan.Names.Count, metrics = plan.MetricCount, curve = o.CurveMaxEmbeddings;
        int series = methods * metrics + curve * 2;
        var values = new double[series * users];
        for (int u = 0; u < users; u++)
        {
            for (int s = 0; s < methods * metrics; s++)
            {
                int at = u * methods * metrics + s;
                values[s * users + u] = sums.Den[at] > 0 ? sums.Num[at] / sums.Den[at] : 0;
            }
            for (int s = 0; s < curve * 2; s++)
            {
                int at = u * curve * 2 + s;
                values[(methods * metrics + s) * users + u] = sums.CurveDen[at] > 0 ? sums.CurveNum[at] / sums.CurveDen[at] : 0;
            }
        }
        int r = o.BootstrapResamples;
        double[] resampled = Bootstrap.ResampleMeans(values, series, users, r, SplitMix64.Mix(o.Seed ^ 0xB007));
        double Mean(int s) => users == 0 ? 0 : values.AsSpan(s * users, users).ToArray().Average();
        MetricEstimate Estimate(int s)
        {
            (double low, double high) = Bootstrap.Interval(resampled.AsSpan(s * r, r).ToArray());
            return new MetricEstimate(Mean(s), low, high);
        }

        List<string> metricNames = [.. plan.MetricNames[..^1], "coverage", plan.MetricNames[^1]];
        var results = new Dictionary<string, IReadOnlyDictionary<string, MetricEstimate>>(StringComparer.Ordinal);
        var lifts = new Dictionary<string, IReadOnlyDictionary<string, MetricEstimate>>(StringComparer.Ordinal);
        for (int m = 0; m < methods; m++)
        {
            var row = new Dictionary<string, MetricEstimate>(StringComparer.Ordinal);
            var lift = new Dictionary<string, MetricEstimate>(StringComparer.Ordinal);
            for (int k = 0; k < metrics; k++)
            {
                int s = m * metrics + k, b = k; // the baseline is method 0
                row[plan.MetricNames[k]] = Estimate(s);
                double baseValue = Mean(b);
                if (baseValue > 0)
                {
                    var samples = new double[r];
                    for (int i = 0; i < r; i++) samples[i] = resampled[s * r + i] / resampled[b * r + i] - 1;
                    (double low, double high) = Bootstrap.Interval(samples);
                    lift[plan.MetricNames[k]] = new MetricEstimate(Mean(s) / baseValue - 1, low, high);
                }
            }
            double coverage = sums.Coverage(m);
            row["coverage"] = new MetricEstimate(coverage, coverage, coverage);
            double baseCoverage = sums.Coverage(0);
            if (baseCoverage > 0)
            {
                double c = coverage / baseCoverage - 1;
                lift["coverage"] = new MetricEstimate(c, c, c);
            }
            results[plan.Names[m]] = row;
            lifts[plan.Names[m]] = lift;
        }

        var curvePoints = new List<EmbeddingCountPoint>();
        for (int e = 0; e < curve; e++)
        {
            int s = methods * metrics + e * 2;
            curvePoints.Add(new EmbeddingCountPoint(e + 1, Estimate(s), Estimate(s + 1)));
        }

        double historyDiversity = users == 0 ? 0 : sums.HistoryDiversity.Take(users).Average();
        settings.AddRange(
        [
            new("alpha", string.Create(CultureInfo.InvariantCulture, $"{alpha:G4}{(o.Alpha is null ? " (auto from the embeddings)" : "")}")),
            new("keep singletons", o.KeepSingletons ? "yes" : "no"),
            new("candidates K", string.Create(CultureInfo.InvariantCulture, $"{o.Candidates} (⌊K/e⌋ per embedding)")),
            new("sampled embeddings e", o.SampledEmbeddings.ToString(CultureInfo.InvariantCulture)),
            new("relevance threshold", o.RelevanceThreshold.ToString("0.##", CultureInfo.InvariantCulture)),
            new("negatives per test action", o.Negatives.ToString(CultureInfo.InvariantCulture)),
            new("bootstrap resamples", r.ToString(CultureInfo.InvariantCulture)),
            new("seed", o.Seed.ToString(CultureInfo.InvariantCulture)),
            new("default row", o.Settings.ToString()),
            new("search", plan.Index is ExactIndex ? "exact" : "HNSW"),
            new("history items in candidates", o.ExcludeHistory ? "excluded" : "kept (the paper excludes nothing)"),
            new("catalogue (items with a vector)", plan.Catalogue.ToString("N0", CultureInfo.InvariantCulture)),
            new("actions without a vector", string.Create(CultureInfo.InvariantCulture,
                $"{plan.Actions.UnembeddedActions:N0} of {plan.Actions.Count:N0} ({(plan.Actions.Count == 0 ? 0 : (double)plan.Actions.UnembeddedActions / plan.Actions.Count):P1}); never in a profile; as test actions: {(o.Unembedded == UnembeddedPolicy.Miss ? "misses" : "dropped")}")),
            new("diversity of users' own history items", historyDiversity.ToString("0.000", CultureInfo.InvariantCulture)),
            new("history actions / Ward clusters per user (median, at the last point)", MedianActionsAndClusters(sums.ClusterPoints)),
        ]);

        // Users by their number of Ward clusters (at the last point): plain means per bucket, no intervals.
        (string Label, int Min, int Max)[] buckets = [("1 cluster", 1, 1), ("2–3 clusters", 2, 3), ("4–9 clusters", 4, 9), ("10+ clusters", 10, int.MaxValue)];
        string[] bucketMetrics = [.. new[] { "relevance", "recall", "recall@50" }.Where(plan.MetricNames.Contains)];
        var byClusters = new List<ClusterBucket>();
        foreach ((string label, int min, int max) in buckets)
        {
            int[] members = [.. Enumerable.Range(0, users).Where(u => sums.ClusterPoints[u] is { } p && p.Clusters >= min && p.Clusters <= max)];
            if (members.Length == 0) continue;
            var means = new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
            for (int m = 0; m < methods; m++)
            {
                var row = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (string metric in bucketMetrics)
                {
                    int sIndex = m * metrics + Array.IndexOf(plan.MetricNames, metric);
                    row[metric] = members.Average(u => values[sIndex * users + u]);
                }
                means[plan.Names[m]] = row;
            }
            byClusters.Add(new ClusterBucket(label, members.Length, means));
        }

        var report = new OfflineEvalReport
        {
            ByClusterCount = byClusters,
            Dataset = dataset,
            Embeddings = embeddings,
            Protocol = protocol,
            Settings = settings,
            Methods = plan.Names,
            MetricNames = metricNames,
            Results = results,
            Baseline = EvalMethods.Baseline,
            ClustersPerUser = sums.ClusterPoints.Take(users).Where(p => p is not null).Select(p => p!).ToList(),
            ByEmbeddingCount = curvePoints,
            Users = users,
            TestActions = testActions,
            Seconds = clock.Elapsed.TotalSeconds,
        };
        return new OfflineEvalResult(report, lifts);
    }

    private static string MedianActionsAndClusters(ClusterCountPoint?[] points)
    {
        int[] actions = [.. points.Where(p => p is not null).Select(p => p!.Actions).Order()];
        int[] clusters = [.. points.Where(p => p is not null).Select(p => p!.Clusters).Order()];
        return actions.Length == 0 ? "–" : string.Create(CultureInfo.InvariantCulture,
            $"{actions[actions.Length / 2]} / {clusters[clusters.Length / 2]} (90th percentile {actions[actions.Length * 9 / 10]} / {clusters[clusters.Length * 9 / 10]})");
    }

    /// <summary>Everything the workers share (read-only).</summary>
    internal sealed class Plan
    {
        public Plan(EvalActions actions, float[] unit, int dimension, int catalogue, double alpha, IVectorIndex index,
                    OfflineEvalOptions options, IReadOnlyList<string> names)
        {
            Actions = actions;
            Unit = unit;
            Dimension = dimension;
            Catalogue = catalogue;
            Alpha = alpha;
            Index = index;
            Options = options;
            Names = names;
            Ks = options.RecallKs.Distinct().Order().ToArray();
            MaxK = Ks[^1];
            MetricNames = ["relevance", "recall", "r-precision", "mrr", .. Ks.Select(k => $"recall@{k}"),
                           $"ndcg@{options.RecallKs[0]}", "diversity"];
            CacheK = Math.Max(options.Candidates, MaxK);
            Cache = new NeighborCache(index, Math.Max(1, catalogue));
        }

        public EvalActions Actions { get; }
        public float[] Unit { get; }
        public int Dimension { get; }
        public int Catalogue { get; }
        public double Alpha { get; }
        public double AutoLambda { get; init; }
        public IVectorIndex Index { get; }
        public OfflineEvalOptions Options { get; }
        public IReadOnlyList<string> Names { get; }
        public int[] Ks { get; }
        public int MaxK { get; }
        public string[] MetricNames { get; }
        public int MetricCount => MetricNames.Length;
        public int CacheK { get; }

        /// <summary>Neighbours of each item's own vector (CacheK of them), the serving path's cache with room for
        /// every item, filled on first use.</summary>
        public NeighborCache Cache { get; }
    }

    /// <summary>Per-user sums (numerator, denominator) of every method × metric, written by one worker per user.</summary>
    internal sealed class Sums(int users, int methods, int metrics, int curve, int catalogue)
    {
        public readonly double[] Num = new double[users * methods * metrics];
        public readonly double[] Den = new double[users * methods * metrics];
        public readonly double[] CurveNum = new double[users * curve * 2];
        public readonly double[] CurveDen = new double[users * curve * 2];
        public readonly double[] HistoryDiversity = new double[users];
        public readonly ClusterCountPoint?[] ClusterPoints = new ClusterCountPoint?[users];
        public readonly byte[][] Covered = Enumerable.Range(0, methods).Select(_ => new byte[catalogue]).ToArray();

        public double Coverage(int method)
        {
            byte[] c = Covered[method];
            if (c.Length == 0) return 0;
            int n = 0;
            foreach (byte b in c) n += b;
            return (double)n / c.Length;
        }
    }

    /// <summary>Per-thread state: the history view, the methods, scratch. Processes one evaluation point at a time.</summary>
    internal sealed class Worker : ICandidateSource
    {
        private readonly Plan _plan;
        private readonly Sums _sums;
        private readonly UserHistory _history;
        private readonly EvalMethod[] _methods;
        private readonly PinnerSageMethod _curve;
        private readonly QuerySet _queries;
        private Neighbor[] _buffer;
        private readonly int[] _excluded;
        private int _point;
        private readonly Comparison<int> _byBestScore;
        private readonly int[] _mark;
        private readonly int[] _seen;
        private readonly float[] _best;
        private readonly List<int> _merged = [];
        private readonly float[] _sum;
        private int _epoch;
        private readonly int[] _candidates;
        private int[] _tests = new int[64];
        private int[] _relevant = new int[64];
        private int[] _negatives = new int[64];
        private float[] _positiveScores = new float[64];
        private float[] _negativeScores = new float[64];
        private readonly int[] _ranked;
        private double _historyDiversitySum;
        private int _historyPoints;
        private int[] _scoredRanking = new int[64];
        private int _scoredCount;

        public Worker(Plan plan, Sums sums)
        {
            _plan = plan;
            _sums = sums;
            int d = plan.Dimension;
            _history = new UserHistory(plan.Unit, d, plan.Alpha, plan.Options.KeepSingletons);
            _methods = plan.Names.Select(n => EvalMethods.Create(n, plan.Options.SampledEmbeddings, d, plan.Options.Settings, plan.AutoLambda)).ToArray();
            _curve = (PinnerSageMethod)EvalMethods.Create("pinnersage", plan.Options.SampledEmbeddings);
            _queries = new QuerySet(d);
            _buffer = new Neighbor[plan.CacheK];
            _mark = new int[plan.Catalogue];
            _seen = new int[plan.Catalogue];
            _excluded = new int[plan.Catalogue];
            _best = new float[plan.Catalogue];
            _byBestScore = (x, y) =>
            {
                int c = _best[y].CompareTo(_best[x]);
                return c != 0 ? c : x.CompareTo(y);
            };
            _sum = new float[d];
            _candidates = new int[plan.Options.Candidates];
            _ranked = new int[plan.MaxK];
        }

        public long TestActions { get; private set; }

        /// <summary>Scores every method on one point. The methods see only the history range.</summary>
        public void Process(EvalInstance x, int user, bool last)
        {
            EvalActions a = _plan.Actions;
            OfflineEvalOptions o = _plan.Options;
            ulong seed = SplitMix64.Mix(o.Seed ^ SplitMix64.Fnv1a(a.UserIds[x.User]) ^ SplitMix64.Mix((ulong)x.Now));
            _history.Reset(a.Rows.AsSpan(x.HistoryStart, x.TestStart - x.HistoryStart),
                           a.Times.AsSpan(x.HistoryStart, x.TestStart - x.HistoryStart), x.Now, seed);
            _point++;
            if (o.ExcludeHistory)
            {
                foreach (int r in _history.DistinctRows) _excluded[r] = _point;
            }

            // Test actions (−1 = no vector; dropped under the Drop policy), the distinct relevant items, negatives.
            ReadOnlySpan<int> testRange = a.Rows.AsSpan(x.TestStart, x.TestEnd - x.TestStart);
            UserHistory.Grow(ref _tests, testRange.Length);
            int tests = 0, unembedded = 0;
            foreach (int t in testRange)
            {
                if (t < 0 && o.Unembedded == UnembeddedPolicy.Drop) continue;
                _tests[tests++] = t;
                if (t < 0) unembedded++;
            }
            if (tests == 0) return;
            TestActions += tests;
            ReadOnlySpan<int> testRows = _tests.AsSpan(0, tests);
            UserHistory.Grow(ref _relevant, tests);
            int relevant = 0;
            foreach (int t in testRows)
            {
                if (t >= 0 && !_relevant.AsSpan(0, relevant).Contains(t)) _relevant[relevant++] = t;
            }
            ReadOnlySpan<int> relevantRows = _relevant.AsSpan(0, relevant);
            int relevantTotal = relevant + unembedded;
            int negatives = SampleNegatives(tests * o.Negatives, relevantRows, SplitMix64.Mix(seed + 1));

            for (int m = 0; m < _methods.Length; m++)
            {
                _queries.Clear();
                if (_methods[m] is not ScoredEvalMethod) _methods[m].Build(_history, _queries);
                Score(m, user, testRows, relevantRows, relevantTotal, unembedded, negatives);
            }
            for (int e = 1; e <= o.CurveMaxEmbeddings; e++)
            {
                _queries.Clear();
                _curve.Build(_history, _queries, e);
                int count = Candidates(maxK: 0);
                int at = (user * o.CurveMaxEmbeddings + e - 1) * 2;
                _sums.CurveNum[at] += EvalMetrics.RelevanceHits(_plan.Unit, _plan.Dimension, testRows,
                    _candidates.AsSpan(0, count), (float)o.RelevanceThreshold);
                _sums.CurveDen[at] += tests;
                _sums.CurveNum[at + 1] += EvalMetrics.Diversity(_plan.Unit, _plan.Dimension, _candidates.AsSpan(0, count), _sum);
                _sums.CurveDen[at + 1] += 1;
            }

            _historyDiversitySum += EvalMetrics.Diversity(_plan.Unit, _plan.Dimension, _history.DistinctRows, _sum);
            _historyPoints++;
            if (last)
            {
                _sums.HistoryDiversity[user] = _historyDiversitySum / _historyPoints;
                _historyDiversitySum = 0;
                _historyPoints = 0;
                _sums.ClusterPoints[user] = new ClusterCountPoint(_history.Rows.Length, _history.Clusters(UserClustering.Ward).Count);
            }
        }

        private void Score(int m, int user, ReadOnlySpan<int> testRows, ReadOnlySpan<int> relevantRows, int relevantTotal,
                           int unembedded, int negatives)
        {
            OfflineEvalOptions o = _plan.Options;
            int metrics = _plan.MetricCount, d = _plan.Dimension;
            int at = (user * _methods.Length + m) * metrics;
            double[] num = _sums.Num, den = _sums.Den;
            var scored = _methods[m] as ScoredEvalMethod;
            int count = scored is null ? Candidates(_plan.MaxK) : RankScored(scored);
            ReadOnlySpan<int> candidates = _candidates.AsSpan(0, count);
            byte[] covered = _sums.Covered[m];
            foreach (int c in candidates) covered[c] = 1;

            num[at] += EvalMetrics.RelevanceHits(_plan.Unit, d, testRows, candidates, (float)o.RelevanceThreshold);
            den[at] += testRows.Length;
            num[at + 1] += EvalMetrics.RecallHits(testRows, candidates);
            den[at + 1] += testRows.Length;

            // Ranking against random negatives by the maximum cosine to any query embedding.
            int positives = relevantRows.Length + unembedded;
            UserHistory.Grow(ref _positiveScores, positives);
            UserHistory.Grow(ref _negativeScores, negatives);
            Span<float> pos = _positiveScores.AsSpan(0, positives);
            for (int i = 0; i < relevantRows.Length; i++)
                pos[i] = scored?.Score(relevantRows[i]) ?? EvalMetrics.MaxCosine(_plan.Unit, d, relevantRows[i], _queries.Vectors, _queries.Count);
            pos[relevantRows.Length..].Fill(float.NegativeInfinity);
            Span<float> neg = _negativeScores.AsSpan(0, negatives);
            for (int i = 0; i < negatives; i++)
                neg[i] = scored?.Score(_negatives[i]) ?? EvalMetrics.MaxCosine(_plan.Unit, d, _negatives[i], _queries.Vectors, _queries.Count);
            double mrr = EvalMetrics.ReciprocalRank(pos, neg);
            num[at + 2] += EvalMetrics.RPrecision(pos, neg);
            den[at + 2] += 1;
            num[at + 3] += mrr;
            den[at + 3] += 1;

            // Whole catalogue, ranked by the maximum cosine (merged per-embedding top lists, see Candidates), or by the
            // scored method's own ranking.
            int ranked = scored is null ? Math.Min(_merged.Count, _plan.MaxK) : Math.Min(_scoredCount, _plan.MaxK);
            ReadOnlySpan<int> top = _ranked.AsSpan(0, ranked);
            for (int k = 0; k < _plan.Ks.Length; k++)
            {
                num[at + 4 + k] += EvalMetrics.RecallAtK(top, relevantRows, relevantTotal, _plan.Ks[k]);
                den[at + 4 + k] += 1;
            }
            num[at + 4 + _plan.Ks.Length] += EvalMetrics.NdcgAtK(top, relevantRows, relevantTotal, o.RecallKs[0]);
            den[at + 4 + _plan.Ks.Length] += 1;
            num[at + metrics - 1] += EvalMetrics.Diversity(_plan.Unit, d, candidates, _sum);
            den[at + metrics - 1] += 1;
        }

        /// <summary>Retrieves ⌊K/e⌋ neighbours per query embedding (at least 1) into the candidate union (≤ K), and,
        /// when <paramref name="maxK"/> &gt; 0, the top <paramref name="maxK"/> of the whole catalogue by maximum cosine
        /// into <c>_ranked</c>: every item in that top list is in the top <paramref name="maxK"/> of the embedding that
        /// gives its maximum, so merging the per-embedding top lists is exact.</summary>
        private int Candidates(int maxK)
        {
            int e = _queries.Count, k = _plan.Options.Candidates;
            int per = Math.Max(1, k / Math.Max(1, e));
            // Excluded history items are skipped, so fetch that many more to still fill per and maxK.
            int fetch = Math.Max(per, maxK) + (_plan.Options.ExcludeHistory ? _history.Distinct : 0);
            int count = 0;
            int epoch = NextEpoch();
            _merged.Clear();
            for (int j = 0; j < e; j++)
            {
                ReadOnlySpan<Neighbor> list = Neighbours(j, fetch);
                int taken = 0;
                for (int i = 0; i < list.Length && taken < Math.Max(per, maxK); i++)
                {
                    int label = list[i].Label;
                    if (_excluded[label] == _point) continue;
                    float score = 1 - list[i].Distance;
                    if (taken < per && count < k && _mark[label] != epoch)
                    {
                        _candidates[count++] = label;
                        _mark[label] = epoch;
                    }
                    if (taken < maxK)
                    {
                        if (_seen[label] == epoch) _best[label] = Math.Max(_best[label], score);
                        else
                        {
                            _seen[label] = epoch;
                            _best[label] = score;
                            _merged.Add(label);
                        }
                    }
                    taken++;
                }
            }
            if (maxK > 0)
            {
                _merged.Sort(_byBestScore);
                for (int i = 0; i < Math.Min(maxK, _merged.Count); i++) _ranked[i] = _merged[i];
            }
            return count;
        }

        /// <summary>A scored method's ranking: its first K rows are the candidates, its first MaxK the whole-catalogue
        /// ranking (<c>_ranked</c>).</summary>
        private int RankScored(ScoredEvalMethod method)
        {
            int want = Math.Max(_plan.Options.Candidates, _plan.MaxK);
            UserHistory.Grow(ref _scoredRanking, want);
            _scoredCount = method.Rank(_history, this, _scoredRanking.AsSpan(0, want));
            int count = Math.Min(_scoredCount, _plan.Options.Candidates);
            _scoredRanking.AsSpan(0, count).CopyTo(_candidates);
            _scoredRanking.AsSpan(0, Math.Min(_scoredCount, _plan.MaxK)).CopyTo(_ranked);
            return count;
        }

        public ReadOnlySpan<Neighbor> Neighbours(ReadOnlySpan<float> query, int row, int fetch)
        {
            if (row >= 0)
            {
                // Always CacheK from the cache (one list per item serves every fetch up to it); a list shorter than
                // CacheK is the whole catalogue. Only history exclusion can ask for more.
                int n = _plan.Cache.Search(row, query, _plan.CacheK, _buffer);
                if (fetch <= n || n < _plan.CacheK) return _buffer.AsSpan(0, Math.Min(fetch, n));
            }
            if (_buffer.Length < fetch) _buffer = new Neighbor[Math.Max(fetch, _buffer.Length * 2)];
            int found = _plan.Index.Search(query, Math.Min(fetch, _plan.Catalogue), _buffer);
            return _buffer.AsSpan(0, found);
        }

        public bool Excluded(int row) => _excluded[row] == _point;

        public int ExcludedCount => _plan.Options.ExcludeHistory ? _history.Distinct : 0;

        public ReadOnlySpan<float> Vector(int row) => _plan.Unit.AsSpan(row * _plan.Dimension, _plan.Dimension);

        private ReadOnlySpan<Neighbor> Neighbours(int j, int fetch) =>
            Neighbours(_queries.Vectors.AsSpan(j * _plan.Dimension, _plan.Dimension), _queries.Rows[j], fetch);

        private int SampleNegatives(int count, ReadOnlySpan<int> positives, ulong seed)
        {
            UserHistory.Grow(ref _negatives, count);
            int n = _plan.Catalogue;
            if (n <= positives.Length) return 0;
            var rng = new SplitMix64(seed);
            for (int i = 0; i < count;)
            {
                int row = rng.NextInt(n);
                if (positives.Contains(row)) continue;
                _negatives[i++] = row;
            }
            return count;
        }

        private int NextEpoch()
        {
            if (++_epoch == int.MaxValue)
            {
                Array.Clear(_mark);
                Array.Clear(_seen);
                _epoch = 1;
            }
            return _epoch;
        }
    }
}
