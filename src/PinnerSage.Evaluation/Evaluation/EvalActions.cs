using System.Runtime.InteropServices;
using PinnerSage.IO;

namespace PinnerSage.Evaluation;

/// <summary>Every user's actions for the offline evaluation, sorted by (time, item row) per user, with items mapped to
/// rows of the item embeddings (−1 when the item has no vector). One contiguous column per field (CSR by user).</summary>
/// <remarks>Items without a vector never enter a profile; as test actions they follow
/// <see cref="OfflineEvalOptions.Unembedded"/>. Sorting by (time, row) makes the split independent of the file order.</remarks>
public sealed class EvalActions
{
    internal EvalActions(string[] userIds, int[] offsets, long[] times, int[] rows, long unembedded, long excluded)
    {
        UserIds = userIds;
        Offsets = offsets;
        Times = times;
        Rows = rows;
        UnembeddedActions = unembedded;
        ExcludedActions = excluded;
    }

    /// <summary>User ids, ordinal order.</summary>
    public IReadOnlyList<string> UserIds { get; }

    /// <summary>Number of actions kept (with or without a vector).</summary>
    public long Count => Times.Length;

    /// <summary>Actions whose item has no vector (row −1).</summary>
    public long UnembeddedActions { get; }

    /// <summary>Actions left out by the action-type filter.</summary>
    public long ExcludedActions { get; }

    /// <summary>User u's actions are [Offsets[u], Offsets[u+1]).</summary>
    internal int[] Offsets { get; }

    /// <summary>Unix seconds of each action.</summary>
    internal long[] Times { get; }

    /// <summary>Embedding row of each action's item, −1 without a vector.</summary>
    internal int[] Rows { get; }

    /// <summary>Reads <c>actions.tsv</c> (any format <see cref="ActionsTsvReader"/> accepts) and maps items to rows of
    /// <paramref name="items"/>.</summary>
    /// <exception cref="DataFormatException">A malformed line (file, line and field named).</exception>
    public static EvalActions Load(string actionsPath, ItemEmbeddings items, IReadOnlySet<string>? includeActions = null)
    {
        ArgumentNullException.ThrowIfNull(actionsPath);
        ArgumentNullException.ThrowIfNull(items);
        var userIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup = userIndex.GetAlternateLookup<ReadOnlySpan<char>>();
        var users = new List<int>();
        var times = new List<long>();
        var rows = new List<int>();
        long unembedded = 0, excluded = 0;
        using (var reader = new ActionsTsvReader(actionsPath))
        {
            while (reader.MoveNext())
            {
                if (includeActions is not null && !includeActions.Contains(reader.Action.ToString()))
                {
                    excluded++;
                    continue;
                }
                ReadOnlySpan<char> user = reader.UserId;
                if (!lookup.TryGetValue(user, out int u))
                {
                    u = userIndex.Count;
                    lookup[user] = u;
                }
                if (!items.TryGetRow(reader.ItemId, out int row))
                {
                    row = -1;
                    unembedded++;
                }
                users.Add(u);
                times.Add(reader.Timestamp);
                rows.Add(row);
            }
        }
        var ids = new string[userIndex.Count];
        foreach (KeyValuePair<string, int> kv in userIndex) ids[kv.Value] = kv.Key;
        return Build(ids, CollectionsMarshal.AsSpan(users), CollectionsMarshal.AsSpan(times), CollectionsMarshal.AsSpan(rows),
                     unembedded, excluded);
    }

    /// <summary>Builds the table from parallel columns (user index into <paramref name="userIds"/>, time, row).</summary>
    internal static EvalActions Build(string[] userIds, ReadOnlySpan<int> user, ReadOnlySpan<long> time, ReadOnlySpan<int> row,
                                      long unembedded = 0, long excluded = 0)
    {
        // Users in ordinal id order, so results and sampling do not depend on the file's order.
        int[] order = Enumerable.Range(0, userIds.Length).ToArray();
        Array.Sort(order, (a, b) => string.CompareOrdinal(userIds[a], userIds[b]));
        var rank = new int[userIds.Length];
        for (int i = 0; i < order.Length; i++) rank[order[i]] = i;
        var offsets = new int[userIds.Length + 1];
        foreach (int u in user) offsets[rank[u] + 1]++;
        for (int i = 0; i < userIds.Length; i++) offsets[i + 1] += offsets[i];
        var fill = offsets[..^1].ToArray();
        var times = new long[user.Length];
        var rows = new int[user.Length];
        for (int i = 0; i < user.Length; i++)
        {
            int at = fill[rank[user[i]]]++;
            times[at] = time[i];
            rows[at] = row[i];
        }
        for (int u = 0; u < userIds.Length; u++)
        {
            int start = offsets[u], length = offsets[u + 1] - start;
            SortByTimeThenRow(times.AsSpan(start, length), rows.AsSpan(start, length));
        }
        string[] sortedIds = order.Select(i => userIds[i]).ToArray();
        return new EvalActions(sortedIds, offsets, times, rows, unembedded, excluded);
    }

    private static void SortByTimeThenRow(Span<long> times, Span<int> rows)
    {
        // (time, row) packed keys would overflow; sort an index permutation instead (per user, small).
        if (times.Length < 2) return;
        var keys = new (long T, int R)[times.Length];
        for (int i = 0; i < keys.Length; i++) keys[i] = (times[i], rows[i]);
        Array.Sort(keys);
        for (int i = 0; i < keys.Length; i++)
        {
            times[i] = keys[i].T;
            rows[i] = keys[i].R;
        }
    }
}
