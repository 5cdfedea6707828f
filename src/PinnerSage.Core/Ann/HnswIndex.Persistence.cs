using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using PinnerSage.IO;
using PinnerSage.Numerics;

namespace PinnerSage.Ann;

public sealed partial class HnswIndex
{
    /// <summary>Current file format version. <see cref="Load"/> also reads version 1, whose checksum is the legacy
    /// <see cref="Checksum64"/> fold (version 2 changed only the checksum, to XXH3-64).</summary>
    public const int FormatVersion = 2;

    /// <summary>The first version of both index formats whose checksum is XXH3-64 (<see cref="FileChecksum"/>).</summary>
    internal const int FirstXxh3Version = 2;

    private const int FileHeaderBytes = 128;
    private static ReadOnlySpan<byte> Magic => "PSHNSW\r\n"u8;

    /// <summary>Saves the index as one file (written to a temp file, then renamed over <paramref name="path"/>).</summary>
    /// <remarks>Layout, little-endian: a 128-byte header (magic "PSHNSW\r\n", format version, dimension, metric, M,
    /// efConstruction, ef, seed, element and deleted counts, entry point and level, layer-0 header ints and stride,
    /// upper-layer int count, duplicate count, item-id count (−1: none) and bytes); then the sections: the layer-0 block
    /// exactly as in memory (tombstones are its flag words), labels, levels, upper-layer lists, (dropped label,
    /// representative) pairs, item ids (int32 byte length + UTF-8 each); then the XXH3-64 of everything before it
    /// (<see cref="FileChecksum"/>). Inserts wait while it saves; searches do not.</remarks>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _growLock.EnterWriteLock();
        try
        {
            NodeStore s = _store;
            int n = _nodeCount;
            EntryPoint? entry = _entry;
            (int[] levels, int[] upper) = FlattenUpperLayers(s.Upper, n, _m);
            long upperInts = upper.Length;
            int[] duplicates;
            lock (_labelLock)
            {
                duplicates = new int[_duplicateOf.Count * 2];
                int j = 0;
                foreach ((int dropped, int representative) in _duplicateOf.OrderBy(p => p.Key))
                {
                    duplicates[j++] = dropped;
                    duplicates[j++] = representative;
                }
            }
            byte[] ids = EncodeIds(_itemIds);

            var header = new byte[FileHeaderBytes];
            Span<byte> h = header;
            WriteCommonHeader(h, Magic, FormatVersion, new CommonHeader(Dimension, _options, n, _deletedCount, entry?.Id ?? -1, entry?.Level ?? -1));
            BinaryPrimitives.WriteInt32LittleEndian(h[56..], _headerInts);
            BinaryPrimitives.WriteInt32LittleEndian(h[60..], _strideBytes);
            BinaryPrimitives.WriteInt64LittleEndian(h[64..], upperInts);
            BinaryPrimitives.WriteInt32LittleEndian(h[72..], duplicates.Length / 2);
            BinaryPrimitives.WriteInt32LittleEndian(h[76..], _itemIds?.Count ?? -1);
            BinaryPrimitives.WriteInt64LittleEndian(h[80..], ids.Length);

            AtomicFile.Write(path, stream =>
            {
                var writer = new ChecksummedWriter(stream, header);
                writer.Section(s.Level0(n, _strideBytes));
                writer.Section(MemoryMarshal.AsBytes(s.Labels.AsSpan(0, n)));
                writer.Section(MemoryMarshal.AsBytes(levels.AsSpan()));
                writer.Section(MemoryMarshal.AsBytes(upper.AsSpan()));
                writer.Section(MemoryMarshal.AsBytes(duplicates.AsSpan()));
                writer.Section(ids);
                writer.Finish();
            }, bufferSize: 1 << 20);
            GC.KeepAlive(s);
        }
        finally { _growLock.ExitWriteLock(); }
    }

    /// <summary>Loads an index saved by <see cref="Save"/>: one bulk read of the layer-0 block straight into its final
    /// memory, one read of the rest, then checksum and structure checks (every link in range).</summary>
    /// <exception cref="DataFormatException">Not an index file, another format version, truncated, corrupted (checksum),
    /// or structurally invalid; the message names the field and byte offset.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static HnswIndex Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long length = file.Length;
        var header = new byte[FileHeaderBytes];
        (int dimension, HnswOptions options, int n, int deleted, int entryId, int entryLevel) =
            ReadCommonHeader(path, file, header, Magic, FormatVersion, "HNSW index", out int fileVersion);
        ReadOnlySpan<byte> h = header;
        int headerInts = BinaryPrimitives.ReadInt32LittleEndian(h[56..]);
        int strideBytes = BinaryPrimitives.ReadInt32LittleEndian(h[60..]);
        long upperInts = BinaryPrimitives.ReadInt64LittleEndian(h[64..]);
        int duplicateCount = BinaryPrimitives.ReadInt32LittleEndian(h[72..]);
        int idCount = BinaryPrimitives.ReadInt32LittleEndian(h[76..]);
        long idsBytes = BinaryPrimitives.ReadInt64LittleEndian(h[80..]);

        if (headerInts <= 0 || strideBytes <= 0) throw Bad(path, "stride", 56, $"layer-0 layout {headerInts} ints / {strideBytes} bytes");
        if (upperInts < 0 || duplicateCount < 0 || idCount < -1 || idsBytes < 0 || (idCount == -1 && idsBytes != 0))
            throw Bad(path, "section sizes", 64, "negative or inconsistent section sizes");

        if (upperInts > length || duplicateCount > length || idsBytes > length || (idCount > 0 && idCount > idsBytes / 4))
            throw Bad(path, "section sizes", 64, $"section sizes exceed the file's {length} bytes (truncated or corrupted)");
        long level0Bytes = (long)n * strideBytes;
        long restBytes = 8L * n + 4 * upperInts + 8L * duplicateCount + idsBytes;
        long expected = FileHeaderBytes + level0Bytes + restBytes + 8;
        if (length < expected) throw Bad(path, "length", length, $"truncated: the header announces {expected} bytes, the file has {length}");
        if (length > expected) throw Bad(path, "length", expected, $"{length - expected} unexpected bytes after the checksum");
        if (restBytes > Array.MaxLength) throw Bad(path, "section sizes", 64, "sections too large");

        // Only now, with every size checked against the file's length, is memory sized by the header.
        var index = new HnswIndex(dimension, options, Math.Max(n, 16));
        if (headerInts != index._headerInts || strideBytes != index._strideBytes)
            throw Bad(path, "stride", 56, $"layer-0 layout {headerInts} ints / {strideBytes} bytes does not match d = {dimension}, M = {options.M}");

        NodeStore s = index._store;
        Span<byte> level0 = s.Level0(n, strideBytes);
        file.ReadExactly(level0);
        var rest = new byte[restBytes + 8];
        file.ReadExactly(rest);

        FileChecksum checksum = FileChecksum.ForVersion(fileVersion, FirstXxh3Version);
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
        ReadOnlySpan<int> duplicates = MemoryMarshal.Cast<byte, int>(Take(8L * duplicateCount));
        ReadOnlySpan<byte> ids = Take(idsBytes);
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(rest.AsSpan(offset));
        if (stored != checksum.Value) throw Bad(path, "checksum", length - 8, "checksum mismatch: the file is corrupted");

        index.Restore(path, n, deleted, entryId, entryLevel, labels, levels, upper, duplicates);
        if (idCount >= 0) index._itemIds = DecodeIds(path, ids, idCount, FileHeaderBytes + level0Bytes + restBytes - idsBytes);
        return index;
    }

    private void Restore(string path, int n, int deleted, int entryId, int entryLevel, ReadOnlySpan<int> labels,
                         ReadOnlySpan<int> levels, ReadOnlySpan<int> upper, ReadOnlySpan<int> duplicates)
    {
        NodeStore s = _store;
        long labelsOffset = FileHeaderBytes + (long)n * _strideBytes;
        int actualDeleted = 0;
        for (int i = 0; i < n; i++)
        {
            int count = Header(s, i, 0);
            if (count < 0 || count > _maxM0) throw Bad(path, "links", FileHeaderBytes + (long)i * _strideBytes, $"element {i} has {count} layer-0 links (max {_maxM0})");
            ReadOnlySpan<int> links = LinkList(s, i, 0).Slice(2, count);
            foreach (int link in links)
                if ((uint)link >= (uint)n) throw Bad(path, "links", FileHeaderBytes + (long)i * _strideBytes, $"element {i} links to {link}, outside 0…{n - 1}");
            if ((Header(s, i, 1) & FlagDeleted) != 0) actualDeleted++;
            if (labels[i] < 0) throw Bad(path, "labels", labelsOffset + 4L * i, $"negative label {labels[i]}");
            s.Labels[i] = labels[i];
        }
        RestoreUpperLayers(path, _m, entryLevel, levels, upper, labelsOffset, s.Upper);
        if (actualDeleted != deleted) throw Bad(path, "deleted", 44, $"header says {deleted} deleted, the flags say {actualDeleted}");
        if (n > 0 && levels[entryId] != entryLevel) throw Bad(path, "entry point", 48, "the entry point is not on the top level");
        for (int i = 0; i < n; i++)
            if ((Header(s, i, 1) & FlagDeleted) == 0 || !_labelToId.ContainsKey(labels[i])) _labelToId[labels[i]] = i;
        for (int j = 0; j < duplicates.Length; j += 2) _duplicateOf[duplicates[j]] = duplicates[j + 1];
        _nodeCount = n;
        _deletedCount = deleted;
        _entry = n > 0 ? new EntryPoint(entryId, entryLevel) : null;
    }

    /// <summary>Each element's level and the concatenation of the upper-layer lists of elements 0…n−1, as both file
    /// formats store them.</summary>
    internal static (int[] Levels, int[] Upper) FlattenUpperLayers(int[]?[] lists, int n, int m)
    {
        var levels = new int[n];
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            levels[i] = lists[i] is { } u ? u.Length / (m + 1) : 0;
            total += lists[i]?.Length ?? 0;
        }
        var upper = new int[total];
        long at = 0;
        for (int i = 0; i < n; i++)
            if (lists[i] is { } u)
            {
                u.CopyTo(upper, at);
                at += u.Length;
            }
        return (levels, upper);
    }

    /// <summary>The header fields both index formats share (bytes 8…55 after the 8-byte magic).</summary>
    internal readonly record struct CommonHeader(int Dimension, HnswOptions Options, int Count, int Deleted, int EntryId, int EntryLevel);

    internal static void WriteCommonHeader(Span<byte> h, ReadOnlySpan<byte> magic, int version, CommonHeader c)
    {
        magic.CopyTo(h);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], version);
        BinaryPrimitives.WriteInt32LittleEndian(h[12..], c.Dimension);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], (int)c.Options.Metric);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], c.Options.M);
        BinaryPrimitives.WriteInt32LittleEndian(h[24..], c.Options.EfConstruction);
        BinaryPrimitives.WriteInt32LittleEndian(h[28..], c.Options.Ef);
        BinaryPrimitives.WriteInt64LittleEndian(h[32..], c.Options.Seed);
        BinaryPrimitives.WriteInt32LittleEndian(h[40..], c.Count);
        BinaryPrimitives.WriteInt32LittleEndian(h[44..], c.Deleted);
        BinaryPrimitives.WriteInt32LittleEndian(h[48..], c.EntryId);
        BinaryPrimitives.WriteInt32LittleEndian(h[52..], c.EntryLevel);
    }

    /// <summary>Reads the whole header into <paramref name="header"/> and checks magic, version (1…<paramref name="version"/>)
    /// and the shared fields.</summary>
    internal static CommonHeader ReadCommonHeader(string path, FileStream file, byte[] header, ReadOnlySpan<byte> magic, int version, string kind,
                                                  out int fileVersion)
    {
        long length = file.Length;
        if (length < header.Length + 8) throw Bad(path, "header", 0, $"file is {length} bytes, shorter than the {header.Length + 8}-byte minimum (truncated or not an index)");
        file.ReadExactly(header);
        ReadOnlySpan<byte> h = header;
        if (!h[..8].SequenceEqual(magic)) throw Bad(path, "magic", 0, $"not a PinnerSage {kind} file");
        fileVersion = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
        if (fileVersion < 1 || fileVersion > version) throw Bad(path, "version", 8, $"format version {fileVersion}; this build reads versions 1…{version}");
        int dimension = BinaryPrimitives.ReadInt32LittleEndian(h[12..]);
        int metric = BinaryPrimitives.ReadInt32LittleEndian(h[16..]);
        int m = BinaryPrimitives.ReadInt32LittleEndian(h[20..]);
        int efConstruction = BinaryPrimitives.ReadInt32LittleEndian(h[24..]);
        int ef = BinaryPrimitives.ReadInt32LittleEndian(h[28..]);
        long seed = BinaryPrimitives.ReadInt64LittleEndian(h[32..]);
        int n = BinaryPrimitives.ReadInt32LittleEndian(h[40..]);
        int deleted = BinaryPrimitives.ReadInt32LittleEndian(h[44..]);
        int entryId = BinaryPrimitives.ReadInt32LittleEndian(h[48..]);
        int entryLevel = BinaryPrimitives.ReadInt32LittleEndian(h[52..]);
        if (dimension < 1 || dimension > 1 << 20) throw Bad(path, "dimension", 12, $"{dimension} is out of range");
        if (!Enum.IsDefined((VectorMetric)metric)) throw Bad(path, "metric", 16, $"unknown metric {metric}");
        if (m < 2 || m > 256) throw Bad(path, "M", 20, $"{m} is out of range 2…256");
        if (efConstruction < 1 || efConstruction > 100_000) throw Bad(path, "efConstruction", 24, $"{efConstruction} is out of range");
        if (ef < 1 || ef > 100_000) throw Bad(path, "ef", 28, $"{ef} is out of range");
        if (n < 0) throw Bad(path, "count", 40, $"{n} elements");
        if (deleted < 0 || deleted > n) throw Bad(path, "deleted", 44, $"{deleted} deleted of {n}");
        if (n > 0 && (entryId < 0 || entryId >= n || entryLevel < 0 || entryLevel > MaxLevelCap))
            throw Bad(path, "entry point", 48, $"element {entryId} at level {entryLevel} is out of range");
        var options = new HnswOptions { M = m, EfConstruction = efConstruction, Ef = ef, Seed = seed, Metric = (VectorMetric)metric };
        return new CommonHeader(dimension, options, n, deleted, entryId, entryLevel);
    }

    /// <summary>Checks the loaded levels and upper-layer lists (counts ≤ M, every link to an element that reaches that
    /// layer, the entry point on the top level) and stores each element's lists in <paramref name="destination"/>.</summary>
    internal static void RestoreUpperLayers(string path, int m, int entryLevel, ReadOnlySpan<int> levels, ReadOnlySpan<int> upper,
                                            long labelsOffset, int[]?[] destination)
    {
        int n = levels.Length;
        long upperAt = 0;
        for (int i = 0; i < n; i++)
        {
            int level = levels[i];
            if (level < 0 || level > entryLevel) throw Bad(path, "levels", labelsOffset + 4L * (n + i), $"element {i} has level {level} (top {entryLevel})");
            if (level == 0) continue;
            int size = level * (m + 1);
            if (upperAt + size > upper.Length) throw Bad(path, "upper layers", labelsOffset + 8L * n, "fewer upper-layer links than the levels need");
            int[] lists = upper.Slice((int)upperAt, size).ToArray();
            for (int layer = 0; layer < level; layer++)
            {
                int c = lists[layer * (m + 1)];
                if (c < 0 || c > m) throw Bad(path, "upper layers", labelsOffset + 8L * n + 4 * upperAt, $"element {i} has {c} links on layer {layer + 1}");
                for (int j = 1; j <= c; j++)
                {
                    int link = lists[layer * (m + 1) + j];
                    if ((uint)link >= (uint)n || levels[link] <= layer)
                        throw Bad(path, "upper layers", labelsOffset + 8L * n + 4 * upperAt, $"element {i} links to {link} on layer {layer + 1}, which it does not reach");
                }
            }
            destination[i] = lists;
            upperAt += size;
        }
        if (upperAt != upper.Length) throw Bad(path, "upper layers", labelsOffset + 8L * n, "more upper-layer links than the levels need");
    }

    internal static byte[] EncodeIds(IReadOnlyList<string>? ids)
    {
        if (ids is null) return [];
        using var buffer = new MemoryStream();
        Span<byte> prefix = stackalloc byte[4];
        foreach (string id in ids)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(id);
            BinaryPrimitives.WriteInt32LittleEndian(prefix, utf8.Length);
            buffer.Write(prefix);
            buffer.Write(utf8);
        }
        return buffer.ToArray();
    }

    internal static string[] DecodeIds(string path, ReadOnlySpan<byte> bytes, int count, long fileOffset)
    {
        var ids = new string[count];
        int at = 0;
        for (int i = 0; i < count; i++)
        {
            if (at + 4 > bytes.Length) throw Bad(path, "ids", fileOffset + at, $"item ids end after {i} of {count}");
            int len = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
            at += 4;
            if (len < 0 || len > bytes.Length - at) throw Bad(path, "ids", fileOffset + at, $"item id {i} has bad length {len}");
            ids[i] = Encoding.UTF8.GetString(bytes.Slice(at, len));
            at += len;
        }
        if (at != bytes.Length) throw Bad(path, "ids", fileOffset + at, "bytes left after the item ids");
        return ids;
    }

    internal static DataFormatException Bad(string path, string field, long offset, string problem) =>
        new(path, 0, field, $"at byte {offset}: {problem}");
}
