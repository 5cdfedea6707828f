using System.IO.MemoryMappedFiles;

namespace PinnerSage.IO;

/// <summary>A read-only memory map of a float32 table inside a file, exposed as a span. The OS pages rows in on
/// demand and shares them between processes, so a large embedding table costs no managed heap.</summary>
internal sealed unsafe class MappedMatrix : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly float* _data;
    private readonly int _length;
    private int _disposed;

    /// <summary>Maps <paramref name="length"/> floats starting at byte <paramref name="offset"/> of
    /// <paramref name="stream"/>, which the map owns from now on.</summary>
    public MappedMatrix(FileStream stream, long offset, int length)
    {
        _file = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read,
                                                HandleInheritability.None, leaveOpen: false);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* basePtr = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            _data = (float*)(basePtr + _view.PointerOffset + offset);
            _length = length;
        }
        catch
        {
            _view?.Dispose();
            _file.Dispose();
            throw;
        }
    }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public ReadOnlySpan<float> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return new ReadOnlySpan<float>(_data, _length);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
