using PinnerSage.Numerics;
namespace PinnerSage.ItemSage.Model;

/// <summary>Inverted dropout (Srivastava et al. 2014) with a counter-based mask: element i of site s is kept iff
/// hash(seed, s, i) ≥ p·2²⁴, and kept values are scaled by 1/(1 − p). The mask depends only on (seed, site, index),
/// never on thread timing, so a forward pass is reproducible from its seed (our choice: no mask buffer needs to be
/// stored; backward recomputes it).</summary>
internal static class Dropout
{
    public static void Apply(Span<float> x, float p, ulong seed, ulong site)
    {
        if (p <= 0) return;
        uint threshold = (uint)(p * (1 << 24));
        float scale = 1f / (1f - p);
        ulong key = seed ^ (site * 0x9E3779B97F4A7C15UL);
        for (int i = 0; i < x.Length; i++)
            x[i] = Keep(key, i, threshold) ? x[i] * scale : 0f;
    }

    private static bool Keep(ulong key, int i, uint threshold)
    {
        ulong z = SplitMix64.Mix(key + (ulong)(uint)i * 0xBF58476D1CE4E5B9UL + 0x94D049BB133111EBUL);
        return (uint)(z >> 40) >= threshold;
    }
}
