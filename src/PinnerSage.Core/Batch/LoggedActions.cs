using PinnerSage.IO;
using PinnerSage.Storage;

namespace PinnerSage.Batch;

/// <summary>Logged events (the serving event log) resolved for the batch job: items to embedding rows, action labels
/// to codes, grouped by user in code-point order in flat columns, ready to merge into the per-user action stream.</summary>
internal sealed class LoggedActions
{
    private LoggedActions(string[] userIds, int[] start, int[] rows, long[] times, int[] codes)
    {
        UserIds = userIds;
        Start = start;
        Rows = rows;
        Times = times;
        Codes = codes;
    }

    /// <summary>Users with at least one usable event, in <see cref="UserIdOrder"/>.</summary>
    public string[] UserIds { get; }

    /// <summary>User u's events are [Start[u], Start[u + 1]).</summary>
    public int[] Start { get; }

    public int[] Rows { get; }

    public long[] Times { get; }

    public int[] Codes { get; }

    /// <summary>Events read from the log.</summary>
    public long Read { get; private init; }

    /// <summary>Events skipped because their item has no embedding.</summary>
    public long SkippedUnknownItem { get; private init; }

    /// <summary>Events skipped because their action type is excluded.</summary>
    public long SkippedActionType { get; private init; }

    /// <summary>The latest timestamp of a usable event (0 when none).</summary>
    public long MaxTime { get; private init; }

    public static LoggedActions Create(IEnumerable<LoggedEvent> events, ItemEmbeddings items, ActionTypeTable table)
    {
        var byUser = new Dictionary<string, List<(int Row, long Time, int Code)>>(StringComparer.Ordinal);
        long read = 0, unknown = 0, excluded = 0, maxTime = 0;
        foreach (LoggedEvent logged in events)
        {
            read++;
            ActionEvent e = logged.Event;
            int code = table.Code(e.Action);
            if (code < 0)
            {
                excluded++;
                continue;
            }
            if (!items.TryGetRow(e.ItemId, out int row))
            {
                unknown++;
                continue;
            }
            if (!byUser.TryGetValue(e.UserId, out List<(int, long, int)>? list)) byUser.Add(e.UserId, list = []);
            list.Add((row, e.Timestamp, code));
            maxTime = Math.Max(maxTime, e.Timestamp);
        }
        string[] users = [.. byUser.Keys];
        Array.Sort(users, (a, b) => UserIdOrder.Compare(a, b));
        int total = 0;
        foreach (List<(int, long, int)> list in byUser.Values) total += list.Count;
        int[] start = new int[users.Length + 1], rows = new int[total], codes = new int[total];
        long[] times = new long[total];
        int n = 0;
        for (int u = 0; u < users.Length; u++)
        {
            start[u] = n;
            foreach ((int row, long time, int code) in byUser[users[u]])
            {
                rows[n] = row;
                times[n] = time;
                codes[n] = code;
                n++;
            }
        }
        start[users.Length] = n;
        return new LoggedActions(users, start, rows, times, codes)
        {
            Read = read,
            SkippedUnknownItem = unknown,
            SkippedActionType = excluded,
            MaxTime = maxTime,
        };
    }
}
