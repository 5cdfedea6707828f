using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>Receives profiles one by one, in the order a producer emits them (the batch job: user ids in code-point order).</summary>
public interface IProfileSink
{
    /// <summary>Adds one user's profile.</summary>
    void Write(UserProfile profile);
}

/// <summary>A key-value store of user profiles (the paper's daily batch writes each user's (medoid, importance)
/// list into a key-value store). SQLite (<c>SqliteProfileStore</c>) is the embedded default; a PostgreSQL or
/// other server store implements the same contract. Later issues extend it with online per-user updates and an event
/// log; a store therefore keys profiles by user id and keeps run metadata separately.</summary>
public interface IProfileStore : IDisposable
{
    /// <summary>Starts replacing every profile in the store by a new batch run, in one transaction: readers keep seeing
    /// the previous run until <see cref="IProfileReplaceSession.Commit"/>; disposing the session without committing
    /// (or any failure) rolls back and leaves the previous run intact.</summary>
    IProfileReplaceSession BeginReplaceAll();

    /// <summary>The profile of <paramref name="userId"/>, or null when the store has none.</summary>
    UserProfile? Get(string userId);

    /// <summary>Metadata of the run that wrote the current profiles, or null for an empty store.</summary>
    ProfileRunMetadata? GetMetadata();

    /// <summary>Number of users with a stored profile.</summary>
    long CountUsers();

    /// <summary>User ids with a profile OR with logged events, in code-point (= UTF-8 byte) order, each greater than
    /// <paramref name="after"/> (null = from the start) and starting with <paramref name="prefix"/> (null or empty =
    /// all), at most <paramref name="limit"/> of them.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    IReadOnlyList<string> ListUsers(string? prefix, string? after, int limit);

    /// <summary>Appends <paramref name="events"/> to the event log in ONE transaction, durably (committed to disk)
    /// before returning: all or none. Returns each event's sequence, in input order.</summary>
    /// <exception cref="ArgumentException">An event has an empty user, item or action.</exception>
    /// <exception cref="IOException">The store could not write; nothing was appended.</exception>
    IReadOnlyList<long> AppendEvents(IReadOnlyList<ActionEvent> events);

    /// <summary>The user's online state: their events with a sequence above the current run's
    /// <see cref="ProfileRunMetadata.ConsumedEventSequence"/>, the <paramref name="max"/> most recent by
    /// (timestamp, sequence), returned oldest first. An empty list when there are none.</summary>
    IReadOnlyList<LoggedEvent> GetPendingEvents(string userId, int max);

    /// <summary>Every logged event with <paramref name="afterSequence"/> &lt; sequence ≤ <paramref name="upToSequence"/>,
    /// in sequence order, streamed (enumerate it once; dispose the enumerator to release the read).</summary>
    IEnumerable<LoggedEvent> ReadEvents(long afterSequence, long upToSequence);

    /// <summary>The highest committed sequence (0 for an empty log).</summary>
    long LastEventSequence();

    /// <summary>Deletes the logged events no batch run can use again: consumed (sequence ≤
    /// <paramref name="consumedThrough"/>) and older than <paramref name="before"/> (Unix seconds: the start of the
    /// committed run's window, which every later run — with a later now — also filters out). The event with the
    /// largest sequence is kept, so <see cref="LastEventSequence"/> never goes back. Without it every batch rereads the
    /// whole log.</summary>
    /// <returns>How many events were deleted.</returns>
    long CompactEvents(long consumedThrough, long before);

    // Asynchronous reads and writes for request paths. A store whose reads wait on a network (PostgreSQL) overrides
    // them with truly asynchronous I/O; an embedded store (SQLite: microseconds, no network) keeps these defaults,
    // which run the synchronous call and return a completed task.

    /// <inheritdoc cref="Get"/>
    ValueTask<UserProfile?> GetAsync(string userId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Get(userId));
    }

    /// <inheritdoc cref="GetMetadata"/>
    ValueTask<ProfileRunMetadata?> GetMetadataAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(GetMetadata());
    }

    /// <inheritdoc cref="GetPendingEvents"/>
    ValueTask<IReadOnlyList<LoggedEvent>> GetPendingEventsAsync(string userId, int max, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(GetPendingEvents(userId, max));
    }

    /// <inheritdoc cref="ListUsers"/>
    ValueTask<IReadOnlyList<string>> ListUsersAsync(string? prefix, string? after, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(ListUsers(prefix, after, limit));
    }

    /// <inheritdoc cref="AppendEvents"/>
    ValueTask<IReadOnlyList<long>> AppendEventsAsync(IReadOnlyList<ActionEvent> events, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(AppendEvents(events));
    }
}

/// <summary>One engagement received online (POST /v1/users/{id}/actions).</summary>
/// <param name="UserId">The user.</param>
/// <param name="ItemId">The engaged item.</param>
/// <param name="Action">The action type (e.g. click, save).</param>
/// <param name="Timestamp">When it happened, Unix seconds.</param>
public sealed record ActionEvent(string UserId, string ItemId, string Action, long Timestamp);

/// <summary>An event as the log holds it.</summary>
/// <param name="Sequence">Assigned by the store, &gt; 0, increasing in commit order (gaps allowed): once a reader sees
/// sequence s it sees every committed sequence below s.</param>
/// <param name="Event">The event.</param>
/// <param name="ReceivedAtUtc">When the store appended it.</param>
public sealed record LoggedEvent(long Sequence, ActionEvent Event, DateTimeOffset ReceivedAtUtc);

/// <summary>One all-or-nothing replacement of a store's profiles (see <see cref="IProfileStore.BeginReplaceAll"/>).</summary>
public interface IProfileReplaceSession : IProfileSink, IDisposable
{
    /// <summary>Records <paramref name="metadata"/> and makes the new profiles visible atomically.</summary>
    void Commit(ProfileRunMetadata metadata);
}

/// <summary>What a batch run used and produced, stored beside its profiles.</summary>
/// <param name="SchemaVersion">Store schema version the run wrote: filled by the store (a store commits its own version
/// whatever a writer passes, <see cref="SchemaVersionFilledByStore"/> by convention, and <see cref="IProfileStore.GetMetadata"/>
/// returns it).</param>
/// <param name="Now">The profiles' now, Unix seconds.</param>
/// <param name="BuiltAtUtc">Wall-clock time the run finished.</param>
/// <param name="OptionsJson">The model options as a JSON object (alpha, lambda, window, …).</param>
/// <param name="Users">Users written.</param>
/// <param name="Source">Where the actions came from (a path, or "-").</param>
public sealed record ProfileRunMetadata(int SchemaVersion, long Now, DateTimeOffset BuiltAtUtc, string OptionsJson,
                                        long Users, string Source)
{
    /// <summary>What a writer passes as <see cref="SchemaVersion"/>: the store writes its own.</summary>
    public const int SchemaVersionFilledByStore = 0;

    /// <summary>Logged events with a sequence ≤ this are folded into this run's profiles; later ones are the users'
    /// online state. Committed atomically with the run's profiles (same transaction).</summary>
    public long ConsumedEventSequence { get; init; }
}
