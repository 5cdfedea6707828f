namespace PinnerSage.IO;

/// <summary>CONTRACT STUB (owned by the data-formats work): n item vectors of one dimension, row-major and
/// contiguous (memory-mapped for large .npy files), with their item ids and an id → row lookup.</summary>
public sealed class ItemEmbeddings : IDisposable
{
    /// <summary>Number of items (rows).</summary>
    public int Count => throw new NotImplementedException();

    /// <summary>Vector dimension d.</summary>
    public int Dimension => throw new NotImplementedException();

    /// <summary>Item id of a row (row order of the .npy/.ids pair).</summary>
    public string Id(int row) => throw new NotImplementedException();

    /// <summary>Looks an item id up without allocating.</summary>
    public bool TryGetRow(ReadOnlySpan<char> itemId, out int row) => throw new NotImplementedException();

    /// <summary>Row <paramref name="row"/> as a span of <see cref="Dimension"/> floats.</summary>
    public ReadOnlySpan<float> Vector(int row) => throw new NotImplementedException();

    /// <summary>All rows, Count × Dimension.</summary>
    public ReadOnlySpan<float> Matrix => throw new NotImplementedException();

    /// <summary>Loads <paramref name="npyPath"/> (float32 [n, d]) and its ids (<paramref name="idsPath"/>, default: the
    /// .npy path with extension .ids; when absent, ids are row numbers "0", "1", …) and validates them.</summary>
    /// <exception cref="DataFormatException">Bad file, NaN/Inf, zero vector, duplicate id, count mismatch.</exception>
    public static ItemEmbeddings Load(string npyPath, string? idsPath = null) => throw new NotImplementedException();

    /// <inheritdoc/>
    public void Dispose() { }
}
