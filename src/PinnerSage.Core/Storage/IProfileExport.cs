namespace PinnerSage.Storage;

/// <summary>A file of profiles written beside a store run and committed with it (<see cref="Batch.ProfilePipeline"/>):
/// it receives the run's profiles, is made durable by <see cref="Prepare"/> before the store commits, and is put in
/// place by <see cref="Commit"/> right after, so a failure anywhere leaves both as they were. Disposing without
/// committing discards it. JSON lines (<see cref="JsonLinesProfileWriter"/>) and Parquet (PinnerSage.Parquet) implement it.</summary>
public interface IProfileExport : IProfileSink, IDisposable
{
    /// <summary>Writes everything and syncs it to the disk, short of the final rename.</summary>
    void Prepare();

    /// <summary>Puts the export in place (prepares it first when needed).</summary>
    void Commit();
}
