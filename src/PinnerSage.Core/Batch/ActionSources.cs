using System.Runtime.CompilerServices;
using PinnerSage.IO;

namespace PinnerSage.Batch;

/// <summary>One engagement as a batch input holds it.</summary>
/// <param name="UserId">The user (see <see cref="IdRules"/>).</param>
/// <param name="ItemId">The engaged item (see <see cref="IdRules"/>).</param>
/// <param name="Timestamp">When, Unix seconds (UTC), in [0, <see cref="ActionsTsvReader.MaxTimestamp"/>].</param>
/// <param name="Action">The action type (e.g. click, save); empty when the input has none.</param>
public readonly record struct UserAction(string UserId, string ItemId, long Timestamp, string Action = "");

/// <summary>Where a batch run reads its actions from: a file (<see cref="ActionSource.File"/>: actions.tsv, a CSV with
/// a header, MovieLens ratings.csv, Amazon review JSON lines) or memory (<see cref="ActionSource.FromEnumerable"/>,
/// <see cref="ActionSource.FromAsyncEnumerable"/>). Every source goes through the same batch pipeline
/// (<see cref="ProfilePipeline"/>).</summary>
public interface IActionSource
{
    /// <summary>Names the source in errors and in the run metadata (<see cref="Storage.ProfileRunMetadata.Source"/>).</summary>
    string Name { get; }

    /// <summary>True when <see cref="ReadAllAsync"/> can be called more than once (a file; not standard input or a
    /// one-shot stream). The batch job makes a first pass over a rescannable source to find the latest timestamp and
    /// whether users arrive sorted, and then streams sorted input with bounded memory.</summary>
    bool CanRescan { get; }

    /// <summary>The actions, in the source's order (validated: ids by <see cref="IdRules"/>, timestamps in range).</summary>
    /// <exception cref="DataFormatException">A malformed record, naming the source, the record number and the field.</exception>
    IAsyncEnumerable<UserAction> ReadAllAsync(CancellationToken cancellationToken = default);
}

/// <summary>The action sources.</summary>
public static class ActionSource
{
    /// <summary>An actions file: tab-separated with the header <c>user_id TAB item_id TAB timestamp [TAB action [TAB value]]</c>,
    /// comma-separated with a header naming the columns <c>user_id,item_id,timestamp[,action[,value]]</c> (in any order),
    /// MovieLens <c>ratings.csv</c> or Amazon review JSON lines, recognised by the first line; <c>.gz</c> is
    /// decompressed; "-" is standard input (read once). <paramref name="hasHeader"/> = false: headerless tab-separated
    /// lines (the Hadoop-streaming mapper's input).</summary>
    public static IActionSource File(string path, bool hasHeader = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new FileActionSource(path, hasHeader);
    }

    /// <summary>Actions held in memory (enumerated once per pass: twice when users are sorted).</summary>
    /// <param name="actions">The actions; enumerable more than once.</param>
    /// <param name="name">The source's name in errors and run metadata.</param>
    public static IActionSource FromEnumerable(IEnumerable<UserAction> actions, string name = "memory")
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new EnumerableActionSource(actions, name);
    }

    /// <summary>Actions from an asynchronous stream (a database reader, a message queue, Parquet row groups…).</summary>
    /// <param name="actions">The stream.</param>
    /// <param name="name">The source's name in errors and run metadata.</param>
    /// <param name="canRescan">True when <paramref name="actions"/> yields the same actions each time it is enumerated.</param>
    public static IActionSource FromAsyncEnumerable(IAsyncEnumerable<UserAction> actions, string name, bool canRescan = false)
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new AsyncEnumerableActionSource(actions, name, canRescan);
    }

    /// <summary>The reader the batch job pulls from: the file reader itself for files (no allocation per action),
    /// else an adapter over <see cref="IActionSource.ReadAllAsync"/>.</summary>
    internal static IActionCursor OpenCursor(IActionSource source, CancellationToken cancellationToken) =>
        source is FileActionSource file
            ? new ActionsTsvReader(file.Path, file.HasHeader)
            : new AsyncActionCursor(source.Name, source.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken));
}

/// <summary>What the batch job reads from an action source: the current record's fields as spans, valid until the next
/// <see cref="MoveNext"/>.</summary>
internal interface IActionCursor : IDisposable
{
    bool MoveNext();
    ReadOnlySpan<char> UserId { get; }
    ReadOnlySpan<char> ItemId { get; }
    ReadOnlySpan<char> Action { get; }
    long Timestamp { get; }
    long LineNumber { get; }

    /// <summary>The record's value (a rating…); NaN when the source has none (every in-memory source).</summary>
    double Value { get; }
}

internal sealed class FileActionSource(string path, bool hasHeader) : IActionSource
{
    public string Path { get; } = path;
    public bool HasHeader { get; } = hasHeader;
    public string Name => Path;
    public bool CanRescan => Path != "-";

    public async IAsyncEnumerable<UserAction> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new ActionsTsvReader(Path, HasHeader);
        while (reader.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new UserAction(reader.UserId.ToString(), reader.ItemId.ToString(), reader.Timestamp, reader.Action.ToString());
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }
}

internal sealed class EnumerableActionSource(IEnumerable<UserAction> actions, string name) : IActionSource
{
    public string Name { get; } = name;
    public bool CanRescan => true;

    public async IAsyncEnumerable<UserAction> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (UserAction action in actions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return action;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }
}

internal sealed class AsyncEnumerableActionSource(IAsyncEnumerable<UserAction> actions, string name, bool canRescan) : IActionSource
{
    public string Name { get; } = name;
    public bool CanRescan { get; } = canRescan;
    public IAsyncEnumerable<UserAction> ReadAllAsync(CancellationToken cancellationToken = default) => actions;
}

/// <summary>Pulls an asynchronous stream from the batch job's reader thread (a dedicated thread, so blocking on a
/// pending <see cref="IAsyncEnumerator{T}.MoveNextAsync"/> costs no pool thread), validating each record as the file
/// reader validates a line.</summary>
internal sealed class AsyncActionCursor(string name, IAsyncEnumerator<UserAction> enumerator) : IActionCursor
{
    private UserAction _current;
    private long _number;

    public ReadOnlySpan<char> UserId => _current.UserId;
    public ReadOnlySpan<char> ItemId => _current.ItemId;
    public ReadOnlySpan<char> Action => _current.Action;
    public long Timestamp => _current.Timestamp;
    public long LineNumber => _number;
    public double Value => double.NaN;

    public bool MoveNext()
    {
        ValueTask<bool> next = enumerator.MoveNextAsync();
        if (!(next.IsCompletedSuccessfully ? next.Result : next.AsTask().GetAwaiter().GetResult())) return false;
        _current = enumerator.Current;
        _number++;
        if (IdRules.Describe("user id", _current.UserId) is string user) throw new DataFormatException(name, _number, "user_id", user);
        if (IdRules.Describe("item id", _current.ItemId) is string item) throw new DataFormatException(name, _number, "item_id", item);
        if (_current.Timestamp is < 0 or > ActionsTsvReader.MaxTimestamp)
            throw new DataFormatException(name, _number, "timestamp",
                $"timestamp {_current.Timestamp} is outside [0, {ActionsTsvReader.MaxTimestamp}] (Unix seconds)");
        _current = _current with { Action = _current.Action ?? "" };
        return true;
    }

    public void Dispose() => enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
