using System.Runtime.CompilerServices;

namespace PinnerSage.Numerics;

/// <summary>SplitMix64 (Steele, Lea &amp; Flood, OOPSLA 2014): a one-word generator whose stream is fixed by this code,
/// so every seeded result (sampled medoids, HNSW levels, synthetic worlds, dropout masks, training batches) is
/// identical on every machine and .NET version; and <see cref="Mix"/>, its output function, the project's one 64-bit
/// finaliser for stable hashes.</summary>
internal struct SplitMix64(ulong seed)
{
    /// <summary>The Weyl-sequence increment (2⁶⁴/φ, odd).</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    private ulong _state = seed;

    /// <summary>The generator's position; restoring it resumes the exact stream.</summary>
    public ulong State
    {
        readonly get => _state;
        set => _state = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next() => Mix(_state += Gamma);

    /// <summary>Uniform in [0, <paramref name="n"/>) by Lemire's multiply-shift range reduction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextInt(int n) => (int)Math.BigMul(Next(), (ulong)n, out _);

    /// <summary>Uniform in (0, 1]: safe under a logarithm.</summary>
    public double NextDoubleNonZero() => ToDoubleNonZero(Next());

    /// <summary>The top 53 bits of <paramref name="bits"/> as a double in (0, 1].</summary>
    public static double ToDoubleNonZero(ulong bits) => ((bits >> 11) + 1) * (1.0 / (1UL << 53));

    /// <summary>The SplitMix64 output function: a bijective avalanche of 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>FNV-1a (64-bit) over the UTF-16 code units of <paramref name="s"/>: a hash that, unlike
    /// <see cref="string.GetHashCode()"/>, is the same in every process. Finalise with <see cref="Mix"/> to spread it.</summary>
    public static ulong Fnv1a(ReadOnlySpan<char> s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) h = (h ^ c) * 1099511628211UL;
        return h;
    }
}
