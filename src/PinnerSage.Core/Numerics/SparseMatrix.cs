using System.Diagnostics;
using System.Numerics.Tensors;

namespace PinnerSage.Numerics;

/// <summary>A compressed-sparse-row matrix of doubles (rows × columns; row r's entries are
/// <c>Columns/Values[RowStart[r] … RowStart[r + 1])</c>, columns increasing).</summary>
internal sealed class SparseMatrix
{
    public SparseMatrix(int rows, int columns, int[] rowStart, int[] columnIndex, double[] values)
    {
        Debug.Assert(rowStart.Length == rows + 1 && columnIndex.Length == values.Length && rowStart[rows] == values.Length);
        Rows = rows;
        ColumnCount = columns;
        RowStart = rowStart;
        Columns = columnIndex;
        Values = values;
    }

    public int Rows { get; }
    public int ColumnCount { get; }
    public int[] RowStart { get; }
    public int[] Columns { get; }
    public double[] Values { get; }
    public int NonZeros => Values.Length;

    /// <summary>Entry (r, c) or 0 (binary search; tests and small cases).</summary>
    public double this[int r, int c]
    {
        get
        {
            int k = Array.BinarySearch(Columns, RowStart[r], RowStart[r + 1] - RowStart[r], c);
            return k >= 0 ? Values[k] : 0;
        }
    }

    /// <summary>Y = this · X for a dense row-major X (ColumnCount × width) into Y (Rows × width). Each non-zero adds a
    /// scaled row of X to a row of Y: one vectorised multiply–add over the block's width, rows of X read contiguously.</summary>
    public void MultiplyDense(ReadOnlySpan<double> x, int width, Span<double> y)
    {
        Debug.Assert(x.Length >= (long)ColumnCount * width && y.Length >= (long)Rows * width);
        for (int r = 0; r < Rows; r++)
        {
            Span<double> row = y.Slice(r * width, width);
            row.Clear();
            for (int k = RowStart[r]; k < RowStart[r + 1]; k++)
                TensorPrimitives.MultiplyAdd(x.Slice(Columns[k] * width, width), Values[k], row, row);
        }
    }

    /// <summary>The transpose, in O(nnz) by counting sort (columns stay increasing within each row).</summary>
    public SparseMatrix Transpose()
    {
        var start = new int[ColumnCount + 1];
        foreach (int c in Columns) start[c + 1]++;
        for (int c = 0; c < ColumnCount; c++) start[c + 1] += start[c];
        var next = start.AsSpan(0, ColumnCount).ToArray();
        var columns = new int[NonZeros];
        var values = new double[NonZeros];
        for (int r = 0; r < Rows; r++)
            for (int k = RowStart[r]; k < RowStart[r + 1]; k++)
            {
                int slot = next[Columns[k]]++;
                columns[slot] = r;
                values[slot] = Values[k];
            }
        return new SparseMatrix(ColumnCount, Rows, start, columns, values);
    }
}
