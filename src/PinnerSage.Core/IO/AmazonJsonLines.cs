using System.Text;
using System.Text.Json;

namespace PinnerSage.IO;

/// <summary>Per-line parser for Amazon review JSON lines, used by <see cref="ActionsTsvReader"/> when a file's first
/// line is a JSON object. Reads the user, item, time and rating keys of the McAuley releases: 2014/2018
/// (<c>reviewerID</c>, <c>asin</c>, <c>unixReviewTime</c> in seconds, <c>overall</c>) and 2023 (<c>user_id</c>,
/// <c>parent_asin</c> preferred over <c>asin</c>, <c>timestamp</c> in milliseconds, <c>rating</c>); other keys are
/// skipped. Reuses its buffers, so a line costs no allocation once they have grown.</summary>
internal sealed class AmazonJsonLines
{
    public static string[] Names => ["reviewerID", "asin", "unixReviewTime", "action", "overall"];

    private byte[] _utf8 = new byte[1024];

    /// <summary>Unescaped user id, item id and the timestamp's digits, as (start, length) into <see cref="Text"/>.</summary>
    public char[] Text { get; private set; } = new char[256];

    public int[] Start { get; } = new int[3];

    public int[] Length { get; } = new int[3];

    public double Value { get; private set; }

    public bool TimeIsMilliseconds { get; private set; }

    public string UserKey { get; private set; } = "reviewerID";

    public string ItemKey { get; private set; } = "asin";

    public string TimeKey { get; private set; } = "unixReviewTime";

    public void Parse(ReadOnlySpan<char> line, string file, long lineNumber)
    {
        int maxBytes = Encoding.UTF8.GetMaxByteCount(line.Length);
        if (_utf8.Length < maxBytes) _utf8 = new byte[Math.Max(maxBytes, _utf8.Length * 2)];
        if (Text.Length < line.Length + 32) Text = new char[Math.Max(line.Length + 32, Text.Length * 2)];
        int byteCount = Encoding.UTF8.GetBytes(line, _utf8);
        Array.Clear(Start);
        Array.Clear(Length);
        Value = double.NaN;
        TimeIsMilliseconds = false;
        int used = 0;
        bool haveParentAsin = false;
        var reader = new Utf8JsonReader(_utf8.AsSpan(0, byteCount));
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new DataFormatException(file, lineNumber, null, "expected a JSON object per line (Amazon review JSON lines)");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int slot = -1;
                bool isValue = false;
                if (reader.ValueTextEquals("reviewerID"u8) || reader.ValueTextEquals("user_id"u8))
                {
                    slot = 0;
                    UserKey = reader.ValueTextEquals("reviewerID"u8) ? "reviewerID" : "user_id";
                }
                else if (reader.ValueTextEquals("parent_asin"u8))
                {
                    slot = 1;
                    haveParentAsin = true;
                    ItemKey = "parent_asin";
                }
                else if (reader.ValueTextEquals("asin"u8))
                {
                    slot = haveParentAsin ? -1 : 1;
                    if (!haveParentAsin) ItemKey = "asin";
                }
                else if (reader.ValueTextEquals("unixReviewTime"u8))
                {
                    slot = 2;
                    TimeKey = "unixReviewTime";
                    TimeIsMilliseconds = false;
                }
                else if (reader.ValueTextEquals("timestamp"u8))
                {
                    slot = 2;
                    TimeKey = "timestamp";
                    TimeIsMilliseconds = true;
                }
                else if (reader.ValueTextEquals("overall"u8) || reader.ValueTextEquals("rating"u8))
                {
                    isValue = true;
                }
                if (!reader.Read()) break;
                if (slot >= 0)
                {
                    int n = reader.TokenType switch
                    {
                        JsonTokenType.String => reader.CopyString(Text.AsSpan(used)),
                        JsonTokenType.Number => Encoding.UTF8.GetChars(reader.ValueSpan, Text.AsSpan(used)),
                        _ => throw new DataFormatException(file, lineNumber, slot == 0 ? UserKey : slot == 1 ? ItemKey : TimeKey,
                                                           $"expected a string or number, got JSON {reader.TokenType}"),
                    };
                    Start[slot] = used;
                    Length[slot] = n;
                    used += n;
                }
                else if (isValue)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double v))
                        throw new DataFormatException(file, lineNumber, "overall", $"expected a number, got JSON {reader.TokenType}");
                    Value = v;
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException e)
        {
            throw new DataFormatException(file, lineNumber, null, $"invalid JSON: {e.Message}");
        }
    }
}
