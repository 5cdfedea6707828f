using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>The JSON-lines form of a profile, one line per user, exactly
/// <c>{"user_id": "u", "clusters": [{"medoid": "i", "importance": 1.23, "size": 4, "members": ["i", "j"]}]}</c>
/// followed by '\n': keys in this order, one space after ':' and ',', importance in the shortest round-trip form
/// (.NET "R": <c>double.Parse</c> gives back the same bits), strings UTF-8 with only '"', '\\' and control characters
/// escaped. The bytes are a pure function of the profile (our choice: deterministic, diff-able exports).</summary>
public static class ProfileJson
{
    private static ReadOnlySpan<byte> UserIdKey => "{\"user_id\": "u8;
    private static ReadOnlySpan<byte> ClustersKey => ", \"clusters\": ["u8;
    private static ReadOnlySpan<byte> MedoidKey => "{\"medoid\": "u8;
    private static ReadOnlySpan<byte> ImportanceKey => ", \"importance\": "u8;
    private static ReadOnlySpan<byte> SizeKey => ", \"size\": "u8;
    private static ReadOnlySpan<byte> MembersKey => ", \"members\": ["u8;

    /// <summary>Appends the line (with its trailing '\n') to <paramref name="writer"/>.</summary>
    public static void WriteLine(IBufferWriter<byte> writer, UserProfile profile)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(profile);
        Write(writer, UserIdKey);
        WriteString(writer, profile.UserId);
        Write(writer, ClustersKey);
        for (int k = 0; k < profile.Clusters.Count; k++)
        {
            ProfileCluster c = profile.Clusters[k];
            if (k > 0) Write(writer, ", "u8);
            Write(writer, MedoidKey);
            WriteString(writer, c.Medoid);
            Write(writer, ImportanceKey);
            WriteDouble(writer, c.Importance);
            Write(writer, SizeKey);
            Span<byte> span = writer.GetSpan(11);
            Utf8Formatter.TryFormat(c.Size, span, out int written);
            writer.Advance(written);
            Write(writer, MembersKey);
            for (int j = 0; j < c.Members.Count; j++)
            {
                if (j > 0) Write(writer, ", "u8);
                WriteString(writer, c.Members[j]);
            }
            Write(writer, "]}"u8);
        }
        Write(writer, "]}\n"u8);
    }

    /// <summary>The line as a string (without the trailing newline); convenient for tests and small outputs.</summary>
    public static string ToLine(UserProfile profile)
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteLine(buffer, profile);
        return Encoding.UTF8.GetString(buffer.WrittenSpan[..^1]);
    }

    private static void WriteDouble(IBufferWriter<byte> writer, double value)
    {
        if (!double.IsFinite(value))
            throw new ArgumentException($"importance must be finite to be written as JSON, got {value}.", nameof(value));
        Span<byte> span = writer.GetSpan(32);
        value.TryFormat(span, out int written, "R", CultureInfo.InvariantCulture);
        writer.Advance(written);
    }

    private static void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
    }

    private static void WriteString(IBufferWriter<byte> writer, string s)
    {
        // Worst case: every char a \u00XX escape (6 bytes) or 3 UTF-8 bytes; quotes add 2.
        Span<byte> span = writer.GetSpan(s.Length * 6 + 2);
        int p = 0;
        span[p++] = (byte)'"';
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char ch = s[i];
            if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
            p += Encoding.UTF8.GetBytes(s.AsSpan(start, i - start), span[p..]);
            span[p++] = (byte)'\\';
            switch (ch)
            {
                case '"': span[p++] = (byte)'"'; break;
                case '\\': span[p++] = (byte)'\\'; break;
                case '\n': span[p++] = (byte)'n'; break;
                case '\r': span[p++] = (byte)'r'; break;
                case '\t': span[p++] = (byte)'t'; break;
                default:
                    span[p++] = (byte)'u';
                    span[p++] = (byte)'0';
                    span[p++] = (byte)'0';
                    span[p++] = (byte)"0123456789abcdef"[ch >> 4];
                    span[p++] = (byte)"0123456789abcdef"[ch & 0xF];
                    break;
            }
            start = i + 1;
        }
        p += Encoding.UTF8.GetBytes(s.AsSpan(start), span[p..]);
        span[p++] = (byte)'"';
        writer.Advance(p);
    }
}
