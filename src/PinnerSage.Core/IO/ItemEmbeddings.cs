using System.Globalization;
using System.Numerics.Tensors;
using PinnerSage.Numerics;

namespace PinnerSage.IO;

/// <summary>When <see cref="ItemEmbeddings.Load(string, string?, EmbeddingsLoadOptions?)"/> memory-maps the table
/// instead of reading it into a managed array.</summary>
public enum MemoryMapMode
{
    /// <summary>Map tables of at least <see cref="EmbeddingsLoadOptions.MemoryMapThresholdBytes"/> bytes.</summary>
    Auto,

    /// <summary>Always map (except an empty table, which cannot be mapped).</summary>
    Always,

    /// <summary>Always read into a managed array.</summary>
    Never,
}

/// <summary>Options for loading item embeddings.</summary>
public sealed record EmbeddingsLoadOptions
{
    /// <summary>Default options: validate strictly, no normalisation, map tables of 64 MiB or more.</summary>
    public static EmbeddingsLoadOptions Default { get; } = new();

    /// <summary>Accept all-zero rows. Off by default: a zero vector has no direction, so cosine similarity and
    /// unit-norm clustering are undefined for it; such rows usually mean "no embedding available".</summary>
    public bool AllowZeroVectors { get; init; }

    /// <summary>L2-normalise every row into a private copy (zero rows, when allowed, stay zero). The profile builder
    /// clusters unit vectors by default.</summary>
    public bool Normalize { get; init; }

    /// <summary>Memory-mapping policy.</summary>
    public MemoryMapMode MemoryMap { get; init; } = MemoryMapMode.Auto;

    /// <summary>Size from which <see cref="MemoryMapMode.Auto"/> maps the table: 64 MiB by default (our choice: below
    /// that, reading costs tens of milliseconds and a private array is simpler and as fast to access).</summary>
    public long MemoryMapThresholdBytes { get; init; } = 64L << 20;

    /// <summary>Check values on load (default true). Inspection tools turn it off and call
    /// <see cref="ItemEmbeddings.Summarize"/> to report every NaN/Inf and zero row instead of failing on the first.</summary>
    public bool ValidateValues { get; init; } = true;

    /// <summary>When set, a table of another dimension is an error (e.g. a second embedding set for the same model).</summary>
    public int? ExpectedDimension { get; init; }

    /// <summary>Checks the option values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative threshold or a non-positive expected dimension.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MemoryMapThresholdBytes);
        if (ExpectedDimension is int d) ArgumentOutOfRangeException.ThrowIfNegativeOrZero(d, nameof(ExpectedDimension));
        if (!Enum.IsDefined(MemoryMap)) throw new ArgumentOutOfRangeException(nameof(MemoryMap));
    }
}

/// <summary>n item vectors of one dimension, row-major and contiguous (memory-mapped for large .npy files), with their
/// item ids and an id → row lookup. Vectors are validated on load: finite values, no zero rows (unless allowed),
/// unique ids, as many ids as rows.</summary>
/// <remarks>The exchange format between every step is a <c>.npy</c> float32 [n, d] plus a <c>.ids</c> file in row
/// order (papers/PINNERSAGE.md: item embeddings are fixed inputs produced elsewhere). Spans returned by
/// <see cref="Matrix"/> and <see cref="Vector"/> of a memory-mapped table are valid until <see cref="Dispose"/>. An
/// instance is immutable after loading, so any number of threads may read it and look ids up concurrently.</remarks>
public sealed class ItemEmbeddings : IDisposable
{
    private readonly string[] _ids;
    private readonly Dictionary<string, int> _rows;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly float[]? _data;
    private readonly MappedMatrix? _map;

    private ItemEmbeddings(string[] ids, Dictionary<string, int> rows, float[]? data, MappedMatrix? map, int dimension, string source)
    {
        _ids = ids;
        _rows = rows;
        _lookup = rows.GetAlternateLookup<ReadOnlySpan<char>>();
        _data = data;
        _map = map;
        Dimension = dimension;
        Source = source;
    }

    /// <summary>Number of items (rows).</summary>
    public int Count => _ids.Length;

