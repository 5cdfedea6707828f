namespace PinnerSage.ItemSage.Model;

/// <summary>The row-sparse parameter tables of a tower (embedding tables updated only where a batch touched them).</summary>
internal sealed class SparseRowSet
{
    private readonly SparseTable[] _tables;

    internal SparseRowSet(params SparseTable[] tables) => _tables = tables;

    /// <summary>The tables, in parameter-layout order.</summary>
    public IReadOnlyList<SparseTable> Tables => _tables;

    /// <summary>Forgets every touched row.</summary>
    internal void Clear()
    {
        foreach (SparseTable t in _tables) t.Clear();
    }
}

/// <summary>One row-sparse table: rows × <see cref="RowLength"/> floats at <see cref="Offset"/> of the flat
/// parameter and gradient arrays, with the rows touched since the last clear (each once, in first-touch order).</summary>
internal sealed class SparseTable
{
    private readonly bool[] _touched;
    private int[] _rows = new int[64];

    internal SparseTable(string name, int offset, int rows, int rowLength)
    {
        Name = name;
        Offset = offset;
        Rows = rows;
        RowLength = rowLength;
        _touched = new bool[rows];
    }

    /// <summary>Name for messages ("E", "W").</summary>
    public string Name { get; }

    /// <summary>First float of row 0 in the flat arrays.</summary>
    public int Offset { get; }

    /// <summary>Rows in the table.</summary>
    public int Rows { get; }

    /// <summary>Floats per row.</summary>
    public int RowLength { get; }

    /// <summary>How many rows are touched.</summary>
    public int TouchedCount { get; private set; }

    /// <summary>The touched rows.</summary>
    public ReadOnlySpan<int> TouchedRows => _rows.AsSpan(0, TouchedCount);

    /// <summary>Whether <paramref name="row"/> is touched.</summary>
    public bool IsTouched(int row) => _touched[row];

    internal void Touch(int row)
    {
        if (_touched[row]) return;
        _touched[row] = true;
        if (TouchedCount == _rows.Length) Array.Resize(ref _rows, _rows.Length * 2);
        _rows[TouchedCount++] = row;
    }

    internal void Clear()
    {
        foreach (int r in TouchedRows) _touched[r] = false;
        TouchedCount = 0;
    }
}
