using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PinnerSage.IO;
using PinnerSage.Numerics;

namespace PinnerSage.Ann;

public sealed partial class QuantizedHnswIndex
{
    /// <summary>Current format version of quantized index files. <see cref="Load"/> also reads version 1 (legacy
    /// <see cref="Checksum64"/> fold; version 2 changed only the checksum, to XXH3-64).</summary>
    public const int FormatVersion = 2;

    private const int FileHeaderBytes = 128;
    /// <summary>Checksummed in slices of this many bytes, so a float section past 2 GiB hashes as well.</summary>
    private const int ChecksumSlice = 1 << 30;
    private static ReadOnlySpan<byte> Magic => "PSHNSQ8\n"u8;

    /// <summary>Whether <paramref name="path"/> starts with the quantized index magic (else it may be a float index).</summary>
    public static bool IsQuantizedFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Span<byte> head = stackalloc byte[8];
        using var file = File.OpenRead(path);
        return file.Read(head) == 8 && head.SequenceEqual(Magic);
    }

    /// <summary>Saves the index as one file (temp file, then renamed over <paramref name="path"/>).</summary>
    /// <remarks>Layout, little-endian: a 128-byte header (magic "PSHNSQ8\n", format version, dimension, metric, M,
    /// efConstruction, ef, seed, element and deleted counts, entry point and level, layer-0 header ints, code bytes and
    /// stride, upper-layer int count, item-id count (−1: none) and bytes, byte offset of the float section); then the
    /// layer-0 block as in memory, labels, levels, upper-layer lists, the quantizer's Min and Step, item ids, zero
    /// padding to a 64-byte boundary, the n × d float rows (stored form: unit length for cosine); then the XXH3-64 of
    /// the header and sections, padding excluded (<see cref="FileChecksum"/>).</remarks>
    public unsafe void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int n = _nodeCount;
        (int[] levels, int[] upper) = HnswIndex.FlattenUpperLayers(_store.Upper, n, _m);
        long upperInts = upper.Length;
        byte[] ids = HnswIndex.EncodeIds(ItemIds);
        long beforeFloats = FileHeaderBytes + (long)n * _strideBytes + 8L * n + 4 * upperInts + 8L * Dimension + ids.Length;
        long floatsOffset = (beforeFloats + 63) & ~63L;

        var header = new byte[FileHeaderBytes];
        Span<byte> h = header;
        HnswIndex.WriteCommonHeader(h, Magic, FormatVersion,
                                    new HnswIndex.CommonHeader(Dimension, _options, n, _deletedCount, n > 0 ? _entryId : -1, n > 0 ? _entryLevel : -1));
        BinaryPrimitives.WriteInt32LittleEndian(h[56..], _headerInts);
        BinaryPrimitives.WriteInt32LittleEndian(h[60..], _codeBytes);
        BinaryPrimitives.WriteInt32LittleEndian(h[64..], _strideBytes);
        BinaryPrimitives.WriteInt64LittleEndian(h[68..], upperInts);
        BinaryPrimitives.WriteInt32LittleEndian(h[76..], ItemIds?.Count ?? -1);
        BinaryPrimitives.WriteInt64LittleEndian(h[80..], ids.Length);
        BinaryPrimitives.WriteInt64LittleEndian(h[88..], floatsOffset);

        AtomicFile.Write(path, stream =>
        {
            var writer = new ChecksummedWriter(stream, header);
            writer.Section(_store.Level0(n, _strideBytes));
            writer.Section(MemoryMarshal.AsBytes(_store.Labels.AsSpan(0, n)));
            writer.Section(MemoryMarshal.AsBytes(levels.AsSpan()));
            writer.Section(MemoryMarshal.AsBytes(upper.AsSpan()));
            writer.Section(MemoryMarshal.AsBytes(_quantizer.Min.AsSpan()));
            writer.Section(MemoryMarshal.AsBytes(_quantizer.Step.AsSpan()));
            writer.Section(ids);
            writer.Padding(floatsOffset - beforeFloats);
            byte* floats = (byte*)_floats.Rows;
            for (long done = 0, total = 4L * n * Dimension; done < total; done += ChecksumSlice)
                writer.Section(new ReadOnlySpan<byte>(floats + done, (int)Math.Min(ChecksumSlice, total - done)));
            writer.Finish();
        }, bufferSize: 1 << 20);
    }

    /// <summary>Loads an index saved by <see cref="Save"/>: the graph and codes into memory (one bulk read of the layer-0
    /// block), the float rows memory-mapped; then checksum (which reads the mapped rows once, into the page cache) and
    /// structure checks (every link in range). Dispose the index to unmap the file.</summary>
    /// <exception cref="DataFormatException">Not a quantized index file, another format version, truncated, corrupted
    /// (checksum), or structurally invalid; the message names the field and byte offset.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static unsafe QuantizedHnswIndex Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        QuantizedHnswIndex index;
        long floatsOffset, floatCount, length;
        FileChecksum checksum;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
        {
            length = file.Length;
            var header = new byte[FileHeaderBytes];
            (int dimension, HnswOptions options, int n, int deleted, int entryId, int entryLevel) =
                HnswIndex.ReadCommonHeader(path, file, header, Magic, FormatVersion, "quantized HNSW index", out int fileVersion);
            ReadOnlySpan<byte> h = header;
            int headerInts = BinaryPrimitives.ReadInt32LittleEndian(h[56..]);
            int codeBytes = BinaryPrimitives.ReadInt32LittleEndian(h[60..]);
            int strideBytes = BinaryPrimitives.ReadInt32LittleEndian(h[64..]);
            long upperInts = BinaryPrimitives.ReadInt64LittleEndian(h[68..]);
            int idCount = BinaryPrimitives.ReadInt32LittleEndian(h[76..]);
            long idsBytes = BinaryPrimitives.ReadInt64LittleEndian(h[80..]);
            floatsOffset = BinaryPrimitives.ReadInt64LittleEndian(h[88..]);
            if (upperInts < 0 || idCount < -1 || idsBytes < 0 || (idCount == -1 && idsBytes != 0))
                throw Bad(path, "section sizes", 68, "negative or inconsistent section sizes");
            if (dimension > MaxDimension) throw Bad(path, "dimension", 12, $"{dimension} is above the int8 index's {MaxDimension}");
            floatCount = (long)n * dimension;
            long level0Bytes = (long)n * strideBytes;
            long restBytes = 8L * n + 4 * upperInts + 8L * dimension + idsBytes;
            long beforeFloats = FileHeaderBytes + level0Bytes + restBytes;
            if (floatsOffset != ((beforeFloats + 63) & ~63L)) throw Bad(path, "float offset", 88, $"{floatsOffset} does not follow the sections");
            long expected = floatsOffset + 4 * floatCount + 8;
            if (length < expected) throw Bad(path, "length", length, $"truncated: the header announces {expected} bytes, the file has {length}");
            if (length > expected) throw Bad(path, "length", expected, $"{length - expected} unexpected bytes after the checksum");
            if (restBytes > Array.MaxLength) throw Bad(path, "section sizes", 68, "sections too large");

            var rest = new byte[restBytes];
            index = new QuantizedHnswIndex(dimension, options, n, deleted, entryId, entryLevel,
                                           new ScalarQuantizer(new float[dimension], new float[dimension]), FloatRows.Map(path, floatsOffset, floatCount), null);
            if (headerInts != index._headerInts || codeBytes != index._codeBytes || strideBytes != index._strideBytes)
            {
                index.Dispose();
                throw Bad(path, "stride", 56, $"layer-0 layout {headerInts} ints / {codeBytes} code bytes / {strideBytes} bytes does not match d = {dimension}, M = {options.M}");
            }
            try
            {
                Span<byte> level0 = index._store.Level0(n, strideBytes);
                file.ReadExactly(level0);
                file.ReadExactly(rest);
                checksum = FileChecksum.ForVersion(fileVersion, HnswIndex.FirstXxh3Version);
                checksum.Append(header);
                checksum.Append(level0);
                int offset = 0;
                ReadOnlySpan<byte> Take(long bytes)
                {
                    ReadOnlySpan<byte> section = rest.AsSpan(offset, (int)bytes);
                    offset += (int)bytes;
                    checksum.Append(section);
                    return section;
                }
                ReadOnlySpan<int> labels = MemoryMarshal.Cast<byte, int>(Take(4L * n));
                ReadOnlySpan<int> levels = MemoryMarshal.Cast<byte, int>(Take(4L * n));
                ReadOnlySpan<int> upper = MemoryMarshal.Cast<byte, int>(Take(4 * upperInts));
                MemoryMarshal.Cast<byte, float>(Take(4L * dimension)).CopyTo(index._quantizer.Min);
                MemoryMarshal.Cast<byte, float>(Take(4L * dimension)).CopyTo(index._quantizer.Step);
                ReadOnlySpan<byte> ids = Take(idsBytes);
                byte* floats = (byte*)index._floats.Rows;
                for (long done = 0, total = 4 * floatCount; done < total; done += ChecksumSlice)
                    checksum.Append(new ReadOnlySpan<byte>(floats + done, (int)Math.Min(ChecksumSlice, total - done)));
                Span<byte> tail = stackalloc byte[8];
                file.Position = length - 8;
                file.ReadExactly(tail);
                if (BinaryPrimitives.ReadUInt64LittleEndian(tail) != checksum.Value) throw Bad(path, "checksum", length - 8, "checksum mismatch: the file is corrupted");
                index.Restore(path, labels, levels, upper);
                if (idCount >= 0) index.ItemIds = HnswIndex.DecodeIds(path, ids, idCount, beforeFloats - idsBytes);
                return index;
            }
            catch
            {
                index.Dispose();
                throw;
            }
        }
    }

    /// <summary>Structure checks of a loaded graph (as <see cref="HnswIndex"/>'s), then labels and upper layers in place.</summary>
    private unsafe void Restore(string path, ReadOnlySpan<int> labels, ReadOnlySpan<int> levels, ReadOnlySpan<int> upper)
    {
        int n = _nodeCount;
        long labelsOffset = FileHeaderBytes + (long)n * _strideBytes;
        int actualDeleted = 0;
        for (int i = 0; i < n; i++)
        {
            byte* node = Node(i);
            int count = *(int*)node;
            long at = FileHeaderBytes + (long)i * _strideBytes;
            if (count < 0 || count > _maxM0) throw Bad(path, "links", at, $"element {i} has {count} layer-0 links (max {_maxM0})");
            foreach (int link in new ReadOnlySpan<int>(node + LinksOffset, count))
                if ((uint)link >= (uint)n) throw Bad(path, "links", at, $"element {i} links to {link}, outside 0…{n - 1}");
            if ((*(int*)(node + 4) & FlagDeleted) != 0) actualDeleted++;
            if (labels[i] < 0) throw Bad(path, "labels", labelsOffset + 4L * i, $"negative label {labels[i]}");
            _store.Labels[i] = labels[i];
        }
        HnswIndex.RestoreUpperLayers(path, _m, _entryLevel, levels, upper, labelsOffset, _store.Upper);
        if (actualDeleted != _deletedCount) throw Bad(path, "deleted", 44, $"header says {_deletedCount} deleted, the flags say {actualDeleted}");
        if (n > 0 && levels[_entryId] != _entryLevel) throw Bad(path, "entry point", 48, "the entry point is not on the top level");
    }

    private static DataFormatException Bad(string path, string field, long offset, string problem) => HnswIndex.Bad(path, field, offset, problem);
}
