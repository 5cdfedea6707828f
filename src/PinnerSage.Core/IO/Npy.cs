namespace PinnerSage.IO;

/// <summary>CONTRACT STUB (owned by the data-formats work): NumPy .npy v1/v2 reading and atomic writing.</summary>
public static class Npy
{
    /// <summary>Writes a float32 [rows, cols] C-order array to <paramref name="path"/> atomically (temp file + rename).</summary>
    public static void Write(string path, ReadOnlySpan<float> data, int rows, int cols) => throw new NotImplementedException();

    /// <summary>Writes a float64 [rows, cols] C-order array to <paramref name="path"/> atomically (temp file + rename).</summary>
    public static void Write(string path, ReadOnlySpan<double> data, int rows, int cols) => throw new NotImplementedException();
}
