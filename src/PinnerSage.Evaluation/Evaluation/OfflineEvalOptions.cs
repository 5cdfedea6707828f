namespace PinnerSage.Evaluation;

/// <summary>How test actions are chosen and which history each profile is built from.</summary>
public enum EvalProtocol
{
    /// <summary>Walk-forward when it leaves enough test users, otherwise leave-last-out (see
    /// <see cref="OfflineEvalOptions.MinWalkUsers"/> and <see cref="OfflineEvalOptions.MinWalkShare"/>).</summary>
    Auto,
    /// <summary>The paper's protocol: the test period is cut into steps (a day by default); for every user and step,
    /// the step's actions are the test actions and the profile is built from the window strictly before the step.</summary>
    WalkForward,
    /// <summary>For users sparse in time: each user's last N actions by time are the test actions and the profile is
    /// built from the window strictly before the first of them.</summary>
    LeaveLastOut,
}

/// <summary>What happens to actions whose item has no vector in the embeddings.</summary>
public enum UnembeddedPolicy
{
    /// <summary>Default: they stay test actions that no method can retrieve or score (a miss for every metric, ranked
    /// last), so embedding sources that cover less of the catalogue are not flattered. Never in a profile.</summary>
    Miss,
    /// <summary>They are dropped from the test actions (and, as always, from profiles).</summary>
    Drop,
}

/// <summary>Options of the offline evaluation (papers/PINNERSAGE.md, "Offline evaluation protocol"). Immutable; call
/// <see cref="Validate"/> (<see cref="OfflineEvaluation.Run"/> does).</summary>
public sealed record OfflineEvalOptions
{
    /// <summary>Protocol; <see cref="EvalProtocol.Auto"/> by default.</summary>
    public EvalProtocol Protocol { get; init; } = EvalProtocol.Auto;

    /// <summary>Walk-forward step length in days (the paper's 1; longer windows for sparse data).</summary>
    public double StepDays { get; init; } = 1;

    /// <summary>History window in days before the step (the paper's 90).</summary>
    public double WindowDays { get; init; } = 90;

    /// <summary>Walk-forward: the test period is the last share of all actions by time, starting at a UTC-day boundary
    /// (our choice: 0.1). Ignored when <see cref="TestFrom"/> is set.</summary>
    public double TestShare { get; init; } = 0.1;

    /// <summary>Walk-forward: start of the test period, Unix seconds (overrides <see cref="TestShare"/>).</summary>
    public long? TestFrom { get; init; }

    /// <summary>Walk-forward: end of the test period, Unix seconds, exclusive (null = the end of the data). A validation
    /// period is <c>[TestFrom, TestUntil)</c> with TestUntil the test period's start: nothing at or after it is
    /// scored.</summary>
    public long? TestUntil { get; init; }

    /// <summary>The settings of the <c>default</c> row (what <c>recommend</c> and <c>serve</c> do with them).</summary>
    public Retrieval.RetrievalSettings Settings { get; init; } = Retrieval.RetrievalSettings.Default;

    /// <summary>Leave-last-out: the number N of last actions per user held out (more on timestamp ties).</summary>
    public int LeaveOut { get; init; } = 1;

    /// <summary>Auto protocol: the walk is chosen when it yields at least this many test users …</summary>
    public int MinWalkUsers { get; init; } = 500;

    /// <summary>… and at least this share of the users the leave-last-out protocol would test (our choice: 0.25).</summary>
    public double MinWalkShare { get; init; } = 0.25;

    /// <summary>At most this many test users (a seeded random sample; all their steps are kept). 0 = all.</summary>
    public int MaxUsers { get; init; } = 5000;

    /// <summary>K: candidates per user, ⌊K/e⌋ from each of e embeddings (the paper's 400).</summary>
    public int Candidates { get; init; } = 400;

    /// <summary>Embeddings sampled per user by the PinnerSage methods (the paper's 3).</summary>
    public int SampledEmbeddings { get; init; } = 3;

    /// <summary>Cosine from which a candidate counts as relevant to a test item (the paper's 0.8).</summary>
    public double RelevanceThreshold { get; init; } = 0.8;

    /// <summary>Random catalogue negatives per test action for R-precision and reciprocal rank (the paper's 20).</summary>
    public int Negatives { get; init; } = 20;

    /// <summary>Cut-offs of the whole-catalogue metrics recall@k (NDCG uses the first).</summary>
    public IReadOnlyList<int> RecallKs { get; init; } = [10, 50];

    /// <summary>Ward α on the squared scale; null = <see cref="Profiles.AutoAlpha"/> from the embeddings.</summary>
    public double? Alpha { get; init; }

