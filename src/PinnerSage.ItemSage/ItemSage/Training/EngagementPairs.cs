using PinnerSage.Batch;
using PinnerSage.IO;

namespace PinnerSage.ItemSage.Training;

/// <summary>How (query item, engaged item) pairs are built from actions.tsv and split by time.</summary>
public sealed record PairOptions
{
    /// <summary>Each engagement is paired with the same user's next <see cref="Window"/> engagements (our choice: 3).</summary>
    public int Window { get; init; } = 3;

    /// <summary>Share of the action log, by time, held out at the end for testing (the later period).</summary>
    public double TestShare { get; init; } = 0.1;

    /// <summary>Share of the action log, by time, before the test period used for validation.</summary>
    public double ValidationShare { get; init; } = 0.05;

    /// <summary>Only actions with a value ≥ this count as engagements (e.g. 4 for ratings); null = all.</summary>
    public double? MinValue { get; init; }

    /// <summary>Action types to use; null = all.</summary>
    public IReadOnlyList<string>? Tasks { get; init; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Window below 1 or shares outside [0, 1) summing to ≥ 1.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Window, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Window, 1000);
        if (!(TestShare >= 0 && ValidationShare >= 0 && TestShare + ValidationShare < 1))
            throw new ArgumentOutOfRangeException(nameof(TestShare), "test and validation shares must be ≥ 0 with a sum below 1");
    }
}

/// <summary>A set of pairs: parallel arrays of query item, positive item (catalogue rows), task and the positive's time.</summary>
internal sealed class PairSet
{
    internal PairSet(int[] query, int[] positive, int[] task, long[] time, int[]? user = null)
    {
        Query = query;
        Positive = positive;
        Task = task;
        Time = time;
        User = user ?? [];
    }

    /// <summary>Query item (catalogue row).</summary>
    public int[] Query { get; }

    /// <summary>Engaged item (catalogue row).</summary>
    public int[] Positive { get; }

    /// <summary>Task index into <see cref="EngagementPairs.Tasks"/> (the positive's action type).</summary>
    public int[] Task { get; }

    /// <summary>Timestamp of the positive's action.</summary>
    public long[] Time { get; }

    /// <summary>The user whose engagements formed each pair (an index, the order of first appearance in the actions
    /// file), so an evaluation can resample users instead of pairs; empty when unknown.</summary>
    public int[] User { get; }

    /// <summary>Number of pairs.</summary>
    public int Count => Query.Length;

    /// <summary>Number of pairs per task.</summary>
    public int[] CountPerTask(int tasks)
    {
        var c = new int[tasks];
        foreach (int t in Task) c[t]++;
        return c;
    }
}

/// <summary>Item-to-item training pairs from an action log, split by time into train, validation and test.</summary>
/// <remarks>ItemSage (Baltescu et al., KDD 2022, §3.3) trains on (query, engaged product) pairs labelled with the
/// engagement type. With no query logs in the generic layout, pairs are item-to-item (our choice): each user's actions
/// are ordered by time (ties in file order); every engagement of item a is paired with the next
/// <see cref="PairOptions.Window"/> engagements of other items b by the same user, task = b's action type.
/// Split by time: the cut points are the quantiles of all engagement timestamps, and a pair belongs to the period of
/// its positive's timestamp, so the test pairs are the latest <see cref="PairOptions.TestShare"/> of the log.
/// Actions on items not in the catalogue are dropped (counted in <see cref="SkippedActions"/>). Popularity counts the
/// engagements of each item before the validation period.</remarks>
internal sealed class EngagementPairs
{
    private EngagementPairs(string[] tasks, PairSet train, PairSet validation, PairSet test, long[] popularity,
        long skipped, long used, long validationStart, long testStart, long trainedUntil)
    {
        TrainedUntil = trainedUntil;
        Tasks = tasks;
        Train = train;
        Validation = validation;
        Test = test;
        TrainPopularity = popularity;
        SkippedActions = skipped;
        UsedActions = used;
        ValidationStart = validationStart;
        TestStart = testStart;
    }

    /// <summary>Task (action type) labels, ordinal order.</summary>
    public IReadOnlyList<string> Tasks { get; }

    /// <summary>Training pairs.</summary>
    public PairSet Train { get; }

    /// <summary>Validation pairs.</summary>
    public PairSet Validation { get; }

    /// <summary>Held-out test pairs (the latest period).</summary>
    public PairSet Test { get; }

    /// <summary>Per catalogue item, its engagements before the validation period.</summary>
    public long[] TrainPopularity { get; }

    /// <summary>Actions dropped (unknown item or below <see cref="PairOptions.MinValue"/> or another task).</summary>
    public long SkippedActions { get; }

    /// <summary>Actions used.</summary>
    public long UsedActions { get; }

    /// <summary>First timestamp of the validation period.</summary>
    public long ValidationStart { get; }

    /// <summary>First timestamp of the test period.</summary>
    public long TestStart { get; }

    /// <summary>Exclusive end of the actions the training pairs (and the popularity) were drawn from: the validation
    /// start, or one second after the last action when nothing is held out.</summary>
    public long TrainedUntil { get; }

    /// <summary>Reads an actions file and builds the pairs over the items of <paramref name="catalog"/>.</summary>
    /// <exception cref="DataFormatException">A malformed actions line.</exception>
    public static EngagementPairs Load(string actionsPath, ItemCatalog catalog, PairOptions options)
    {
        ArgumentNullException.ThrowIfNull(actionsPath);
        return Load(ActionSource.File(actionsPath), catalog, options);
    }

