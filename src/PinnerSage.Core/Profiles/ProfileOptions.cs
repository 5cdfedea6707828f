using System.Collections.Frozen;

namespace PinnerSage.Profiles;

/// <summary>Options of the PinnerSage user model (papers/PINNERSAGE.md, "Model"): which of a user's actions count,
/// how they are weighted and decayed, and where the Ward dendrogram is cut. Immutable; call <see cref="Validate"/>
/// once before use (<see cref="UserProfileBuilder"/> does).</summary>
/// <remarks>The time window is half-open: an action at Unix time t is used when
/// <c>Now − WindowDays·86400 &lt; t ≤ Now</c>; actions after <see cref="Now"/> are excluded (they are "in the future"
/// of the profile), as are actions at or before the window start.</remarks>
public sealed record ProfileOptions
{
    /// <summary>Default α for near-orthogonal unit-norm vectors: <see cref="Clustering.WardClustering.DefaultAlphaUnitNorm"/>
    /// (2.0 on the squared Ward scale; the reasoning and the ground-truth sweep behind the value are documented there).
    /// For other embeddings resolve α from the catalogue with <see cref="AutoAlpha.Resolve"/> (the CLI's default).</summary>
    public const double DefaultAlpha = Clustering.WardClustering.DefaultAlphaUnitNorm;

    /// <summary>Default cap on the actions of one user (the most recent are kept) (our choice): Ward by NN-chain needs
    /// m(m−1)/2 doubles of distance matrix, so 2,000 actions bound it to 16 MB per worker thread and the clustering to
    /// a few tens of milliseconds even for the heaviest users, while far above the ~100 actions of a typical user
    /// over 90 days.</summary>
    public const int DefaultMaxActions = 2000;

    /// <summary>Ward merge distance at which the merge history is cut (the paper's α; its value is unpublished, our
    /// choice). Distances are squared Euclidean on the (by default unit-normalised) vectors, in Ward's scale
    /// (scipy's linkage height h relates by d = h²). Default <see cref="DefaultAlpha"/>; <see cref="AutoAlpha.Resolve"/>
    /// scales it to the embedding.</summary>
    public double Alpha { get; init; } = DefaultAlpha;

    /// <summary>λ of the importance Σ w·exp(−λ·Δdays), per day (the paper's 0.01; half-life ≈ 69 days). 0 = frequency.</summary>
    public double DecayLambda { get; init; } = 0.01;

    /// <summary>Length of the window of actions used, in days (the paper's 90).</summary>
    public double WindowDays { get; init; } = 90;

    /// <summary>At most this many actions per user are clustered: the most recent ones (ties broken by item, then
    /// weight). See <see cref="DefaultMaxActions"/>; at most <see cref="Clustering.UserClusterer.MaxItems"/>. Memory per
    /// worker grows as 8·m² bytes for the heaviest user.</summary>
    public int MaxActions { get; init; } = DefaultMaxActions;

    /// <summary>The profile's "now", Unix seconds (UTC). Null: the batch job uses the latest timestamp in its input.</summary>
    public long? Now { get; init; }

    /// <summary>Ward sizes = numbers of actions: an item engaged k times enters Ward (and weighs in its cluster's medoid)
    /// as k identical points, as when clustering actions (the paper starts from one cluster per action item and is
    /// silent on repeats). Default off (our choice): each distinct item enters Ward once with size 1 and weighs 1 in the
    /// medoid, because with sizes = counts the within-interest merge distances grow ≈ k-fold for items engaged k times,
    /// so heavy users' interests split unless α is so large that it merges unrelated items
    /// (bench/results/alpha-sweep.md). Either way a cluster's importance and size count every action in the window.</summary>
    public bool CountRepeats { get; init; }

    /// <summary>Keep items whose first Ward merge is already above α as singleton clusters (the paper is silent;
    /// our choice: off, as the α cut alone would drop them). With <see cref="CountRepeats"/> an item engaged twice or
    /// more is always kept: its copies merged at distance 0.</summary>
    public bool KeepSingletons { get; init; }

    /// <summary>Multiplier of an action's importance contribution per action type (e.g. click = 1, save = 2).
    /// Types not listed weigh 1. Weights must be finite and ≥ 0. Null: every type weighs 1.</summary>
    public IReadOnlyDictionary<string, double>? ActionWeights { get; init; }

    /// <summary>Only actions of these types are used (exact, case-sensitive labels; an absent action column is the
    /// empty label). Null: all types.</summary>
    public IReadOnlySet<string>? IncludeActions { get; init; }

    /// <summary>Scale every item vector to unit length before clustering (default on): α is defined for unit norm,
    /// and Ward on normalised vectors is Ward on cosine distance (||a − b||² = 2 − 2·cos).</summary>
    public bool NormalizeVectors { get; init; } = true;

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range (the message names it).</exception>
    /// <exception cref="ArgumentException">An action weight is negative or not finite.</exception>
    public void Validate()
    {
        if (!double.IsFinite(Alpha) || Alpha < 0)
            throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be finite and >= 0.");
        if (!double.IsFinite(DecayLambda) || DecayLambda < 0)
            throw new ArgumentOutOfRangeException(nameof(DecayLambda), DecayLambda, "lambda must be finite and >= 0.");
        if (!double.IsFinite(WindowDays) || WindowDays <= 0)
            throw new ArgumentOutOfRangeException(nameof(WindowDays), WindowDays, "window-days must be finite and > 0.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxActions, 1, nameof(MaxActions));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxActions, Clustering.UserClusterer.MaxItems, nameof(MaxActions));
        if (Now is < 0)
            throw new ArgumentOutOfRangeException(nameof(Now), Now, "now must be a Unix time in seconds (>= 0).");
        if (ActionWeights is not null)
        {
            foreach (KeyValuePair<string, double> kv in ActionWeights)
            {
                if (!double.IsFinite(kv.Value) || kv.Value < 0)
                    throw new ArgumentException(
                        $"action weight of '{kv.Key}' must be finite and >= 0, got {kv.Value}.", nameof(ActionWeights));
            }
        }
    }

    /// <summary>Whether actions of type <paramref name="action"/> are used, and their weight.</summary>
    /// <returns>False when <see cref="IncludeActions"/> excludes the type.</returns>
    public bool TryGetActionWeight(string action, out double weight)
    {
        ArgumentNullException.ThrowIfNull(action);
        weight = 1;
        if (IncludeActions is not null && !IncludeActions.Contains(action)) return false;
        if (ActionWeights is not null && ActionWeights.TryGetValue(action, out double w)) weight = w;
        return true;
    }

    /// <summary>The window start (exclusive) for a given now, Unix seconds.</summary>
    internal static long WindowStart(long now, double windowDays) => now - (long)Math.Round(windowDays * (double)UnixTime.SecondsPerDay);

    /// <summary>Parses "click=1,save=2" (the CLI's --action-weights).</summary>
    /// <exception cref="ArgumentException">Malformed text.</exception>
    public static IReadOnlyDictionary<string, double> ParseActionWeights(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var map = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || !double.TryParse(part.AsSpan(eq + 1), System.Globalization.NumberStyles.Float,
                    System.Globalization.CultureInfo.InvariantCulture, out double w))
                throw new ArgumentException($"action weights: expected 'type=number', got '{part}'.", nameof(text));
            map[part[..eq].Trim()] = w;
        }
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Parses "click,save" (the CLI's --actions-include).</summary>
    public static IReadOnlySet<string> ParseActionList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                   .ToFrozenSet(StringComparer.Ordinal);
    }
}