    /// <summary>Items whose first merge is above α become singleton clusters (default on for the evaluation, our
    /// choice: without it a user with a few unrelated items has no profile at all and scores zero).</summary>
    public bool KeepSingletons { get; init; } = true;

    /// <summary>Only actions of these types are used (null = all).</summary>
    public IReadOnlySet<string>? IncludeActions { get; init; }

    /// <summary>Methods to run (names of <see cref="EvalMethods.Names"/>); null = all. The baseline is always run.</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    /// <summary>Largest e for the relevance/diversity-vs-number-of-embeddings curve (the paper's Figure 7); 0 = none.</summary>
    public int CurveMaxEmbeddings { get; init; } = 8;

    /// <summary>Bootstrap resamples over users for the 95 % intervals.</summary>
    public int BootstrapResamples { get; init; } = 1000;

    /// <summary>Seed of user sampling, medoid sampling, negatives, K-means and the bootstrap.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Worker threads (0 = all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Actions on items without a vector.</summary>
    public UnembeddedPolicy Unembedded { get; init; } = UnembeddedPolicy.Miss;

    /// <summary>Leave the user's own history items out of the candidates and the whole-catalogue ranking (default
    /// off: the paper excludes nothing, so a medoid or last item is its own first neighbour and takes a slot).</summary>
    public bool ExcludeHistory { get; init; }

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range (the message names it).</exception>
    /// <exception cref="ArgumentException">An unknown method name.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Protocol)) throw new ArgumentOutOfRangeException(nameof(Protocol), Protocol, "unknown protocol.");
        if (!double.IsFinite(StepDays) || StepDays <= 0)
            throw new ArgumentOutOfRangeException(nameof(StepDays), StepDays, "step-days must be > 0.");
        if (!double.IsFinite(WindowDays) || WindowDays <= 0)
            throw new ArgumentOutOfRangeException(nameof(WindowDays), WindowDays, "window-days must be > 0.");
        if (!(TestShare > 0 && TestShare < 1))
            throw new ArgumentOutOfRangeException(nameof(TestShare), TestShare, "test-share must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfLessThan(LeaveOut, 1, nameof(LeaveOut));
        if (TestUntil is long until && TestFrom is long from && until <= from)
            throw new ArgumentOutOfRangeException(nameof(TestUntil), until, "test-until must be after test-from.");
        if (TestUntil is not null && Protocol == EvalProtocol.LeaveLastOut)
            throw new ArgumentException("test-until applies to the walk-forward protocol only.", nameof(TestUntil));
        ArgumentOutOfRangeException.ThrowIfNegative(MinWalkUsers, nameof(MinWalkUsers));
        if (!(MinWalkShare >= 0 && MinWalkShare <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinWalkShare), MinWalkShare, "must be in [0, 1].");
        ArgumentOutOfRangeException.ThrowIfNegative(MaxUsers, nameof(MaxUsers));
        ArgumentOutOfRangeException.ThrowIfLessThan(Candidates, 1, nameof(Candidates));
        ArgumentOutOfRangeException.ThrowIfLessThan(SampledEmbeddings, 1, nameof(SampledEmbeddings));
        if (!(RelevanceThreshold >= -1 && RelevanceThreshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(RelevanceThreshold), RelevanceThreshold, "must be a cosine in [-1, 1].");
        ArgumentOutOfRangeException.ThrowIfLessThan(Negatives, 1, nameof(Negatives));
        if (RecallKs.Count == 0 || RecallKs.Any(k => k < 1))
            throw new ArgumentOutOfRangeException(nameof(RecallKs), "cut-offs must be >= 1.");
        if (Alpha is double a && (!double.IsFinite(a) || a < 0))
            throw new ArgumentOutOfRangeException(nameof(Alpha), a, "alpha must be finite and >= 0.");
        ArgumentOutOfRangeException.ThrowIfNegative(CurveMaxEmbeddings, nameof(CurveMaxEmbeddings));
        ArgumentOutOfRangeException.ThrowIfLessThan(BootstrapResamples, 1, nameof(BootstrapResamples));
        ArgumentOutOfRangeException.ThrowIfNegative(Threads, nameof(Threads));
        ArgumentNullException.ThrowIfNull(Settings, nameof(Settings));
        Settings.Validate();
        if (!Enum.IsDefined(Unembedded)) throw new ArgumentOutOfRangeException(nameof(Unembedded), Unembedded, "unknown policy.");
        if (Methods?.FirstOrDefault(m => !EvalMethods.Names.Contains(m) && !m.StartsWith(MixtureMethod.Prefix, StringComparison.Ordinal)) is string bad)
            throw new ArgumentException($"Unknown method '{bad}'; known: {string.Join(", ", EvalMethods.Names)}.", nameof(Methods));
    }
}
