using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>Receives profiles one by one, in the order a producer emits them (the batch job: user ids in code-point order).</summary>
public interface IProfileSink
{
    /// <summary>Adds one user's profile.</summary>
    void Write(UserProfile profile);
}

/// <summary>A key-value store of user profiles (the paper's daily batch writes each user's (medoid, importance)
/// list into a key-value store). SQLite (<see cref="SqliteProfileStore"/>) is the embedded default; a PostgreSQL or
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
}

/// <summary>One all-or-nothing replacement of a store's profiles (see <see cref="IProfileStore.BeginReplaceAll"/>).</summary>
public interface IProfileReplaceSession : IProfileSink, IDisposable
{
    /// <summary>Records <paramref name="metadata"/> and makes the new profiles visible atomically.</summary>
    void Commit(ProfileRunMetadata metadata);
}

/// <summary>What a batch run used and produced, stored beside its profiles.</summary>
/// <param name="SchemaVersion">Store schema version the run wrote.</param>
/// <param name="Now">The profiles' now, Unix seconds.</param>
/// <param name="BuiltAtUtc">Wall-clock time the run finished.</param>
/// <param name="OptionsJson">The model options as a JSON object (alpha, lambda, window, …).</param>
/// <param name="Users">Users written.</param>
/// <param name="Source">Where the actions came from (a path, or "-").</param>
public sealed record ProfileRunMetadata(int SchemaVersion, long Now, DateTimeOffset BuiltAtUtc, string OptionsJson,
                                        long Users, string Source);
