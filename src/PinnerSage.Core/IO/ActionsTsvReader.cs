using System.Globalization;
using System.IO.Compression;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace PinnerSage.IO;

/// <summary>Streams <c>actions.tsv</c> (<c>user_id TAB item_id TAB timestamp TAB action [TAB value]</c>, header line
/// first) without allocating per line. After <see cref="MoveNext"/> returns true the current line's fields are exposed
/// as spans valid until the next call. Also reads, recognised by their first line, MovieLens <c>ratings.csv</c>
/// (<c>userId,movieId,rating,timestamp</c>: action "rating", the rating as value) and Amazon review JSON lines
/// (action "review", the star rating as value; see <see cref="IsAmazonJson"/>).</summary>
/// <remarks>
/// Decoding: UTF-8 via a <see cref="StreamReader"/> with a large buffer (a BOM is skipped), into a reusable char
/// buffer; one vectorised pass per line finds the tabs and the line end (see <c>ScanLine</c>), so the per-line cost is
/// that scan and the number parses (≈ 13–17 M lines/s for amazon-beauty-like lines on one core, about 3× a
/// <c>ReadLine</c> + <c>Split</c> loop). Paths ending in <c>.gz</c> are decompressed on the fly. After a
/// <see cref="DataFormatException"/> the reader is positioned after the bad line; callers normally stop.
/// Rules (our choices):
/// <list type="bullet">
/// <item>Blank lines (also <c>"\r"</c>) are skipped but counted, so reported line numbers match an editor's.</item>
/// <item><c>\r\n</c> line ends and a missing final newline are accepted.</item>
/// <item>A line needs at least user, item and timestamp; the action and value columns may be missing or empty at the
/// end of a line (action empty, value NaN). A line with more fields than the header is an error; without a header,
/// fields after the fifth are ignored (Hadoop-streaming lines may carry extras).</item>
/// <item>Timestamps are integer Unix seconds in [0, 4102444800] (1970 … 2100-01-01); larger values below
/// 4102444800000 are reported as probably milliseconds.</item>
/// <item>Invalid UTF-8 is replaced with U+FFFD rather than rejected.</item>
/// </list></remarks>
public sealed class ActionsTsvReader : IDisposable, PinnerSage.Batch.IActionCursor
{
    /// <summary>Largest accepted timestamp: 2100-01-01T00:00:00Z.</summary>
    public const long MaxTimestamp = 4_102_444_800;

    /// <summary>2000-01-01 in milliseconds: the smallest value worth the hint "looks like milliseconds".</summary>
    private const long MinMillisecondsHint = 946_684_800_000;

    private static readonly string[] DefaultNames = ["user_id", "item_id", "timestamp", "action", "value"];
    private const int InitialBufferChars = 1 << 16;

    private readonly TextReader _reader;
    private readonly bool _ownsReader;
    private readonly bool _hasHeader;
    private char[] _buffer = new char[InitialBufferChars];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _started;
    private long _lineNumber;

    // Layout, fixed after the header: separator, column positions (−1 = absent), column count (max fields per line).
    private char _separator = '\t';
    private string[] _names = DefaultNames;
    private int _userCol = 0, _itemCol = 1, _timeCol = 2, _actionCol = 3, _valueCol = 4;
    private int _columnCount = DefaultNames.Length;
    private bool _strictColumnCount;
    private int _maxFields = DefaultNames.Length;
    private int _requiredFields = 3;
    private bool _tooManyFields;
    private string? _constantAction;
    private AmazonJsonLines? _json;

    // Current line's fields as (start, length) into _buffer (or into the JSON parser's text for JSON lines).
    private int[] _fieldStart = new int[DefaultNames.Length];
    private int[] _fieldLength = new int[DefaultNames.Length];
    private long _timestamp;
    private double _value;

    /// <summary>Opens a file; "-" means standard input. <paramref name="hasHeader"/> = false for headerless streams
    /// (the Hadoop-streaming mapper reads <c>user TAB item TAB timestamp …</c> lines without header); MovieLens CSV
    /// and Amazon JSON lines are recognised only when <paramref name="hasHeader"/> is true.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public ActionsTsvReader(string path, bool hasHeader = true)
        : this(OpenReader(path), path == "-" ? "<stdin>" : path, hasHeader, ownsReader: true)
    {
    }

    /// <summary>Reads from an already open text reader; <paramref name="displayName"/> is used in errors.</summary>
    public ActionsTsvReader(TextReader reader, string displayName, bool hasHeader = true)
        : this(reader, displayName, hasHeader, ownsReader: false)
    {
    }

