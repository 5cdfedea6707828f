using System.Globalization;
using PinnerSage.Retrieval;

namespace PinnerSage.Evaluation;

/// <summary>The mixture policy as an evaluation method: what <see cref="Recommender"/> does with
/// <see cref="RetrievalPolicy.Mixture"/>, on profiles built from the history the way the batch job builds them
/// (Ward on the distinct items at α·<see cref="RetrievalSettings.AlphaScale"/>, importance with
/// <see cref="RetrievalSettings.Lambda"/>, singletons kept as the evaluation keeps them), ranked by
/// <see cref="MixtureRanker"/>, the class the recommender uses.</summary>
internal sealed class MixtureMethod(string name, RetrievalSettings settings, int dimension) : ScoredEvalMethod(name)
{
    /// <summary>The name prefix of a mixture with explicit settings: <c>mixture(tau=1;lambda=0.1;alpha=2)</c>.</summary>
    public const string Prefix = "mixture";

    private readonly MixtureRanker _ranker = new(dimension);
    private RankedItem[] _ranked = new RankedItem[64];
    private int[] _medoids = new int[16];
    private ReadOnlyMemory<float> _unit;

    public RetrievalSettings Settings { get; } = settings;

    /// <summary>Parses <c>mixture(key=value;…)</c> over the shipped defaults; keys tau, lambda, alpha (scale), centre (fetch × K), m
    /// (components), pool (clusters with a medoid list).</summary>
    public static RetrievalSettings Parse(string name)
    {
        RetrievalSettings s = RetrievalSettings.Default;
        int open = name.IndexOf('(');
        if (open < 0) return name == Prefix ? s : throw new ArgumentException($"Unknown method '{name}'.", nameof(name));
        if (!name.EndsWith(')')) throw new ArgumentException($"Method '{name}' lacks its closing parenthesis.", nameof(name));
        foreach (string part in name[(open + 1)..^1].Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = part.Split('=');
            if (kv.Length == 2 && kv[0] == "lambda" && kv[1] == "auto")
            {
                s = s with { AutoLambda = true };
                continue;
            }
            if (kv.Length != 2 || !(kv[1] == "inf" || double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                throw new ArgumentException($"Bad setting '{part}' in '{name}': expected key=number.", nameof(name));
            double v = kv[1] == "inf" ? double.PositiveInfinity : double.Parse(kv[1], CultureInfo.InvariantCulture);
            s = kv[0] switch
            {
                "tau" => s with { Tau = v },
                "lambda" => s with { Lambda = v, AutoLambda = false },
                "alpha" => s with { AlphaScale = v },
                "m" => s with { Components = (int)v },
                "pool" => s with { PoolClusters = (int)v },
                "centre" => s with { CentreFetch = v },
                "keep" => s with { CentreKeep = v },
                _ => throw new ArgumentException($"Unknown mixture setting '{kv[0]}' in '{name}'; known: tau, lambda (a number or auto), alpha, m, pool, centre, keep.", nameof(name)),
            };
        }
        s.Validate();
        return s;
    }

    public override int Rank(UserHistory history, ICandidateSource source, Span<int> ranked)
    {
        int d = dimension;
        _unit = history.UnitMemory;
        ClusterResult c = history.WardAt(history.Alpha * Settings.AlphaScale);
        if (c.Count == 0) return 0;
        Span<double> importance = history.Importance(c, Settings.Lambda);
        UserHistory.Grow(ref _medoids, c.Count);
        for (int k = 0; k < c.Count; k++) _medoids[k] = history.DistinctRow(c.Medoids[k]);
        if (!_ranker.Load(history.Means(c), importance, _medoids.AsSpan(0, c.Count), Settings.Mixture)) return 0;
        UserHistory.Grow(ref _ranked, ranked.Length);
        int n = _ranker.Rank(source, _ranked.AsSpan(0, ranked.Length));
        for (int i = 0; i < n; i++) ranked[i] = _ranked[i].Item;
        return n;
    }

    public override float Score(int row) =>
        _ranker.Score(_unit.Span.Slice(row * dimension, dimension), out _, out _);
}
