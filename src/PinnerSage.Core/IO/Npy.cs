using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace PinnerSage.IO;

/// <summary>Element type of a .npy array that this library reads.</summary>
public enum NpyDType
{
    /// <summary>Little-endian IEEE float32, descr <c>'&lt;f4'</c>.</summary>
    Float32,

    /// <summary>Little-endian IEEE float64, descr <c>'&lt;f8'</c>.</summary>
    Float64,
}

/// <summary>The parsed header of a .npy file: format version, dtype descriptor, memory order and shape.</summary>
/// <param name="MajorVersion">Format major version: 1 (16-bit header length), 2 (32-bit) or 3 (32-bit, UTF-8 header).</param>
/// <param name="Descr">The dtype descriptor as written, e.g. <c>&lt;f4</c>.</param>
/// <param name="FortranOrder">True when the data is column-major (not supported for reading).</param>
/// <param name="Shape">The array shape.</param>
/// <param name="DataOffset">Byte offset of the first element.</param>
public sealed record NpyHeader(int MajorVersion, string Descr, bool FortranOrder, IReadOnlyList<long> Shape, long DataOffset)
{
    /// <summary>Number of elements (product of <see cref="Shape"/>; 1 for a 0-d array).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long s in Shape) n = checked(n * s);
            return n;
        }
    }

    /// <summary>The shape as Python prints it, e.g. <c>(1585, 512)</c> or <c>(4,)</c>.</summary>
    public string ShapeText => Npy.FormatShape(Shape);
}

/// <summary>NumPy .npy format v1.0/v2.0/v3.0: reading 2-D C-order little-endian float32/float64 arrays and atomic
/// writing (float32 for embeddings, float64 for scipy-style linkage matrices).</summary>
/// <remarks>Format reference: NumPy Enhancement Proposal 1 and <c>numpy/lib/format.py</c>: the magic
/// <c>\x93NUMPY</c>, a version byte pair, a little-endian header length (uint16 for v1, uint32 for v2/v3), then a
/// Python dict literal with <c>descr</c>, <c>fortran_order</c> and <c>shape</c>, padded with spaces and ended with
/// <c>\n</c>. Writing picks v1.0 when the header fits in 65,535 bytes and v2.0 otherwise, and pads the header so the
/// data starts on a 64-byte boundary, as numpy ≥ 1.14 does (so memory-mapped rows are aligned). Reading is strict
/// (our choice): big-endian data, Fortran order, other dtypes, ndim ≠ 2, a truncated file or trailing bytes are
/// errors rather than silently converted, because an embedding table read wrongly gives plausible-looking garbage.</remarks>
public static class Npy
{
    internal static ReadOnlySpan<byte> MagicBytes => Magic;

    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Writes a float32 [rows, cols] C-order array to <paramref name="path"/> atomically (temp file + rename).</summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> length is not rows × cols.</exception>
    public static void Write(string path, ReadOnlySpan<float> data, int rows, int cols) =>
        Write(path, MemoryMarshal.AsBytes(data), data.Length, "<f4", rows, cols, majorVersion: 0);

    /// <summary>Writes a float64 [rows, cols] C-order array to <paramref name="path"/> atomically (temp file + rename).</summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> length is not rows × cols.</exception>
    public static void Write(string path, ReadOnlySpan<double> data, int rows, int cols) =>
        Write(path, MemoryMarshal.AsBytes(data), data.Length, "<f8", rows, cols, majorVersion: 0);

    /// <summary>Reads and parses the header of <paramref name="path"/> without checking the dtype, order or shape.</summary>
    /// <exception cref="DataFormatException">Bad magic, unsupported version or an unparsable header.</exception>
    public static NpyHeader ReadHeader(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        return ReadHeader(stream, path);
    }

    /// <summary>Reads a 2-D C-order little-endian float32 array.</summary>
    /// <exception cref="DataFormatException">Not a .npy file, or not a 2-D C-order '&lt;f4' array, or truncated.</exception>
    public static float[] ReadFloat32(string path, out int rows, out int cols) =>
        ReadMatrix<float>(path, NpyDType.Float32, out rows, out cols);

    /// <summary>Reads a 2-D C-order little-endian float64 array (e.g. a linkage matrix).</summary>
    /// <exception cref="DataFormatException">Not a .npy file, or not a 2-D C-order '&lt;f8' array, or truncated.</exception>
    public static double[] ReadFloat64(string path, out int rows, out int cols) =>
        ReadMatrix<double>(path, NpyDType.Float64, out rows, out cols);

