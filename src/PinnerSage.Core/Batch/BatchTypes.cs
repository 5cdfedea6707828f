namespace PinnerSage.Batch;

/// <summary>How the batch job treats the order of its input.</summary>
public enum BatchInputMode
{
    /// <summary>Detect the order (a first pass over a file; stdin is loaded): input sorted by user id is streamed;
    /// anything else is loaded and sorted in memory. Output in user-id order by code point (= UTF-8 bytes, as
    /// `LC_ALL=C sort` and SQLite order them).</summary>
    Auto,

    /// <summary>The input is grouped by user (each user's lines contiguous), e.g. after a MapReduce shuffle: stream it
    /// in one pass and write users in input order; a user that reappears after another is a data error.</summary>
    Grouped,
}

/// <summary>The order the input was found in.</summary>
public enum InputOrder
{
    /// <summary>Not determined (grouped streaming mode: only grouping is checked).</summary>
    Unknown,

    /// <summary>Sorted by user id (code point order).</summary>
    Sorted,

    /// <summary>Each user's lines contiguous, users not in order.</summary>
    Grouped,

    /// <summary>Users' lines interleaved.</summary>
    Unordered,
}

/// <summary>Options of <see cref="ProfileBatchJob"/> (how it runs; the model options are
/// <see cref="Profiles.ProfileOptions"/>).</summary>
public sealed record BatchOptions
{
    /// <summary>Most worker threads: each holds its own clustering scratch (up to 16 MB), so a typo such as 100000
    /// must fail instead of exhausting memory.</summary>
    public const int MaxThreads = 256;

    /// <summary>Worker threads clustering users; 0 = one per core, at most <see cref="MaxThreads"/>. The output does
    /// not depend on it.</summary>
    public int Threads { get; init; }

    /// <summary>Lets <see cref="ProfilePipeline.RunIntoStore"/> commit a run that read no actions or that would drop
    /// more than half of the store's profiles (default: refused with a <see cref="ShrinkRefusedException"/>).</summary>
    public bool AllowShrink { get; init; }

    /// <summary>An action whose item is not in the embeddings is an error (default: skipped and counted).</summary>
    public bool Strict { get; init; }

    /// <summary>The input starts with a header line (actions.tsv does; a streaming mapper's stdin does not).</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>See <see cref="BatchInputMode"/>.</summary>
    public BatchInputMode InputMode { get; init; } = BatchInputMode.Auto;

    /// <summary>Users per unit of work handed to a worker (our choice: large enough to amortise hand-offs, small
    /// enough to keep every core busy to the end).</summary>
    public int UsersPerBatch { get; init; } = 256;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Threads outside 0…<see cref="MaxThreads"/> or UsersPerBatch &lt; 1.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Threads, nameof(Threads));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Threads, MaxThreads, nameof(Threads));
        ArgumentOutOfRangeException.ThrowIfLessThan(UsersPerBatch, 1, nameof(UsersPerBatch));
    }

    internal int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;
}

/// <summary>Progress of a batch run, reported on the job's writer thread (keep handlers short).</summary>
/// <param name="Phase">"scan" (first pass over a file), "load" (reading unsorted input into memory) or "build".</param>
/// <param name="Users">Users finished (build) so far.</param>
/// <param name="TotalUsers">Users in the input when known (after a scan or load), else null.</param>
/// <param name="Lines">Input lines read so far in this phase.</param>
/// <param name="Elapsed">Time since the run started.</param>
public readonly record struct BatchProgress(string Phase, long Users, long? TotalUsers, long Lines, TimeSpan Elapsed);

/// <summary>What a batch run read, used and skipped, and how long it took.</summary>
public sealed record BatchSummary
{
    /// <summary>The input order detected.</summary>
    public InputOrder InputOrder { get; init; }

    /// <summary>True when the input was loaded and sorted in memory (it was not sorted by user id, or came from stdin).</summary>
    public bool SortedInMemory { get; init; }

    /// <summary>The now used, Unix seconds.</summary>
    public long Now { get; init; }

    /// <summary>Distinct users in the input.</summary>
    public long UsersRead { get; init; }

    /// <summary>Users written (at least one action in the window).</summary>
    public long UsersWritten { get; init; }

    /// <summary>Users without any usable action in the window (not written).</summary>
    public long UsersWithoutActions { get; init; }

    /// <summary>Data lines read.</summary>
    public long ActionsRead { get; init; }

    /// <summary>Actions clustered (in the window, within max-actions).</summary>
    public long ActionsUsed { get; init; }

    /// <summary>Skipped: the item is not in the embeddings.</summary>
    public long SkippedUnknownItem { get; init; }

    /// <summary>Skipped: action type excluded by the include filter.</summary>
    public long SkippedActionType { get; init; }

    /// <summary>Events read from the serving event log and merged into the users' actions (0 without a log).</summary>
    public long LoggedEventsRead { get; init; }

    /// <summary>Logged events skipped because their item is not in the embeddings.</summary>
    public long LoggedEventsSkippedUnknownItem { get; init; }

    /// <summary>The log sequence this run consumed up to (<see cref="ProfilePipeline.RunIntoStore"/>; 0 otherwise).</summary>
    public long ConsumedEventSequence { get; init; }

    /// <summary>Consumed logged events deleted after the commit because they left the run's window
    /// (<see cref="Storage.IProfileStore.CompactEvents"/>).</summary>
    public long EventsCompacted { get; init; }

    /// <summary>Skipped: timestamp after now.</summary>
    public long SkippedAfterNow { get; init; }

    /// <summary>Skipped: timestamp at or before the window start.</summary>
    public long SkippedBeforeWindow { get; init; }

    /// <summary>Skipped: beyond the most recent max-actions of their user.</summary>
    public long SkippedOverMaxActions { get; init; }

    /// <summary>Clustered actions whose item fell in no kept cluster (α cut without keep-singletons).</summary>
    public long ActionsUnclustered { get; init; }

    /// <summary>Clusters written, all users.</summary>
    public long Clusters { get; init; }

    /// <summary>Index k: number of written users with k clusters.</summary>
    public IReadOnlyList<long> ClustersPerUser { get; init; } = [];

    /// <summary>Worker threads used.</summary>
    public int Threads { get; init; }

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Users read per second of wall time.</summary>
    public double UsersPerSecond => Elapsed.TotalSeconds > 0 ? UsersRead / Elapsed.TotalSeconds : 0;

    /// <summary>The q-quantile (0…1) of clusters per written user (nearest rank), 0 when none.</summary>
    public int ClustersPerUserQuantile(double q)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(q, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(q, 1);
        long total = 0;
        foreach (long c in ClustersPerUser) total += c;
        if (total == 0) return 0;
        long rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (int k = 0; k < ClustersPerUser.Count; k++)
        {
            seen += ClustersPerUser[k];
            if (seen >= rank) return k;
        }
        return ClustersPerUser.Count - 1;
    }
}