    private ActionsTsvReader(TextReader reader, string displayName, bool hasHeader, bool ownsReader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(displayName);
        _reader = reader;
        _ownsReader = ownsReader;
        _hasHeader = hasHeader;
        FileName = displayName;
    }

    /// <summary>Disables the vectorised line scan (tests run both paths).</summary>
    internal bool ScalarOnly { get; init; }

    /// <summary>The file name used in error messages.</summary>
    public string FileName { get; }

    /// <summary>Column names: from the header, or the generic layout's names without one. Available after the first
    /// <see cref="MoveNext"/>.</summary>
    public IReadOnlyList<string> ColumnNames => _names;

    /// <summary>True when the input was recognised as MovieLens <c>ratings.csv</c>.</summary>
    public bool IsMovieLensCsv { get; private set; }

    /// <summary>True when the input was recognised as Amazon review JSON lines.</summary>
    public bool IsAmazonJson => _json is not null;

    /// <summary>1-based line number of the current line.</summary>
    public long LineNumber => _lineNumber;

    /// <summary>Current user id.</summary>
    public ReadOnlySpan<char> UserId => Field(_userCol);

    /// <summary>Current item id.</summary>
    public ReadOnlySpan<char> ItemId => Field(_itemCol);

    /// <summary>Current timestamp, Unix seconds (UTC), validated to a plausible range.</summary>
    public long Timestamp => _timestamp;

    /// <summary>Current action label; empty when the column is absent.</summary>
    public ReadOnlySpan<char> Action => _constantAction is not null ? _constantAction.AsSpan() : Field(_actionCol);

    /// <summary>Current optional value, NaN when absent.</summary>
    public double Value => _value;

    /// <summary>Advances to the next data line; false at end of input.</summary>
    /// <exception cref="DataFormatException">A malformed line (naming file, line and field).</exception>
    public bool MoveNext()
    {
        if (!_started)
        {
            _started = true;
            if (_hasHeader)
            {
                if (!NextLine(out int start, out int end)) return false;
                if (end > start && _buffer[start] == '\uFEFF') start++; // BOM from a TextReader that kept it
                if (end > start && _buffer[start] == '{')
                {
                    // Amazon review JSON lines: no header, every line is an object.
                    _json = new AmazonJsonLines();
                    _names = AmazonJsonLines.Names;
                    (_userCol, _itemCol, _timeCol, _actionCol, _valueCol) = (0, 1, 2, -1, 4);
                    _constantAction = "review";
                    _separator = '\n';
                    ParseJsonLine(start, end);
                    return true;
                }
                ParseHeader(_buffer.AsSpan(start, end - start));
            }
            else
            {
                // Headerless: a BOM (only possible from a TextReader that kept it) is dropped from the first line.
                if (_start == _end && !_eof) Refill();
                if (_start < _end && _buffer[_start] == '\uFEFF') _start++;
            }
        }
        while (true)
        {
            int lineStart = _start;
            int lineEnd = ScanLine(lineStart, out int count, out int lastFieldEnd);
            if (lineEnd < 0)
            {
                if (!_eof)
                {
                    Refill();
                    continue;
                }
                if (lineStart == _end) return false;
                lineEnd = _end; // last line without a final newline
                _start = _end;
            }
            else
            {
                _start = lineEnd + 1;
            }
            _lineNumber++;
            if (lineEnd > lineStart && _buffer[lineEnd - 1] == '\r') lineEnd--;
            if (lineEnd == lineStart) continue; // blank line
            if (_tooManyFields)
                throw new DataFormatException(FileName, _lineNumber, null, $"has more than the header's {_columnCount} fields");
            if (_json is not null) ParseJsonLine(lineStart, lineEnd);
            else ParseLine(lineStart, lineEnd, count, lastFieldEnd);
            return true;
        }
    }