    /// <summary>Vector dimension d.</summary>
    public int Dimension { get; }

    /// <summary>Where the vectors came from (file path, or a name given to <see cref="FromArray"/>), for messages.</summary>
    public string Source { get; }

    /// <summary>True when <see cref="Matrix"/> points into a memory-mapped file.</summary>
    public bool IsMemoryMapped => _map is not null;

    /// <summary>All item ids in row order.</summary>
    public IReadOnlyList<string> Ids => _ids;

    /// <summary>Item id of a row (row order of the .npy/.ids pair).</summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="row"/> is outside 0…Count−1.</exception>
    public string Id(int row) => _ids[row];

    /// <summary>Looks an item id up without allocating.</summary>
    public bool TryGetRow(ReadOnlySpan<char> itemId, out int row) => _lookup.TryGetValue(itemId, out row);

    /// <summary>Row <paramref name="row"/> as a span of <see cref="Dimension"/> floats.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside 0…Count−1.</exception>
    public ReadOnlySpan<float> Vector(int row)
    {
        if ((uint)row >= (uint)_ids.Length) throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in [0, {_ids.Length}).");
        return Matrix.Slice(row * Dimension, Dimension);
    }

    /// <summary>All rows, Count × Dimension.</summary>
    /// <exception cref="ObjectDisposedException">A memory-mapped table was disposed.</exception>
    public ReadOnlySpan<float> Matrix => _map is not null ? _map.Span : _data;

    /// <summary>Loads <paramref name="npyPath"/> (float32 [n, d]) and its ids (<paramref name="idsPath"/>, default: the
    /// .npy path with extension .ids; when absent, ids are row numbers "0", "1", …) and validates them.</summary>
    /// <exception cref="DataFormatException">Bad file, NaN/Inf, zero vector, duplicate id, count mismatch.</exception>
    public static ItemEmbeddings Load(string npyPath, string? idsPath = null) => Load(npyPath, idsPath, null);

