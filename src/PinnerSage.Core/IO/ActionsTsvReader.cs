using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace PinnerSage.IO;

/// <summary>Streams <c>actions.tsv</c> (<c>user_id TAB item_id TAB timestamp TAB action [TAB value]</c>, header line
/// first) without allocating per line. After <see cref="MoveNext"/> returns true the current line's fields are exposed
/// as spans valid until the next call. Also reads MovieLens <c>ratings.csv</c>
/// (<c>userId,movieId,rating,timestamp</c>), recognised by its header, with action "rating" and the rating as value.</summary>
/// <remarks>
/// Decoding: UTF-8 via a <see cref="StreamReader"/> with a large buffer (a BOM is skipped), into a reusable char
/// buffer; lines are found with a vectorised <c>IndexOf('\n')</c> and fields with <c>IndexOf('\t')</c>, so the per-line
/// cost is a few vector scans and the two number parses. Paths ending in <c>.gz</c> are decompressed on the fly.
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
public sealed class ActionsTsvReader : IDisposable
{
    /// <summary>Largest accepted timestamp: 2100-01-01T00:00:00Z.</summary>
    public const long MaxTimestamp = 4_102_444_800;

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
    private string? _constantAction;

    // Current line: the line occupies _buffer[_lineStart.._lineEnd); fields as (start, length) into _buffer.
    private int[] _fieldStart = new int[DefaultNames.Length];
    private int[] _fieldLength = new int[DefaultNames.Length];
    private long _timestamp;
    private double _value;

    /// <summary>Opens a file; "-" means standard input. <paramref name="hasHeader"/> = false for headerless streams
    /// (the Hadoop-streaming mapper reads <c>user TAB item TAB timestamp …</c> lines without header).</summary>
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

    /// <summary>The file name used in error messages.</summary>
    public string FileName { get; }

    /// <summary>Column names: from the header, or the generic layout's names without one. Available after the first
    /// <see cref="MoveNext"/>.</summary>
    public IReadOnlyList<string> ColumnNames => _names;

    /// <summary>True when the input was recognised as MovieLens <c>ratings.csv</c>.</summary>
    public bool IsMovieLensCsv => _constantAction is not null;

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
        while (true)
        {
            if (!NextLine(out int lineStart, out int lineEnd)) return false;
            if (!_started)
            {
                _started = true;
                if (lineEnd > lineStart && _buffer[lineStart] == '\uFEFF') lineStart++; // BOM from a TextReader that kept it
                if (_hasHeader)
                {
                    ParseHeader(_buffer.AsSpan(lineStart, lineEnd - lineStart));
                    continue;
                }
            }
            if (lineEnd == lineStart) continue; // blank line
            ParseLine(lineStart, lineEnd);
            return true;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsReader) _reader.Dispose();
    }

    private ReadOnlySpan<char> Field(int column) =>
        column >= 0 ? _buffer.AsSpan(_fieldStart[column], _fieldLength[column]) : default;

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
            return;
        }
        string[] csv = line.ToString().Split(',');
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
            return;
        }
        string shown = line.Length > 80 ? line[..80].ToString() + "…" : line.ToString();
        throw new DataFormatException(FileName, _lineNumber, null,
            $"expected a header line 'user_id<TAB>item_id<TAB>timestamp<TAB>action[<TAB>value]' (or MovieLens 'userId,movieId,rating,timestamp'), got '{shown}'; for a file without a header use the no-header option");
    }

    private void ParseLine(int lineStart, int lineEnd)
    {
        char sep = _separator;
        int maxFields = Math.Min(_columnCount, _fieldStart.Length);
        int pos = lineStart;
        int count = 0;
        // Split into at most maxFields fields; without a header the last kept field stops at the next separator.
        while (true)
        {
            int rel = _buffer.AsSpan(pos, lineEnd - pos).IndexOf(sep);
            int fieldEnd = rel < 0 ? lineEnd : pos + rel;
            _fieldStart[count] = pos;
            _fieldLength[count] = fieldEnd - pos;
            count++;
            if (rel < 0) break;
            if (count == maxFields)
            {
                if (_strictColumnCount)
                    throw new DataFormatException(FileName, _lineNumber, null,
                        $"has more than the header's {_columnCount} fields");
                break;
            }
            pos = fieldEnd + 1;
        }
        int required = Math.Max(Math.Max(_userCol, _itemCol), _timeCol) + 1;
        if (count < required)
            throw new DataFormatException(FileName, _lineNumber, _names[Math.Min(count, _names.Length - 1)],
                $"line has {count} field{(count == 1 ? "" : "s")}, expected at least {required} ({string.Join(", ", _names.Take(required))})"
                + (count == 1 && sep == '\t' && LineSpan(lineStart, lineEnd).Contains(',') ? "; it looks comma-separated, but actions.tsv is tab-separated" : ""));
        for (int c = count; c < _fieldStart.Length; c++)
        {
            _fieldStart[c] = lineEnd;
            _fieldLength[c] = 0;
        }
        if (_fieldLength[_userCol] == 0) throw new DataFormatException(FileName, _lineNumber, _names[_userCol], "empty user id");
        if (_fieldLength[_itemCol] == 0) throw new DataFormatException(FileName, _lineNumber, _names[_itemCol], "empty item id");
        _timestamp = ParseTimestamp(Field(_timeCol));
        _value = _valueCol >= 0 && _fieldLength[_valueCol] > 0 ? ParseValue(Field(_valueCol)) : double.NaN;
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
        throw new DataFormatException(FileName, _lineNumber, name, $"expected an integer timestamp (Unix seconds), got '{Shorten(s)}'");
    }

    private DataFormatException TimestampError(ReadOnlySpan<char> s, long v)
    {
        string name = _names[_timeCol];
        string hint = v is > MaxTimestamp and <= MaxTimestamp * 1000
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
