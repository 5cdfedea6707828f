using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
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

    /// <summary>Reads one line written by <see cref="WriteLine"/> (with or without its '\n'). Strict: the keys in
    /// their order, the types, no extra keys, a finite importance, a size ≥ 1; anything else throws.</summary>
    /// <exception cref="FormatException">The line is not a profile in this form; the message names the key.</exception>
    public static UserProfile Parse(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        try
        {
            Expect(ref reader, JsonTokenType.StartObject, "the line");
            string user = Property(ref reader, "user_id", JsonTokenType.String).GetString()!;
            Property(ref reader, "clusters", JsonTokenType.StartArray);
            var clusters = new List<ProfileCluster>();
            while (Next(ref reader, "clusters") != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject) throw new FormatException("clusters: expected an object.");
                string medoid = Property(ref reader, "medoid", JsonTokenType.String).GetString()!;
                double importance = Property(ref reader, "importance", JsonTokenType.Number).GetDouble();
                if (!double.IsFinite(importance)) throw new FormatException("importance: expected a finite number.");
                if (!Property(ref reader, "size", JsonTokenType.Number).TryGetInt32(out int size) || size < 1)
                    throw new FormatException("size: expected an integer ≥ 1.");
                Property(ref reader, "members", JsonTokenType.StartArray);
                var members = new List<string>();
                while (Next(ref reader, "members") != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String) throw new FormatException("members: expected strings.");
                    members.Add(reader.GetString()!);
                }
                Expect(ref reader, JsonTokenType.EndObject, "a cluster's end");
                clusters.Add(new ProfileCluster(medoid, importance, size, members));
            }
            Expect(ref reader, JsonTokenType.EndObject, "the line's end");
            if (reader.Read()) throw new FormatException("more after the profile object.");
            return new UserProfile(user, clusters);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not valid JSON ({e.Message})", e);
        }
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader, string what) =>
        reader.Read() ? reader.TokenType : throw new FormatException($"{what}: the line ends early.");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (Next(ref reader, what) != type) throw new FormatException($"{what}: expected {type}, found {reader.TokenType}.");
    }

    private static ref Utf8JsonReader Property(ref Utf8JsonReader reader, string name, JsonTokenType type)
    {
        if (Next(ref reader, name) != JsonTokenType.PropertyName || !reader.ValueTextEquals(name))
            throw new FormatException($"expected the key \"{name}\" here.");
        if (Next(ref reader, name) != type) throw new FormatException($"{name}: expected {type}, found {reader.TokenType}.");
        return ref reader;
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
