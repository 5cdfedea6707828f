using System.Buffers.Binary;
using System.Text;
using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>The binary encoding of one user's clusters in <c>SqliteProfileStore</c> (schema versions 1 and 2, unchanged):
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
/// about a tenth of its JSON line. <see cref="EncodeSelfContained"/> (the PostgreSQL store, our choice: one row per
/// user, no shared items table to swap) prefixes the same layout with the profile's own item table — varint count,
/// then per item varint byte length and UTF-8 bytes — and keys index that table.</summary>
internal static class ProfileBlobCodec
{
    /// <summary>Appends the cluster layout of <paramref name="profile"/> with items mapped by <paramref name="key"/>.</summary>
    public static void Encode(List<byte> buffer, UserProfile profile, Func<string, uint> key)
    {
        WriteVarint(buffer, (uint)profile.Clusters.Count);
        foreach (ProfileCluster c in profile.Clusters)
        {
            WriteVarint(buffer, key(c.Medoid));
            WriteDouble(buffer, c.Importance);
            WriteVarint(buffer, (uint)c.Size);
            WriteVarint(buffer, (uint)c.Members.Count);
            foreach (string m in c.Members) WriteVarint(buffer, key(m));
        }
    }

    /// <summary>Reads the cluster layout at <paramref name="position"/> with item keys resolved by <paramref name="item"/>.</summary>
    public static UserProfile Decode(string userId, ReadOnlySpan<byte> data, ref int position, Func<uint, string> item)
    {
        // Counts are checked against the bytes left before anything is sized by them (each element takes ≥ 1 byte).
        int clusters = ReadCount(userId, data, ref position, "cluster count");
        var result = new ProfileCluster[clusters];
        for (int k = 0; k < clusters; k++)
        {
            string medoid = item(ReadVarint(data, ref position));
            double importance = ReadDouble(data, ref position);
            uint size = ReadVarint(data, ref position);
            if (size > int.MaxValue) throw Corrupt(userId, position, $"cluster size {size} is out of range");
            var members = new string[ReadCount(userId, data, ref position, "member count")];
            for (int j = 0; j < members.Length; j++) members[j] = item(ReadVarint(data, ref position));
            result[k] = new ProfileCluster(medoid, importance, (int)size, members);
        }
        return new UserProfile(userId, result);
    }

    /// <summary>The profile with its own item table in front (see the class remarks).</summary>
    public static byte[] EncodeSelfContained(UserProfile profile, List<byte> buffer, Dictionary<string, uint> scratch)
    {
        buffer.Clear();
        scratch.Clear();
        var order = new List<string>();
        foreach (ProfileCluster c in profile.Clusters)
        {
            if (scratch.TryAdd(c.Medoid, (uint)order.Count)) order.Add(c.Medoid);
            foreach (string m in c.Members)
                if (scratch.TryAdd(m, (uint)order.Count)) order.Add(m);
        }
        WriteVarint(buffer, (uint)order.Count);
        foreach (string id in order)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(id);
            WriteVarint(buffer, (uint)utf8.Length);
            buffer.AddRange(utf8);
        }
        Encode(buffer, profile, id => scratch[id]);
        return buffer.ToArray();
    }

    /// <summary>Reads a blob written by <see cref="EncodeSelfContained"/>.</summary>
    public static UserProfile DecodeSelfContained(string userId, ReadOnlySpan<byte> data)
    {
        int p = 0;
        var items = new string[ReadCount(userId, data, ref p, "item count")];
        for (int i = 0; i < items.Length; i++)
        {
            int length = (int)ReadVarint(data, ref p);
            if (length < 0 || length > data.Length - p) throw Corrupt(userId, p, $"item id length {length} exceeds the blob");
            items[i] = Encoding.UTF8.GetString(data.Slice(p, length));
            p += length;
        }
        return Decode(userId, data, ref p, k => k < items.Length
            ? items[k]
            : throw Corrupt(userId, p, $"item key {k} is not among the blob's {items.Length} items"));
    }

    /// <summary>A count of elements that take at least one byte each, checked against the bytes left.</summary>
    private static int ReadCount(string userId, ReadOnlySpan<byte> data, ref int position, string what)
    {
        int at = position;
        uint count = ReadVarint(data, ref position);
        if (count > (uint)(data.Length - position))
            throw Corrupt(userId, at, $"{what} {count} exceeds the {data.Length - position} bytes left");
        return (int)count;
    }

    private static InvalidDataException Corrupt(string userId, int offset, string problem) =>
        new($"profile of '{userId}': corrupt profile blob at byte {offset}: {problem}.");

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
