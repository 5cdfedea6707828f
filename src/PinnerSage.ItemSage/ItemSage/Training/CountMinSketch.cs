namespace PinnerSage.ItemSage.Training;

/// <summary>A count-min sketch of item frequencies (Cormode &amp; Muthukrishnan 2005): <see cref="Depth"/> rows of
/// <see cref="Width"/> counters, one hash per row; an item's estimate is the minimum of its counters.</summary>
/// <remarks>ItemSage (Baltescu et al., KDD 2022, §3.4) estimates the in-batch sampling probability of each product
/// with a count-min sketch for the logQ correction (Yi et al., RecSys 2019). Guarantees: the estimate never
/// under-counts, and over-counts by more than ε·N (ε = e / width, N = total count) with probability at most e^−depth.
/// Hashes (our choice): multiply-shift on the 64-bit key with odd multipliers drawn from a seeded SplitMix64 stream,
/// so the sketch is deterministic for a seed. Counters are 64-bit; the state can be saved and restored exactly.</remarks>
internal sealed class CountMinSketch
{
    private readonly long[] _counts;
    private readonly ulong[] _multipliers;
    private readonly int _shift;

    /// <summary>Creates an empty sketch; <paramref name="width"/> is rounded up to a power of two.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Width below 2 or above 2^28, depth outside 1…16.</exception>
    public CountMinSketch(int width = 1 << 16, int depth = 4, ulong seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, 1 << 28);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, 16);
        int bits = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)width - 1);
        Width = 1 << bits;
        Depth = depth;
        _shift = 64 - bits;
        _counts = new long[Width * depth];
        _multipliers = new ulong[depth];
        var random = new TrainingRandom(seed);
        for (int r = 0; r < depth; r++) _multipliers[r] = random.NextUInt64() | 1UL;
    }

    /// <summary>Counters per row (a power of two).</summary>
    public int Width { get; }

    /// <summary>Number of rows (hash functions).</summary>
    public int Depth { get; }

    /// <summary>Sum of all added counts.</summary>
    public long Total { get; private set; }

    /// <summary>Adds <paramref name="count"/> occurrences of <paramref name="key"/>.</summary>
    public void Add(long key, long count = 1)
    {
        for (int r = 0; r < Depth; r++) _counts[r * Width + Slot(key, r)] += count;
        Total += count;
    }

    /// <summary>The estimated count of <paramref name="key"/> (≥ its true count).</summary>
    public long Estimate(long key)
    {
        long min = long.MaxValue;
        for (int r = 0; r < Depth; r++) min = Math.Min(min, _counts[r * Width + Slot(key, r)]);
        return min;
    }

    /// <summary>Estimated frequency Estimate/Total (0 when empty).</summary>
    public double Probability(long key) => Total == 0 ? 0 : (double)Estimate(key) / Total;

    /// <summary>Writes the counters (for checkpoints).</summary>
    public void Write(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Width);
        writer.Write(Depth);
        writer.Write(Total);
        foreach (ulong m in _multipliers) writer.Write(m);
        foreach (long c in _counts) writer.Write(c);
    }

    /// <summary>Reads a sketch written by <see cref="Write"/>.</summary>
    public static CountMinSketch Read(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int width = reader.ReadInt32(), depth = reader.ReadInt32();
        var s = new CountMinSketch(width, depth) { Total = reader.ReadInt64() };
        for (int r = 0; r < depth; r++) s._multipliers[r] = reader.ReadUInt64();
        for (int i = 0; i < s._counts.Length; i++) s._counts[i] = reader.ReadInt64();
        return s;
    }

    private int Slot(long key, int row) => (int)(((ulong)key * _multipliers[row] + (ulong)row * 0x9E3779B97F4A7C15UL) * 0xBF58476D1CE4E5B9UL >> _shift);
}