    /// <summary>Reads a whole 2-D C-order array whose elements are <typeparamref name="T"/> (<paramref name="dtype"/>).</summary>
    private static T[] ReadMatrix<T>(string path, NpyDType dtype, out int rows, out int cols) where T : unmanaged
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        NpyHeader header = ReadMatrixHeader(stream, path, dtype, out rows, out cols);
        var data = new T[checked(rows * cols)];
        ReadData(stream, path, header, MemoryMarshal.AsBytes(data.AsSpan()));
        return data;
    }

    /// <summary>Parses the header from the start of <paramref name="stream"/> and checks it describes a 2-D C-order
    /// array of <paramref name="dtype"/> whose data is fully present (and nothing after it).</summary>
    internal static NpyHeader ReadMatrixHeader(Stream stream, string path, NpyDType dtype, out int rows, out int cols)
    {
        NpyHeader header = ReadHeader(stream, path);
        string expected = dtype == NpyDType.Float32 ? "<f4" : "<f8";
        int elementSize = dtype == NpyDType.Float32 ? 4 : 8;
        string descr = header.Descr;
        if (descr != expected)
        {
            string problem = descr.Length == 3 && descr[0] == '>' && descr[1..] == expected[1..]
                ? $"dtype '{descr}' is big-endian; convert it with numpy: a.astype('{expected}')"
                : $"dtype is '{descr}', expected '{expected}' ({(elementSize == 4 ? "float32" : "float64")}); convert it with numpy: a.astype('{expected}')";
            throw new DataFormatException(path, 0, "descr", problem);
        }
        if (header.FortranOrder)
            throw new DataFormatException(path, 0, "fortran_order",
                "the array is in Fortran (column-major) order; save it with numpy.ascontiguousarray(a) first");
        if (header.Shape.Count != 2)
            throw new DataFormatException(path, 0, "shape",
                $"expected a 2-D array [rows, cols], got {header.Shape.Count}-D shape {FormatShape(header.Shape)}");
        if (header.Shape[0] > int.MaxValue || header.Shape[1] > int.MaxValue || header.ElementCount > Array.MaxLength)
            throw new DataFormatException(path, 0, "shape", $"shape {FormatShape(header.Shape)} is too large (at most {Array.MaxLength} elements)");
        rows = (int)header.Shape[0];
        cols = (int)header.Shape[1];
        long expectedLength = header.DataOffset + header.ElementCount * elementSize;
        long actual = stream.Length;
        if (actual < expectedLength)
            throw new DataFormatException(path, 0, "data",
                $"file is truncated: shape {FormatShape(header.Shape)} needs {expectedLength:N0} bytes, the file has {actual:N0}");
        if (actual > expectedLength)
            throw new DataFormatException(path, 0, "data",
                $"file has {actual - expectedLength:N0} unexpected bytes after the data of shape {FormatShape(header.Shape)}");
        return header;
    }

    internal static string FormatShape(IReadOnlyList<long> shape) =>
        shape.Count == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";

    private static void ReadData(Stream stream, string path, NpyHeader header, Span<byte> destination)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Reading .npy files needs a little-endian machine.");
        stream.Position = header.DataOffset;
        int read = stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        if (read < destination.Length)
            throw new DataFormatException(path, 0, "data", "file is truncated (it changed while being read)");
    }

    internal static NpyHeader ReadHeader(Stream stream, string path)
    {
        Span<byte> prefix = stackalloc byte[12];
        int got = stream.ReadAtLeast(prefix, 10, throwOnEndOfStream: false);
        if (got < 10 || !prefix[..6].SequenceEqual(Magic))
            throw new DataFormatException(path, 0, null, "not a NumPy .npy file (bad magic; expected \\x93NUMPY)");
        int major = prefix[6];
        if (major is < 1 or > 3)
            throw new DataFormatException(path, 0, "version", $".npy format version {major}.{prefix[7]} is not supported (1.0, 2.0 and 3.0 are)");
        long headerLength;
        int prefixLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
            prefixLength = 10;
        }
        else
        {
            if (got < 12) got += stream.ReadAtLeast(prefix[got..], 12 - got, throwOnEndOfStream: false);
            if (got < 12) throw new DataFormatException(path, 0, "header", "file is truncated inside the header");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
            prefixLength = 12;
        }
        if (headerLength > 1 << 24)
            throw new DataFormatException(path, 0, "header", $"header length {headerLength} is implausibly large");
        var headerBytes = new byte[headerLength];
        stream.Position = prefixLength;
        if (stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false) < headerBytes.Length)
            throw new DataFormatException(path, 0, "header", "file is truncated inside the header");
        // v1/v2 headers are latin-1, v3 UTF-8; the fields we accept are ASCII either way.
        string text = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        var parser = new HeaderParser(text, path);
        (string descr, bool fortran, long[] shape) = parser.Parse();
        return new NpyHeader(major, descr, fortran, shape, prefixLength + headerLength);
    }

    /// <summary>Writes the header and raw little-endian bytes atomically. <paramref name="majorVersion"/> 0 = the
    /// smallest version that fits (tests force 1, 2 or 3).</summary>
    internal static void Write(string path, ReadOnlySpan<byte> bytes, int length, string descr, int rows, int cols, int majorVersion)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if ((long)rows * cols != length)
            throw new ArgumentException($"data has {length} elements, but shape ({rows}, {cols}) needs {(long)rows * cols}.", nameof(length));
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Writing .npy files needs a little-endian machine.");
        byte[] header = BuildHeader(descr, rows, cols, majorVersion);
        using var file = new PendingFile(path, bufferSize: 1);
        file.Stream.Write(header);
        file.Stream.Write(bytes);
        file.Commit();
    }

    internal static byte[] BuildHeader(string descr, int rows, int cols, int majorVersion)
    {
        string dict = string.Create(CultureInfo.InvariantCulture, $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        int major = majorVersion;
        if (major == 0) major = (10 + dict.Length + 1 + 63) / 64 * 64 - 10 <= ushort.MaxValue ? 1 : 2;
        int prefixLength = major == 1 ? 10 : 12;
        int total = prefixLength + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        int headerLength = padded - prefixLength;
        if (major == 1 && headerLength > ushort.MaxValue)
            throw new ArgumentException("Header too long for .npy version 1.0.", nameof(majorVersion));
        var buffer = new byte[padded];
        Magic.CopyTo(buffer);
        buffer[6] = (byte)major;
        buffer[7] = 0;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(8), (ushort)headerLength);
        else BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(8), (uint)headerLength);
        int written = Encoding.ASCII.GetBytes(dict, buffer.AsSpan(prefixLength));
        buffer.AsSpan(prefixLength + written, padded - prefixLength - written - 1).Fill((byte)' ');
        buffer[^1] = (byte)'\n';
        return buffer;
    }

    /// <summary>A small recursive-descent parser for the header's Python dict literal; it accepts exactly what
    /// numpy writes (and what <c>ast.literal_eval</c> would read for these keys), in any key order.</summary>
    private ref struct HeaderParser(string text, string path)
    {
        private int _pos;

        public (string Descr, bool Fortran, long[] Shape) Parse()
        {
            string? descr = null;
            bool? fortran = null;
            long[]? shape = null;
            SkipSpace();
            Expect('{');
            while (true)
            {
                SkipSpace();
                if (Peek() == '}') { _pos++; break; }
                string key = ParseString();
                SkipSpace();
                Expect(':');
                SkipSpace();
                switch (key)
                {
                    case "descr": descr = ParseString(); break;
                    case "fortran_order": fortran = ParseBool(); break;
                    case "shape": shape = ParseShape(); break;
                    default: throw Error("header", $"unexpected key '{key}' in the header");
                }
                SkipSpace();
                if (Peek() == ',') { _pos++; continue; }
                SkipSpace();
                Expect('}');
                break;
            }
            if (descr is null) throw Error("descr", "the header has no 'descr' key");
            if (fortran is null) throw Error("fortran_order", "the header has no 'fortran_order' key");
            if (shape is null) throw Error("shape", "the header has no 'shape' key");
            return (descr, fortran.Value, shape);
        }

        private readonly char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw Error("header", $"malformed header: expected '{c}' at offset {_pos} in \"{text.TrimEnd()}\"");
            _pos++;
        }

        private string ParseString()
        {
            char quote = Peek();
            if (quote is not ('\'' or '"')) throw Error("header", $"malformed header: expected a quoted string at offset {_pos} in \"{text.TrimEnd()}\"");
            int end = text.IndexOf(quote, _pos + 1);
            if (end < 0) throw Error("header", "malformed header: unterminated string");
            string s = text[(_pos + 1)..end];
            _pos = end + 1;
            return s;
        }

        private bool ParseBool()
        {
            if (string.CompareOrdinal(text, _pos, "True", 0, 4) == 0) { _pos += 4; return true; }
            if (string.CompareOrdinal(text, _pos, "False", 0, 5) == 0) { _pos += 5; return false; }
            throw Error("fortran_order", "malformed header: 'fortran_order' must be True or False");
        }

        private long[] ParseShape()
        {
            Expect('(');
            var dims = new List<long>(2);
            while (true)
            {
                SkipSpace();
                if (Peek() == ')') { _pos++; break; }
                int start = _pos;
                while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
                // numpy ≤ 1.x on Python 2 could write "3L"; accept and ignore the suffix.
                if (!long.TryParse(text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out long dim))
                    throw Error("shape", $"malformed header: bad shape entry at offset {start}");
                if (Peek() == 'L') _pos++;
                dims.Add(dim);
                SkipSpace();
                if (Peek() == ',') { _pos++; continue; }
                Expect(')');
                break;
            }
            return [.. dims];
        }

        private readonly DataFormatException Error(string field, string problem) => new(path, 0, field, problem);
    }
}
