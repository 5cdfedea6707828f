using System.Text;

namespace PinnerSage.IO;

/// <summary>Atomic replacement of output files: write to a hidden temp file in the same folder (so the rename
/// cannot cross file systems), then rename over the target; readers never see a half-written file.</summary>
public static class AtomicFile
{
    internal static string TempPathFor(string path)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        return Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/> atomically.</summary>
    public static void Write(string path, Action<Stream> write, int bufferSize = 1 << 16)
    {
        using var file = new PendingFile(path, bufferSize);
        write(file.Stream);
        file.Commit();
    }

    /// <summary>Writes <paramref name="path"/> as UTF-8 text (no BOM, "\n" line ends) through <paramref name="write"/>
    /// atomically.</summary>
    public static void WriteText(string path, Action<StreamWriter> write, int bufferSize = 1 << 16) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize, leaveOpen: true) { NewLine = "\n" };
            write(writer);
        }, bufferSize: 1);

    /// <summary>Fsyncs a folder, so a rename inside it is durable (Linux and macOS; elsewhere a no-op).</summary>
    public static void SyncDirectory(string directory) => PosixFiles.SyncDirectory(directory);

    /// <summary>Deletes a leftover temp file, ignoring failures.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original error matters more than a leftover temp file.
        }
    }
}

/// <summary>An output file being written under a temp name (<see cref="AtomicFile.TempPathFor"/>):
/// <see cref="Commit"/> closes it and renames it over the target; disposing without committing deletes it.</summary>
internal sealed class PendingFile : IDisposable
{
    private readonly string _path;
    private readonly string _tempPath;
    private bool _done;

    public PendingFile(string path, int bufferSize = 1 << 16)
    {
        _path = Path.GetFullPath(path);
        _tempPath = AtomicFile.TempPathFor(_path);
        Stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize);
    }

    /// <summary>The temp file.</summary>
    public FileStream Stream { get; }

    /// <summary>Flushes the data to the disk (fsync), closes the file and renames it over the target, then fsyncs the
    /// folder so the rename survives a power loss too. On failure the temp file is deleted and the target untouched.</summary>
    public void Commit()
    {
        Prepare();
        try
        {
            File.Move(_tempPath, _path, overwrite: true);
        }
        catch
        {
            Dispose();
            throw;
        }
        _done = true;
        AtomicFile.SyncDirectory(Path.GetDirectoryName(_path)!);
    }

    /// <summary>Flushes the data to the disk and closes the file, short of the rename: a second output of a run is
    /// prepared before the run's main output (a store transaction) commits, and renamed right after it.</summary>
    public void Prepare()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        if (!Stream.CanWrite) return;
        try
        {
            Stream.Flush(flushToDisk: true);
            Stream.Dispose();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        Stream.Dispose();
        AtomicFile.TryDelete(_tempPath);
    }
}
