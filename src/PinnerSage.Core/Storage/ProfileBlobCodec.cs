using System.Buffers.Binary;

namespace PinnerSage.Storage;

/// <summary>The binary encoding of one user's clusters in <see cref="SqliteProfileStore"/> (schema version 1):
/// <code>
/// varint clusterCount
/// per cluster, most important first:
///   varint medoid        (key into the items table)
///   float64 importance   (8 bytes, little-endian IEEE 754: exact round trip)
///   varint size          (actions)
///   varint memberCount
///   memberCount × varint member (keys into the items table, in the profile's member order)
/// </code>
/// varint = unsigned LEB128 (7 bits per byte, low first). A typical user (5 clusters, 60 items) takes ~150 bytes,
/// about a tenth of its JSON line.</summary>
internal static class ProfileBlobCodec
{
    public static void WriteVarint(List<byte> buffer, uint value)
    {
        while (value >= 0x80)
        {
            buffer.Add((byte)(value | 0x80));
            value >>= 7;
        }
        buffer.Add((byte)value);
    }

    public static void WriteDouble(List<byte> buffer, double value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(b, value);
        foreach (byte x in b) buffer.Add(x);
    }

    public static uint ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        uint value = 0;
        int shift = 0;
        while (true)
        {
            if (position >= data.Length || shift > 28) throw new InvalidDataException("corrupt profile blob (varint).");
            byte b = data[position++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80) return value;
            shift += 7;
        }
    }

    public static double ReadDouble(ReadOnlySpan<byte> data, ref int position)
    {
        if (position + 8 > data.Length) throw new InvalidDataException("corrupt profile blob (float64).");
        double v = BinaryPrimitives.ReadDoubleLittleEndian(data.Slice(position, 8));
        position += 8;
        return v;
    }
}
