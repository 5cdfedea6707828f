using System.Numerics.Tensors;
using PinnerSage.Numerics;

namespace PinnerSage.Evaluation;

/// <summary>Percentile bootstrap over users (Efron &amp; Tibshirani 1993, ch. 13): resample the users with
/// replacement, recompute each mean, take the 2.5 % and 97.5 % quantiles. Every series is resampled with the same
/// draws (a paired bootstrap), so ratios of two series (lifts) get intervals too.</summary>
/// <remarks>A resample is a vector of counts c_u (how often user u was drawn); its mean of series s is
/// Σ c_u·v_su / U, one dot product per series. Draws use SplitMix64 and Lemire's multiply-shift range reduction.
/// Quantiles interpolate linearly between order statistics (NumPy's default).</remarks>
internal static class Bootstrap
{
    /// <summary>Means of each series (rows of <paramref name="values"/>, series × users) under
    /// <paramref name="resamples"/> resamples: a series × resamples matrix.</summary>
    public static double[] ResampleMeans(ReadOnlySpan<double> values, int series, int users, int resamples, ulong seed)
    {
        var means = new double[series * resamples];
        if (users == 0) return means;
        var counts = new double[users];
        var rng = new SplitMix64(seed);
        for (int r = 0; r < resamples; r++)
        {
            DrawCounts(ref rng, counts);
            for (int s = 0; s < series; s++)
                means[s * resamples + r] = TensorPrimitives.Dot<double>(counts, values.Slice(s * users, users)) / users;
        }
        return means;
    }

    /// <summary>One resample of counts.Length units: counts[u] ← how often unit u is drawn in counts.Length draws with
    /// replacement.</summary>
    public static void DrawCounts(ref SplitMix64 rng, Span<double> counts)
    {
        counts.Clear();
        for (int i = 0; i < counts.Length; i++) counts[rng.NextInt(counts.Length)]++;
    }

    /// <summary>The 2.5 % and 97.5 % quantiles of <paramref name="samples"/> (sorted in place).</summary>
    public static (double Low, double High) Interval(Span<double> samples)
    {
        if (samples.Length == 0) return (double.NaN, double.NaN);
        samples.Sort();
        return (Quantile(samples, 0.025), Quantile(samples, 0.975));
    }

    /// <summary>Linear-interpolated quantile of sorted <paramref name="sorted"/>.</summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
