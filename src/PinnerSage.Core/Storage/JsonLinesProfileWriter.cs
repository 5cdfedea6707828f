using System.Buffers;
using PinnerSage.IO;
using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>Writes profiles as JSON lines (<see cref="ProfileJson"/>). To a path: into a temporary file in the same
/// folder, renamed over the path by <see cref="Commit"/>, so the path never holds a partial export; disposing
/// without committing deletes the temporary file. To a stream (the streaming mapper's stdout): directly.</summary>
public sealed class JsonLinesProfileWriter : IProfileExport
{
    private const int FlushThreshold = 1 << 16;

    private readonly Stream _stream;
    private readonly PendingFile? _file;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushThreshold * 2);
    private bool _committed;
    private bool _prepared;

    /// <summary>Starts an export to <paramref name="path"/> (written on <see cref="Commit"/>).</summary>
    public JsonLinesProfileWriter(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _file = new PendingFile(path);
        _stream = _file.Stream;
    }

    /// <summary>Writes to an open stream (not closed on dispose); <see cref="Commit"/> only flushes.</summary>
    public JsonLinesProfileWriter(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
    }

    /// <summary>Lines written so far.</summary>
    public long Count { get; private set; }

    /// <inheritdoc/>
    public void Write(UserProfile profile)
    {
        ObjectDisposedException.ThrowIf(_committed || _prepared, this);
        ProfileJson.WriteLine(_buffer, profile);
        Count++;
        if (_buffer.WrittenCount >= FlushThreshold) FlushBuffer();
    }

    /// <summary>Flushes and, for a path, renames the temporary file over it.</summary>
    public void Commit()
    {
        if (_committed) return;
        if (!_prepared) Prepare();
        _committed = true;
        _file?.Commit();
    }

    /// <summary>Writes everything to the temporary file and syncs it to the disk, short of the rename that
    /// <see cref="Commit"/> does: call it before committing the run's other output (the store), so that only the
    /// rename can still fail after that. A stream is only flushed.</summary>
    public void Prepare()
    {
        ObjectDisposedException.ThrowIf(_committed || _prepared, this);
        FlushBuffer();
        if (_file is null) _stream.Flush();
        else _file.Prepare();
        _prepared = true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_committed || _file is null) return;
        _committed = true;
        _file.Dispose();
    }

    private void FlushBuffer()
    {
        _stream.Write(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
    }
}