    /// <summary>Loads and validates with explicit <paramref name="options"/>; see <see cref="Load(string, string?)"/>.</summary>
    /// <exception cref="DataFormatException">Bad file, NaN/Inf, zero vector (unless allowed), duplicate id, count or
    /// dimension mismatch.</exception>
    /// <exception cref="FileNotFoundException">The .npy, or an explicitly named .ids, does not exist.</exception>
    public static ItemEmbeddings Load(string npyPath, string? idsPath, EmbeddingsLoadOptions? options)
    {
        ArgumentNullException.ThrowIfNull(npyPath);
        options ??= EmbeddingsLoadOptions.Default;
        options.Validate();
        string? resolvedIds = idsPath ?? DefaultIdsPath(npyPath);
        if (idsPath is null && !File.Exists(resolvedIds)) resolvedIds = null;

        FileStream? stream = new FileStream(npyPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        MappedMatrix? map = null;
        try
        {
            NpyHeader header = Npy.ReadMatrixHeader(stream, npyPath, NpyDType.Float32, out int rows, out int cols);
            if (options.ExpectedDimension is int expected && expected != cols)
                throw new DataFormatException(npyPath, 0, "shape", $"vectors have dimension {cols}, expected {expected}");
            if (cols == 0 && rows > 0)
                throw new DataFormatException(npyPath, 0, "shape", "vectors have dimension 0");

            string[] ids;
            Dictionary<string, int> rowOf;
            if (resolvedIds is not null)
            {
                ids = IdsFile.Read(resolvedIds, out rowOf);
                if (ids.Length != rows)
                    throw new DataFormatException(resolvedIds, 0, null,
                        $"has {ids.Length} ids but {npyPath} has {rows} rows; the .ids file must list one id per row");
            }
            else
            {
                ids = RowNumberIds(rows, out rowOf);
            }

            long bytes = (long)rows * cols * sizeof(float);
            bool useMap = bytes > 0 && (options.MemoryMap == MemoryMapMode.Always
                                        || (options.MemoryMap == MemoryMapMode.Auto && bytes >= options.MemoryMapThresholdBytes));
            float[]? data = null;
            if (useMap)
            {
                map = new MappedMatrix(stream, header.DataOffset, rows * cols);
                stream = null; // owned by the map now
            }
            else
            {
                data = new float[rows * cols];
                stream!.Position = header.DataOffset;
                stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            }

            ReadOnlySpan<float> matrix = map is not null ? map.Span : data;
            if (options.ValidateValues) ValidateValues(matrix, rows, cols, npyPath, options.AllowZeroVectors, firstLine: 1);

            if (options.Normalize)
            {
                float[] unit = VectorNorms.NormalizeRows(matrix, rows, cols);
                map?.Dispose();
                map = null;
                data = unit;
            }
            var result = new ItemEmbeddings(ids, rowOf, data, map, cols, npyPath);
            map = null;
            return result;
        }
        finally
        {
            map?.Dispose();
            stream?.Dispose();
        }
    }

    /// <summary>Wraps an in-memory table (no copy: <paramref name="data"/> is owned by the result afterwards) and
    /// validates it like a loaded file; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> length is not ids.Count × <paramref name="dimension"/>.</exception>
    /// <exception cref="DataFormatException">NaN/Inf, zero vector (unless allowed), empty or duplicate id.</exception>
    public static ItemEmbeddings FromArray(IReadOnlyList<string> ids, float[] data, int dimension,
                                           EmbeddingsLoadOptions? options = null, string source = "(in-memory)")
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        options ??= EmbeddingsLoadOptions.Default;
        options.Validate();
        if ((long)ids.Count * dimension != data.Length)
            throw new ArgumentException($"data has {data.Length} floats, expected {ids.Count} ids × {dimension} = {(long)ids.Count * dimension}.", nameof(data));
        if (options.ExpectedDimension is int expected && expected != dimension)
            throw new DataFormatException(source, 0, "dimension", $"vectors have dimension {dimension}, expected {expected}");
        var copy = new string[ids.Count];
        var rows = new Dictionary<string, int>(ids.Count, StringComparer.Ordinal);
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = ids[i] ?? throw new ArgumentException($"Item id at row {i} is null.", nameof(ids));
            IdsFile.Check(source, i + 1, copy[i], rows, i);
        }
        if (options.ValidateValues) ValidateValues(data, copy.Length, dimension, source, options.AllowZeroVectors, firstLine: 1);
        float[] final = options.Normalize ? VectorNorms.NormalizeRows(data, copy.Length, dimension) : data;
        return new ItemEmbeddings(copy, rows, final, null, dimension, source);
    }

    /// <summary>Scans every row: counts of non-finite and zero rows (with the first of each as an error naming it),
    /// and the minimum, mean and maximum L2 norm over the finite rows.</summary>
    public EmbeddingsSummary Summarize()
    {
        ReadOnlySpan<float> m = Matrix;
        int nonFinite = 0, zero = 0, finite = 0;
        DataFormatException? firstNonFinite = null, firstZero = null;
        double min = double.PositiveInfinity, max = 0, sum = 0;
        int unit = 0;
        for (int i = 0; i < Count; i++)
        {
            ReadOnlySpan<float> row = m.Slice(i * Dimension, Dimension);
            int j = IndexOfNonFinite(row);
            if (j >= 0)
            {
                nonFinite++;
                firstNonFinite ??= NonFinite(Source, i + 1, i, j, row[j]);
                continue;
            }
            double norm = VectorNorms.L2(row);
            if (norm == 0)
            {
                zero++;
                firstZero ??= ZeroVector(Source, i + 1, i);
            }
            finite++;
            sum += norm;
            min = Math.Min(min, norm);
            max = Math.Max(max, norm);
            if (Math.Abs(norm - 1) <= 1e-3) unit++;
        }
        return new EmbeddingsSummary(Count, Dimension, nonFinite, zero, finite > 0 ? min : double.NaN,
                                     finite > 0 ? sum / finite : double.NaN, finite > 0 ? max : double.NaN,
                                     finite > 0 && unit == finite, firstNonFinite ?? firstZero);
    }

    /// <summary>A copy whose rows are L2-normalised (zero rows, when allowed, stay zero); ids are shared.</summary>
    public ItemEmbeddings Normalized() =>
        new(_ids, _rows, VectorNorms.NormalizeRows(Matrix, Count, Dimension), null, Dimension, Source);

    /// <summary>Writes the table as <paramref name="npyPath"/> (float32 [n, d]) and the ids as
    /// <paramref name="idsPath"/> (default: same name with extension .ids), each atomically; the .ids last.</summary>
    public void Save(string npyPath, string? idsPath = null)
    {
        ArgumentNullException.ThrowIfNull(npyPath);
        Npy.Write(npyPath, Matrix, Count, Dimension);
        IdsFile.Write(idsPath ?? DefaultIdsPath(npyPath), _ids);
    }

    /// <summary>The default ids path beside a .npy file: same name, extension .ids.</summary>
    public static string DefaultIdsPath(string npyPath) => Path.ChangeExtension(npyPath, ".ids");

    /// <summary>Releases the memory map, if any; spans obtained earlier must not be used afterwards.</summary>
    public void Dispose() => _map?.Dispose();

    /// <summary>Throws for the first non-finite value or zero row; <paramref name="firstLine"/> is the line (or row
    /// number) that row 0 is reported as.</summary>
    internal static void ValidateValues(ReadOnlySpan<float> matrix, int rows, int cols, string file, bool allowZero, long firstLine)
    {
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<float> row = matrix.Slice(i * cols, cols);
            float sumSquares = TensorPrimitives.Dot(row, row);
            if (!float.IsFinite(sumSquares))
            {
                int j = IndexOfNonFinite(row);
                if (j >= 0) throw NonFinite(file, firstLine + i, i, j, row[j]);
            }
            else if (sumSquares == 0 && !allowZero && IsZero(row))
            {
                throw ZeroVector(file, firstLine + i, i);
            }
        }
    }

    internal static int IndexOfNonFinite(ReadOnlySpan<float> row)
    {
        for (int j = 0; j < row.Length; j++)
        {
            if (!float.IsFinite(row[j])) return j;
        }
        return -1;
    }

    internal static bool IsZero(ReadOnlySpan<float> row)
    {
        foreach (float v in row)
        {
            if (v != 0) return false;
        }
        return true;
    }

    internal static DataFormatException NonFinite(string file, long line, int row, int col, float value) =>
        new(file, line, $"column {col + 1}",
            string.Create(CultureInfo.InvariantCulture, $"value is {value} (row {row}, column {col} counting from 0); vectors must be finite"));

    internal static DataFormatException ZeroVector(string file, long line, int row) =>
        new(file, line, null,
            $"row {row} (counting from 0) is a zero vector, which has no direction for cosine similarity; remove the item or allow zero vectors");

    private static string[] RowNumberIds(int rows, out Dictionary<string, int> rowOf)
    {
        var ids = new string[rows];
        rowOf = new Dictionary<string, int>(rows, StringComparer.Ordinal);
        for (int i = 0; i < rows; i++)
        {
            ids[i] = i.ToString(CultureInfo.InvariantCulture);
            rowOf.Add(ids[i], i);
        }
        return ids;
    }
}

/// <summary>What <see cref="ItemEmbeddings.Summarize"/> found.</summary>
/// <param name="Rows">Number of rows.</param>
/// <param name="Dimension">Vector dimension.</param>
/// <param name="NonFiniteRows">Rows with a NaN or ±Inf value.</param>
/// <param name="ZeroRows">All-zero rows.</param>
/// <param name="NormMin">Smallest L2 norm over the finite rows (NaN when none).</param>
/// <param name="NormMean">Mean L2 norm over the finite rows.</param>
/// <param name="NormMax">Largest L2 norm over the finite rows.</param>
/// <param name="AllUnitNorm">True when every finite row has norm 1 ± 1e-3.</param>
/// <param name="FirstProblem">The first non-finite row (else the first zero row) as the error loading would raise, or null.</param>
public sealed record EmbeddingsSummary(int Rows, int Dimension, int NonFiniteRows, int ZeroRows, double NormMin,
                                       double NormMean, double NormMax, bool AllUnitNorm, DataFormatException? FirstProblem);
