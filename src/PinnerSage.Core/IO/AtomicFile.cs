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

    /// <summary>Commits several outputs of one run together: each is first written completely under a hidden temporary
    /// name beside its target (its callback gets that name and may itself write atomically), and only when every one
    /// succeeded are they renamed over their targets and their folders synced. A failure in any write deletes every
    /// temporary file and leaves every target as it was.</summary>
    /// <param name="outputs">(target path, write-to-this-path callback) for each output.</param>
    public static void WriteAll(IReadOnlyList<(string Path, Action<string> WriteTo)> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var staged = new List<(string Temp, string Target)>(outputs.Count);
        try
        {
            foreach ((string path, Action<string> writeTo) in outputs)
            {
                string target = Path.GetFullPath(path);
                staged.Add((TempPathFor(target), target));
                writeTo(staged[^1].Temp);
            }
            foreach ((string temp, string target) in staged) File.Move(temp, target, overwrite: true);
            foreach (string dir in staged.Select(s => Path.GetDirectoryName(s.Target)!).Distinct(StringComparer.Ordinal)) SyncDirectory(dir);
        }
        finally
        {
            foreach ((string temp, _) in staged) if (File.Exists(temp)) TryDelete(temp);
        }
    }

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

    /// <param name="path">The target.</param>
    /// <param name="bufferSize">The stream's buffer.</param>
    /// <param name="readable">Open the temp file for reading too (a writer that appends by rereading what it wrote,
    /// as Parquet's row groups do).</param>
    public PendingFile(string path, int bufferSize = 1 << 16, bool readable = false)
    {
        _path = Path.GetFullPath(path);
        _tempPath = AtomicFile.TempPathFor(_path);
        Stream = new FileStream(_tempPath, FileMode.CreateNew, readable ? FileAccess.ReadWrite : FileAccess.Write, FileShare.None, bufferSize);
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