    /// <summary>Fused scan of one line from <paramref name="start"/>: records the start of each kept field in
    /// <c>_fieldStart</c> and returns the index of the line's <c>\n</c>, or −1 when the buffer ends first.
    /// <paramref name="lastFieldEnd"/> is where the last kept field ends when further fields are ignored (headerless
    /// input), else −1. One pass over the line finds both separators and the line end: 16 chars per step with
    /// Vector256, whose compare masks are walked bit by bit (our choice over one IndexOf per field, which rescans
    /// short fields with a vector setup each time).</summary>
    private int ScanLine(int start, out int count, out int lastFieldEnd)
    {
        char[] buf = _buffer;
        int end = _end;
        char sep = _separator;
        count = 1;
        lastFieldEnd = -1;
        _fieldStart[0] = start;
        _tooManyFields = false;
        int i = start;
        if (Vector256.IsHardwareAccelerated && !ScalarOnly)
        {
            Vector256<ushort> vSep = Vector256.Create((ushort)sep), vNewline = Vector256.Create((ushort)'\n');
            ref ushort first = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetArrayDataReference(buf));
            // Invariant: buf[start..i) holds no '\n', and every separator in it has been recorded.
            while (i <= end - Vector256<ushort>.Count)
            {
                Vector256<ushort> v = Vector256.LoadUnsafe(ref first, (nuint)i);
                uint mask = (Vector256.Equals(v, vSep) | Vector256.Equals(v, vNewline)).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    int p = i + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (buf[p] == '\n') return p;
                    Separator(p, ref count, ref lastFieldEnd);
                }
                i += Vector256<ushort>.Count;
            }
        }
        for (; i < end; i++) // scalar tail, and the fallback without SIMD
        {
            char c = buf[i];
            if (c == '\n') return i;
            if (c == sep) Separator(i, ref count, ref lastFieldEnd);
        }
        return -1;
    }

    private void Separator(int p, ref int count, ref int lastFieldEnd)
    {
        if (lastFieldEnd >= 0 || _tooManyFields) return;
        if (count < _maxFields) _fieldStart[count++] = p + 1;
        else if (_strictColumnCount) _tooManyFields = true; // reported once the line is counted
        else lastFieldEnd = p;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsReader) _reader.Dispose();
    }

    private ReadOnlySpan<char> Field(int column) =>
        column >= 0 ? (_json is null ? _buffer : _json.Text).AsSpan(_fieldStart[column], _fieldLength[column]) : default;

    private static TextReader OpenReader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Stream stream = path == "-"
            ? Console.OpenStandardInput()
            : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) stream = new GZipStream(stream, CompressionMode.Decompress);
        return new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 20);
    }

    /// <summary>Finds the next line in the buffer (refilling and growing it as needed); the returned range excludes
    /// the line end (<c>\n</c> or <c>\r\n</c>).</summary>
    private bool NextLine(out int lineStart, out int lineEnd)
    {
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf('\n');
            if (nl >= 0)
            {
                lineStart = _start;
                lineEnd = _start + nl;
                _start = lineEnd + 1;
                break;
            }
            if (_eof)
            {
                if (_start == _end)
                {
                    lineStart = lineEnd = 0;
                    return false;
                }
                lineStart = _start;
                lineEnd = _end;
                _start = _end;
                break;
            }
            Refill();
        }
        if (lineEnd > lineStart && _buffer[lineEnd - 1] == '\r') lineEnd--;
        _lineNumber++;
        return true;
    }

    private void Refill()
    {
        int remaining = _end - _start;
        if (_start > 0)
        {
            // Invariant: _buffer[_start.._end) is an incomplete line; move it to the front before reading more.
            Array.Copy(_buffer, _start, _buffer, 0, remaining);
            _start = 0;
            _end = remaining;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2); // a line longer than the buffer
        int read = _reader.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _eof = true;
        _end += read;
    }

    private void ParseHeader(ReadOnlySpan<char> line)
    {
        if (line.Contains('\t'))
        {
            string[] names = line.ToString().Split('\t');
            string[] required = ["user_id", "item_id", "timestamp"];
            for (int i = 0; i < required.Length; i++)
            {
                if (i >= names.Length || !names[i].Trim().Equals(required[i], StringComparison.OrdinalIgnoreCase))
                    throw new DataFormatException(FileName, _lineNumber, required[i],
                        $"header column {i + 1} is '{(i < names.Length ? names[i] : "")}', expected '{required[i]}' (header: user_id<TAB>item_id<TAB>timestamp<TAB>action[<TAB>value]); for a file without a header use the no-header option");
            }
            _names = names;
            _columnCount = names.Length;
            _strictColumnCount = true;
            _actionCol = names.Length > 3 ? 3 : -1;
            _valueCol = names.Length > 4 ? 4 : -1;
            _fieldStart = new int[Math.Max(names.Length, DefaultNames.Length)];
            _fieldLength = new int[_fieldStart.Length];
            _maxFields = names.Length;
            return;
        }
        string[] csv = line.ToString().Split(',');
        if (ParseCsvHeader(csv)) return;
        if (csv.Length == 4 && csv[0].Trim().Equals("userId", StringComparison.OrdinalIgnoreCase)
            && csv[1].Trim().Equals("movieId", StringComparison.OrdinalIgnoreCase)
            && csv[2].Trim().Equals("rating", StringComparison.OrdinalIgnoreCase)
            && csv[3].Trim().Equals("timestamp", StringComparison.OrdinalIgnoreCase))
        {
            _separator = ',';
            _names = csv;
            _columnCount = 4;
            _strictColumnCount = true;
            (_userCol, _itemCol, _valueCol, _timeCol, _actionCol) = (0, 1, 2, 3, -1);
            _constantAction = "rating";
            IsMovieLensCsv = true;
            _maxFields = 4;
            _requiredFields = 4;
            return;
        }
        string shown = line.Length > 80 ? line[..80].ToString() + "…" : line.ToString();
        throw new DataFormatException(FileName, _lineNumber, null,
            $"expected a header line 'user_id<TAB>item_id<TAB>timestamp<TAB>action[<TAB>value]' (or MovieLens 'userId,movieId,rating,timestamp'), got '{shown}'; for a file without a header use the no-header option");
    }

    /// <summary>A comma-separated header naming user_id, item_id and timestamp (and optionally action and value) in any
    /// order, other columns ignored (our choice: plain CSV, no quoted fields, so ids cannot contain commas).</summary>
    private bool ParseCsvHeader(string[] names)
    {
        int Find(string name)
        {
            for (int i = 0; i < names.Length; i++)
                if (names[i].Trim().Equals(name, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }
        int user = Find("user_id"), item = Find("item_id"), time = Find("timestamp");
        if (user < 0 || item < 0 || time < 0) return false;
        _separator = ',';
        _names = [.. names.Select(n => n.Trim())];
        (_userCol, _itemCol, _timeCol, _actionCol, _valueCol) = (user, item, time, Find("action"), Find("value"));
        _columnCount = names.Length;
        _strictColumnCount = true;
        _maxFields = names.Length;
        _requiredFields = Math.Max(user, Math.Max(item, time)) + 1;
        _fieldStart = new int[Math.Max(names.Length, DefaultNames.Length)];
        _fieldLength = new int[_fieldStart.Length];
        return true;
    }

    private void ParseLine(int lineStart, int lineEnd, int count, int lastFieldEnd)
    {
        // Field f ends one before field f+1 starts; the last kept field ends at lastFieldEnd or the line end.
        for (int f = 0; f < count - 1; f++) _fieldLength[f] = _fieldStart[f + 1] - 1 - _fieldStart[f];
        int tail = lastFieldEnd >= 0 ? lastFieldEnd : lineEnd;
        _fieldLength[count - 1] = Math.Max(0, tail - _fieldStart[count - 1]);
        if (count < _requiredFields)
            throw new DataFormatException(FileName, _lineNumber, _names[Math.Min(count, _names.Length - 1)],
                $"line has {count} field{(count == 1 ? "" : "s")}, expected at least {_requiredFields} ({string.Join(", ", _names.Take(_requiredFields))})"
                + (count == 1 && _separator == '\t' && LineSpan(lineStart, lineEnd).Contains(',') ? "; it looks comma-separated, but actions.tsv is tab-separated" : ""));
        for (int c = count; c < _fieldStart.Length; c++)
        {
            _fieldStart[c] = lineEnd;
            _fieldLength[c] = 0;
        }
        if (_fieldLength[_userCol] == 0) throw new DataFormatException(FileName, _lineNumber, _names[_userCol], "empty user id");
        if (_fieldLength[_itemCol] == 0) throw new DataFormatException(FileName, _lineNumber, _names[_itemCol], "empty item id");
        CheckIds(_names[_userCol], _names[_itemCol]);
        _timestamp = ParseTimestamp(Field(_timeCol));
        _value = _valueCol >= 0 && _fieldLength[_valueCol] > 0 ? ParseValue(Field(_valueCol)) : double.NaN;
    }

    private void ParseJsonLine(int lineStart, int lineEnd)
    {
        AmazonJsonLines json = _json!;
        json.Parse(_buffer.AsSpan(lineStart, lineEnd - lineStart), FileName, _lineNumber);
        for (int f = 0; f < 3; f++)
        {
            _fieldStart[f] = json.Start[f];
            _fieldLength[f] = json.Length[f];
        }
        if (_fieldLength[_userCol] == 0) throw new DataFormatException(FileName, _lineNumber, json.UserKey, "missing or empty user id");
        if (_fieldLength[_itemCol] == 0) throw new DataFormatException(FileName, _lineNumber, json.ItemKey, "missing or empty item id");
        CheckIds(json.UserKey, json.ItemKey);
        _names[_timeCol] = json.TimeKey;
        if (_fieldLength[_timeCol] == 0) throw new DataFormatException(FileName, _lineNumber, json.TimeKey, "missing timestamp");
        _timestamp = json.TimeIsMilliseconds
            ? ParseTimestamp(Field(_timeCol)[..^Math.Min(3, _fieldLength[_timeCol])])
            : ParseTimestamp(Field(_timeCol));
        _value = json.Value;
    }

    /// <summary>The id rules (<see cref="IdRules"/>) on the current line's user and item.</summary>
    private void CheckIds(string userField, string itemField)
    {
        if (IdRules.Describe("user id", UserId) is string user) throw new DataFormatException(FileName, _lineNumber, userField, user);
        if (IdRules.Describe("item id", ItemId) is string item) throw new DataFormatException(FileName, _lineNumber, itemField, item);
    }

    private ReadOnlySpan<char> LineSpan(int start, int end) => _buffer.AsSpan(start, end - start);

    private long ParseTimestamp(ReadOnlySpan<char> s)
    {
        // Fast path: plain digits, at most 18 of them (cannot overflow a long).
        if (s.Length is > 0 and <= 18)
        {
            long v = 0;
            int i = 0;
            for (; i < s.Length; i++)
            {
                uint digit = (uint)(s[i] - '0');
                if (digit > 9) break;
                v = v * 10 + digit;
            }
            if (i == s.Length)
            {
                if (v <= MaxTimestamp) return v;
                throw TimestampError(s, v);
            }
        }
        return ParseTimestampSlow(s);
    }

    private long ParseTimestampSlow(ReadOnlySpan<char> s)
    {
        string name = _names[_timeCol];
        if (s.IsEmpty) throw new DataFormatException(FileName, _lineNumber, name, "empty timestamp");
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            if (v < 0) throw new DataFormatException(FileName, _lineNumber, name, $"timestamp {v} is negative; expected Unix seconds since 1970-01-01");
            throw TimestampError(s, v);
        }
        ReadOnlySpan<char> digits = s[0] == '-' ? s[1..] : s;
        if (!digits.IsEmpty && !digits.ContainsAnyExceptInRange('0', '9'))
            throw new DataFormatException(FileName, _lineNumber, name, $"timestamp {Shorten(s)} is out of range (Unix seconds from 0 to {MaxTimestamp}, i.e. 1970 to 2100)");
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d))
            throw new DataFormatException(FileName, _lineNumber, name, $"timestamp '{s}' is not an integer; expected whole Unix seconds");
        if (s.Length >= 10 && s[4] == '-' && s[7] == '-')
            throw new DataFormatException(FileName, _lineNumber, name, $"timestamp '{s}' looks like a date; expected Unix seconds (e.g. date +%s -d '{s}')");
        string hint = _lineNumber == 1 && !_hasHeader && s.Equals("timestamp", StringComparison.OrdinalIgnoreCase)
            ? "; this looks like a header line, but the input was opened without a header"
            : "";
        throw new DataFormatException(FileName, _lineNumber, name, $"expected an integer timestamp (Unix seconds), got '{Shorten(s)}'{hint}");
    }

    private DataFormatException TimestampError(ReadOnlySpan<char> s, long v)
    {
        string name = _names[_timeCol];
        // Milliseconds of 2000…2100 are 13-digit numbers; a value just past 2100 is not a millisecond time.
        string hint = v is >= MinMillisecondsHint and <= MaxTimestamp * 1000
            ? $"; it looks like milliseconds ({DateTimeOffset.FromUnixTimeMilliseconds(v):yyyy-MM-dd}): divide by 1000"
            : "";
        return new DataFormatException(FileName, _lineNumber, name,
            $"timestamp {s} is out of range (Unix seconds from 0 to {MaxTimestamp}, i.e. 1970 to 2100){hint}");
    }

    private double ParseValue(ReadOnlySpan<char> s)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return v;
        throw new DataFormatException(FileName, _lineNumber, _names[_valueCol], $"expected a number, got '{Shorten(s)}'");
    }

    private static string Shorten(ReadOnlySpan<char> s) => s.Length > 40 ? s[..40].ToString() + "…" : s.ToString();
}
