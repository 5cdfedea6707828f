using System.IO.MemoryMappedFiles;

namespace PinnerSage.Ann;

/// <summary>n × d float rows at a fixed address: a pinned array (an index quantized in memory) or a read-only
/// memory-mapped file section (a loaded quantized index), so re-ranking reads page cache instead of heap.</summary>
internal sealed unsafe class FloatRows : IDisposable
{
    private readonly float[]? _array;
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _mapped;

    private FloatRows(float* rows, long count, float[]? array, MemoryMappedFile? file, MemoryMappedViewAccessor? view, byte* mapped)
    {
        Rows = rows;
        Count = count;
        _array = array;
        _file = file;
        _view = view;
        _mapped = mapped;
    }

    /// <summary>First float of row 0.</summary>
    public float* Rows { get; }

    /// <summary>Floats held (n·d).</summary>
    public long Count { get; }

    /// <summary>Whether the rows are a mapped file section (page cache) rather than heap.</summary>
    public bool IsMapped => _file is not null;

    public static FloatRows Pinned(float[] array)
    {
        if (array.Length == 0) array = GC.AllocateArray<float>(1, pinned: true);
        return new FloatRows((float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref array[0]), array.Length, array, null, null, null);
    }

    /// <summary>Maps <paramref name="count"/> floats at byte <paramref name="offset"/> of <paramref name="path"/>, read-only.</summary>
    public static FloatRows Map(string path, long offset, long count)
    {
        MemoryMappedFile file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        return new FloatRows((float*)(p + view.PointerOffset + offset), count, null, file, view, p);
    }

    public ReadOnlySpan<float> Row(int i, int d) => new(Rows + (long)i * d, d);

    /// <summary>Unmaps the file. No search may run on the rows any more.</summary>
    public void Dispose()
    {
        if (_mapped is not null)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _mapped = null;
        }
        _view?.Dispose();
        _file?.Dispose();
        GC.KeepAlive(_array);
    }
}