    /// <summary>Reads an action source (a file, memory, Parquet…) and builds the pairs over the items of
    /// <paramref name="catalog"/>.</summary>
    /// <exception cref="DataFormatException">A malformed record.</exception>
    /// <exception cref="ArgumentException"><see cref="PairOptions.MinValue"/> with a source that carries no values
    /// (only files do).</exception>
    public static EngagementPairs Load(IActionSource source, ItemCatalog catalog, PairOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.MinValue is not null && source is not FileActionSource)
            throw new ArgumentException($"A minimum value needs an actions file with a value column; '{source.Name}' carries no values.", nameof(options));
        var users = new Dictionary<string, int>(StringComparer.Ordinal);
        var userLookup = users.GetAlternateLookup<ReadOnlySpan<char>>();
        var taskIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var taskLookup = taskIds.GetAlternateLookup<ReadOnlySpan<char>>();
        var user = new List<int>();
        var item = new List<int>();
        var time = new List<long>();
        var task = new List<int>();
        long skipped = 0;
        HashSet<string>? allowed = options.Tasks is null ? null : new HashSet<string>(options.Tasks, StringComparer.Ordinal);
        using (IActionCursor reader = ActionSource.OpenCursor(source, CancellationToken.None))
        {
            while (reader.MoveNext())
            {
                ReadOnlySpan<char> action = reader.Action.IsEmpty ? "engage" : reader.Action;
                if (!catalog.TryGetRow(reader.ItemId, out int row)
                    || (options.MinValue is double min && !(reader.Value >= min))
                    || (allowed is not null && !allowed.Contains(action.ToString())))
                {
                    skipped++;
                    continue;
                }
                if (!userLookup.TryGetValue(reader.UserId, out int u)) userLookup[reader.UserId] = u = users.Count;
                if (!taskLookup.TryGetValue(action, out int t)) taskLookup[action] = t = taskIds.Count;
                user.Add(u);
                item.Add(row);
                time.Add(reader.Timestamp);
                task.Add(t);
            }
        }
        // Tasks in ordinal label order, so ids do not depend on which appeared first.
        string[] tasks = [.. taskIds.Keys.Order(StringComparer.Ordinal)];
        int[] remap = new int[tasks.Length];
        for (int i = 0; i < tasks.Length; i++) remap[taskIds[tasks[i]]] = i;
        int n = user.Count;
        int[] taskArr = new int[n];
        for (int i = 0; i < n; i++) taskArr[i] = remap[task[i]];
        return Build([.. user], [.. item], [.. time], taskArr, tasks, catalog.Count, skipped, options);
    }

    /// <summary>Builds pairs from in-memory actions (parallel arrays; items are catalogue rows in [0, itemCount)).</summary>
    public static EngagementPairs Build(int[] user, int[] item, long[] time, int[] task, string[] tasks, int itemCount,
        long skipped, PairOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int n = user.Length;
        long validationStart = long.MaxValue, testStart = long.MaxValue, last = 0;
        if (n > 0)
        {
            long[] sorted = [.. time];
            Array.Sort(sorted);
            last = sorted[^1];
            testStart = options.TestShare > 0 ? sorted[Math.Min(n - 1, (int)Math.Floor(n * (1 - options.TestShare)))] : long.MaxValue;
            validationStart = options.ValidationShare > 0 || options.TestShare > 0
                ? sorted[Math.Min(n - 1, (int)Math.Floor(n * (1 - options.TestShare - options.ValidationShare)))]
                : long.MaxValue;
            if (options.ValidationShare == 0) validationStart = testStart;
        }
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        // By user, then time, then file order: a stable, deterministic sequence per user.
        Array.Sort(order, (a, b) => user[a] != user[b] ? user[a].CompareTo(user[b]) : time[a] != time[b] ? time[a].CompareTo(time[b]) : a.CompareTo(b));
        var sets = new[] { new Builder(), new Builder(), new Builder() };
        var popularity = new long[itemCount];
        for (int i = 0; i < n; i++)
            if (time[i] < validationStart) popularity[item[i]]++;
        for (int k = 0; k < n; k++)
        {
            int a = order[k];
            int taken = 0;
            for (int next = k + 1; next < n && taken < options.Window && user[order[next]] == user[a]; next++)
            {
                int b = order[next];
                if (item[b] == item[a]) continue;
                taken++;
                int set = time[b] >= testStart ? 2 : time[b] >= validationStart ? 1 : 0;
                sets[set].Add(item[a], item[b], task[b], time[b], user[a]);
            }
        }
        return new EngagementPairs(tasks, sets[0].Build(), sets[1].Build(), sets[2].Build(), popularity, skipped, n,
            validationStart, testStart, validationStart == long.MaxValue ? last + 1 : validationStart);
    }

    private sealed class Builder
    {
        private readonly List<int> _q = [], _p = [], _t = [], _u = [];
        private readonly List<long> _time = [];

        public void Add(int q, int p, int t, long time, int user)
        {
            _q.Add(q);
            _p.Add(p);
            _t.Add(t);
            _time.Add(time);
            _u.Add(user);
        }

        public PairSet Build() => new([.. _q], [.. _p], [.. _t], [.. _time], [.. _u]);
    }
}
