using System.Numerics;

namespace PinnerSage.Serving;

/// <summary>A lock-free latency histogram: log-linear buckets (each power of two of microseconds split into
/// <see cref="SubBuckets"/> equal parts, ≤ 12.5% relative error), updated with one Interlocked increment, read
/// without stopping writers (a snapshot may mix in-flight updates: fine for monitoring).</summary>
internal sealed class LatencyHistogram
{
    private const int SubBits = 3;
    private const int SubBuckets = 1 << SubBits;
    private const int Octaves = 40; // up to 2^40 µs: far beyond any request
    private readonly long[] _counts = new long[Octaves * SubBuckets];
    private long _sumMicros, _maxMicros;

    /// <summary>Records one latency in microseconds.</summary>
    public void Record(long micros)
    {
        if (micros < 0) micros = 0;
        Interlocked.Increment(ref _counts[Bucket(micros)]);
        Interlocked.Add(ref _sumMicros, micros);
        long max = Volatile.Read(ref _maxMicros);
        while (micros > max)
        {
            long seen = Interlocked.CompareExchange(ref _maxMicros, micros, max);
            if (seen == max) break;
            max = seen;
        }
    }

    /// <summary>Count, mean and the requested percentiles (upper bucket bounds, in milliseconds).</summary>
    public (long Count, double MeanMs, double MaxMs, double[] PercentilesMs) Snapshot(ReadOnlySpan<double> percentiles)
    {
        var counts = new long[_counts.Length];
        long total = 0;
        for (int i = 0; i < counts.Length; i++) total += counts[i] = Volatile.Read(ref _counts[i]);
        var result = new double[percentiles.Length];
        double maxMs = Volatile.Read(ref _maxMicros) / 1000.0;
        for (int p = 0; p < percentiles.Length && total > 0; p++)
        {
            long rank = Math.Max(1, (long)Math.Ceiling(percentiles[p] / 100.0 * total));
            long seen = 0;
            for (int b = 0; b < counts.Length; b++)
            {
                seen += counts[b];
                if (seen < rank) continue;
                result[p] = Math.Min(UpperBound(b) / 1000.0, maxMs);
                break;
            }
        }
        double mean = total == 0 ? 0 : Volatile.Read(ref _sumMicros) / 1000.0 / total;
        return (total, mean, maxMs, result);
    }

    internal static int Bucket(long micros)
    {
        if (micros < SubBuckets) return (int)micros;
        int octave = 63 - BitOperations.LeadingZeroCount((ulong)micros); // ≥ SubBits
        int sub = (int)(micros >> (octave - SubBits)) & (SubBuckets - 1);
        int index = (octave - SubBits + 1) * SubBuckets + sub;
        return Math.Min(index, Octaves * SubBuckets - 1);
    }

    /// <summary>The largest value (µs) that falls in bucket <paramref name="index"/>.</summary>
    internal static long UpperBound(int index)
    {
        if (index < SubBuckets) return index;
        int octave = index / SubBuckets + SubBits - 1;
        int sub = index % SubBuckets;
        long width = 1L << (octave - SubBits);
        return (1L << octave) + (sub + 1) * width - 1;
    }
}
