using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PinnerSage.IO;
using PinnerSage.Numerics;

namespace PinnerSage.ItemSage.Model;

/// <summary>Creates, saves and loads ItemSage product towers.</summary>
/// <remarks>File format (little-endian): magic "ISAGETWR", int32 version (3), int32 kind (0 transformer,
/// 1 MLP-concat), the options as fixed fields (12 int32, an int32 of flags — bit 0 = one projection per vector set,
/// 0 in files written before it existed, which therefore load unchanged —, 1 float32, 1 uint64), int64 parameter count, the parameters
/// as float32, and the uint64 XXH3-64 of the header and the parameters (<see cref="FileChecksum"/>, as the HNSW files).
/// Version 2 differs only in its checksum (the legacy <see cref="Checksum64"/> fold) and is still read; version 1
/// (FNV-1a) is not. Written atomically (temp file + rename).</remarks>
internal static class ItemSageTower
{
    internal const int TransformerKind = 0;
    internal const int MlpConcatKind = 1;
    private const int Version = 3;
    private const int FirstXxh3Version = 3;
    private const int PerVectorSetFlag = 1;
    private static ReadOnlySpan<byte> Magic => "ISAGETWR"u8;

    /// <summary>A fresh tower of the given kind: the paper's transformer or the MLP-over-concatenated-features baseline.</summary>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="ItemSageModelOptions.Validate"/>).</exception>
    public static IItemTower Create(ItemSageTowerKind kind, ItemSageModelOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return kind switch
        {
            ItemSageTowerKind.Transformer => new ItemSageTransformer(o),
            ItemSageTowerKind.MlpConcat => new MlpConcatTower(o),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown tower kind"),
        };
    }

    /// <summary>The kind of a tower (for the facade, which does not expose towers).</summary>
    public static ItemSageTowerKind KindOf(IItemTower tower) =>
        tower is MlpConcatTower ? ItemSageTowerKind.MlpConcat : ItemSageTowerKind.Transformer;

    /// <summary>Reads a tower written by <see cref="IItemTower.Save"/> (threads: the machine's processor count until the
    /// caller sets <see cref="IItemTower.Threads"/>).</summary>
    /// <exception cref="DataFormatException">The file is not a tower file, is truncated, of another version, or
    /// fails its checksum.</exception>
    public static IItemTower Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts are not supported");
        byte[] bytes = File.ReadAllBytes(path);
        const int header = 8 + 4 + 4 + 13 * 4 + 4 + 8 + 8;
        if (bytes.Length < header + 8 || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
            throw new DataFormatException(path, 0, null, "not an ItemSage model file");
        var r = new Reader(bytes, 8);
        int version = r.Int();
        if (version is < FirstXxh3Version - 1 or > Version)
            throw new DataFormatException(path, 0, "version", $"unsupported model version {version} (expected {FirstXxh3Version - 1}…{Version})");
        int kind = r.Int();
        if (kind is not (TransformerKind or MlpConcatKind)) throw new DataFormatException(path, 0, "kind", $"unknown tower kind {kind}");
        var o = new ItemSageModelOptions
        {
            VocabularySize = r.Int(), TextFields = r.Int(), ImageDim = r.Int(), MaxImages = r.Int(), HashRows = r.Int(),
            HashDim = r.Int(), DModel = r.Int(), Heads = r.Int(), Layers = r.Int(), FfnDim = r.Int(),
            HeadHidden = r.Int(), OutputDim = r.Int(),
        };
        int flags = r.Int();
        o = o with { Dropout = r.Float(), Seed = r.ULong(), ProjectionPerVectorSet = (flags & PerVectorSetFlag) != 0 };
        long count = r.Long();
        if ((flags & ~PerVectorSetFlag) != 0 || count < 0 || bytes.Length != header + count * 4 + 8)
            throw new DataFormatException(path, 0, null, "truncated or inconsistent model file");
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8));
        if (stored != Checksum(FileChecksum.ForVersion(version, FirstXxh3Version), bytes.AsSpan(0, header), bytes.AsSpan(header, (int)(count * 4))))
            throw new DataFormatException(path, 0, null, "checksum mismatch (file corrupted)");
        IItemTower tower;
        try
        {
            tower = kind == TransformerKind ? new ItemSageTransformer(o) : new MlpConcatTower(o);
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException(path, 0, "options", e.Message);
        }
        if (tower.Parameters.Length != count)
            throw new DataFormatException(path, 0, null, $"{count} parameters, the options imply {tower.Parameters.Length}");
        MemoryMarshal.Cast<byte, float>(bytes.AsSpan(header, (int)(count * 4))).CopyTo(tower.Parameters);
        return tower;
    }

    internal static void Save(string path, int kind, ItemSageModelOptions o, float[] parameters)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, stream =>
        {
            var head = new List<byte>(128);
            head.AddRange(Magic.ToArray());
            void Int(int v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); head.AddRange(b.ToArray()); }
            Int(Version);
            Int(kind);
            foreach (int v in (int[])[o.VocabularySize, o.TextFields, o.ImageDim, o.MaxImages, o.HashRows, o.HashDim,
                                      o.DModel, o.Heads, o.Layers, o.FfnDim, o.HeadHidden, o.OutputDim,
                                      o.ProjectionPerVectorSet ? PerVectorSetFlag : 0])
                Int(v);
            Int(BitConverter.SingleToInt32Bits(o.Dropout));
            byte[] tail = new byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(tail, o.Seed);
            BinaryPrimitives.WriteInt64LittleEndian(tail.AsSpan(8), parameters.Length);
            head.AddRange(tail);
            byte[] h = [.. head];
            ReadOnlySpan<byte> body = MemoryMarshal.AsBytes(parameters.AsSpan());
            stream.Write(h);
            stream.Write(body);
            byte[] sum = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(sum, Checksum(FileChecksum.Current(), h, body));
            stream.Write(sum);
        });
    }

    internal static void ZeroGradients(ParameterStore store, SparseRowSet touched)
    {
        float[] g = store.Gradients;
        int start = 0;
        foreach ((int offset, int length) in store.Sparse)
        {
            g.AsSpan(start, offset - start).Clear();
            start = offset + length;
        }
        g.AsSpan(start).Clear();
        foreach (SparseTable t in touched.Tables)
        {
            foreach (int row in t.TouchedRows) g.AsSpan(t.Offset + row * t.RowLength, t.RowLength).Clear();
        }
        touched.Clear();
    }

    private static ulong Checksum(FileChecksum checksum, ReadOnlySpan<byte> header, ReadOnlySpan<byte> parameters)
    {
        checksum.Append(header);
        checksum.Append(parameters);
        return checksum.Value;
    }

    private ref struct Reader(byte[] bytes, int position)
    {
        private int _p = position;

        public int Int()
        {
            int v = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(_p));
            _p += 4;
            return v;
        }

        public float Float() => BitConverter.Int32BitsToSingle(Int());

        public ulong ULong()
        {
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(_p));
            _p += 8;
            return v;
        }

        public long Long() => (long)ULong();
    }
}
