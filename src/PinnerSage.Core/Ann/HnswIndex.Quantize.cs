using System.Runtime.InteropServices;

namespace PinnerSage.Ann;

public sealed partial class HnswIndex
{
    /// <summary>An int8-quantized copy of this index for searching (see <see cref="QuantizedHnswIndex"/>): the same
    /// graph, levels, entry point, labels, tombstones and item ids; codes trained on the stored vectors. The float copy
    /// for re-ranking lives in pinned heap memory until the quantized index is saved and loaded again (then it is
    /// memory-mapped). Inserts wait while it copies; searches do not.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Dimension"/> is above <see cref="QuantizedHnswIndex.MaxDimension"/>.</exception>
    public QuantizedHnswIndex Quantize()
    {
        if (Dimension > QuantizedHnswIndex.MaxDimension)
            throw new InvalidOperationException($"int8 quantization supports d ≤ {QuantizedHnswIndex.MaxDimension}; this index has d = {Dimension}");
        _growLock.EnterWriteLock();
        try
        {
            NodeStore s = _store;
            int n = _nodeCount;
            int words = 2 + _maxM0;
            var level0 = new int[(long)n * words];
            float[] floats = GC.AllocateUninitializedArray<float>(n * Dimension, pinned: true);
            var upper = new int[]?[n];
            for (int i = 0; i < n; i++)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Header(s, i, 0), words).CopyTo(level0.AsSpan(i * words, words));
                MemoryMarshal.CreateReadOnlySpan(ref VectorRef(s, i), Dimension).CopyTo(floats.AsSpan(i * Dimension, Dimension));
                upper[i] = (int[]?)s.Upper[i]?.Clone();
            }
            int[] labels = s.Labels.AsSpan(0, n).ToArray();
            GC.KeepAlive(s);
            return QuantizedHnswIndex.FromGraph(Dimension, _options, n, _deletedCount, _entry?.Id ?? -1, _entry?.Level ?? -1,
                                                level0, labels, upper, floats, _itemIds);
        }
        finally { _growLock.ExitWriteLock(); }
    }
}
