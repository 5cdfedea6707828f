namespace PinnerSage.Numerics;

/// <summary>xoshiro256** (Blackman &amp; Vigna 2018) seeded through SplitMix64: a small, fast generator whose
/// stream is fixed by this code alone, so a synthetic world or a tower's initial weights are byte-identical across .NET
/// versions and machines (System.Random's seeded stream is an implementation detail). One instance per block of work.</summary>
internal sealed class SplitRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareGaussian;
    private bool _hasSpare;

    /// <summary>Creates the stream for (<paramref name="seed"/>, <paramref name="stream"/>, <paramref name="index"/>):
    /// different purposes (catalogue, items, user blocks) use different <paramref name="stream"/> tags so they never
    /// share random numbers, and blocks use their index, so any block can be generated alone.</summary>
    public SplitRandom(ulong seed, ulong stream, ulong index)
    {
        ulong x = seed ^ (stream * 0x9E3779B97F4A7C15UL) ^ (index * 0xD1B54A32D192ED03UL);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x) => SplitMix64.Mix(x += SplitMix64.Gamma);

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in (0, 1]: safe under a logarithm.</summary>
    public double NextDoubleNonZero() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="n"/>) by Lemire's multiply-shift (the tiny bias for n ≪ 2^64 is
    /// irrelevant here and keeps the stream one draw per call).</summary>
    public int NextInt(int n) => (int)Math.BigMul(NextUInt64(), (ulong)n, out _);

    public double NextExponential() => -Math.Log(NextDoubleNonZero());

    /// <summary>Standard normal by the Marsaglia polar method (pairs; the second is kept for the next call).</summary>
    public double NextGaussian()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spareGaussian;
        }
        double u, v, s;
        do
        {
            u = 2 * NextDouble() - 1;
            v = 2 * NextDouble() - 1;
            s = u * u + v * v;
        }
        while (s >= 1 || s == 0);
        double f = Math.Sqrt(-2 * Math.Log(s) / s);
        _spareGaussian = v * f;
        _hasSpare = true;
        return u * f;
    }

    /// <summary>Index drawn from a cumulative distribution (non-decreasing, last entry = total) by binary search.</summary>
    public int NextFromCumulative(ReadOnlySpan<double> cumulative)
    {
        double x = NextDouble() * cumulative[^1];
        int lo = 0, hi = cumulative.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] > x) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }
}
