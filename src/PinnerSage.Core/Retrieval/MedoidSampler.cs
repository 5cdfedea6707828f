using PinnerSage.Numerics;

namespace PinnerSage.Retrieval;

/// <summary>Picks which of a user's medoids a request queries.</summary>
/// <remarks>
/// <para>PinnerSage (Pal et al., KDD 2020, §3.3 "Retrieval"): sample 3 medoids with probability proportional to
/// importance. Without replacement is our choice (papers/PINNERSAGE.md); every medoid is taken when a user has at most
/// e. Weighted sampling without replacement uses the keys of Efraimidis &amp; Spirakis (Information Processing Letters
/// 97(5), 2006, Algorithm A-Res): key_i = u_i^(1/w_i) with u_i uniform in (0, 1], keep the e largest keys. The result
/// is distributed exactly as e successive draws, each ∝ weight among those not yet drawn. We compare ln(u_i)/w_i, the
/// same order without underflow. A weight ≤ 0 (or not finite) gets key −∞: such clusters are taken only when too few
/// others exist, in cluster order (our choice). O(n·e) for n clusters; no allocation.</para>
/// </remarks>
internal static class MedoidSampler
{
    /// <summary>Writes the indices (into <paramref name="weights"/>) of min(e, n) picked clusters to
    /// <paramref name="destination"/>, ordered by decreasing weight (ties: smaller index); returns how many.</summary>
    /// <param name="weights">Importance of each candidate cluster.</param>
    /// <param name="e">Clusters wanted.</param>
    /// <param name="mode">Sampling or top importance.</param>
    /// <param name="seed">Seed of the uniform draws (ignored by <see cref="MedoidSampling.TopImportance"/>).</param>
    /// <param name="keys">Scratch of at least weights.Length doubles.</param>
    /// <param name="destination">At least min(e, n) entries.</param>
    public static int Sample(ReadOnlySpan<double> weights, int e, MedoidSampling mode, ulong seed, Span<double> keys,
                             Span<int> destination)
    {
        int n = weights.Length, take = Math.Min(e, n);
        if (take == 0) return 0;
        if (take == n)
        {
            for (int i = 0; i < n; i++) destination[i] = i;
        }
        else
        {
            var rng = new SplitMix64(seed);
            for (int i = 0; i < n; i++)
            {
                double w = weights[i];
                bool usable = w > 0 && double.IsFinite(w);
                // Draw for every cluster, usable or not, so one cluster's weight never shifts another's draw.
                double u = rng.NextDoubleNonZero();
                keys[i] = !usable ? double.NegativeInfinity
                        : mode == MedoidSampling.TopImportance ? w
                        : Math.Log(u) / w;
            }
            // Partial selection of the `take` largest keys (ties: smaller index), e is small.
            for (int t = 0; t < take; t++)
            {
                int best = -1;
                for (int i = 0; i < n; i++)
                {
                    if (Contains(destination[..t], i)) continue;
                    if (best < 0 || keys[i] > keys[best]) best = i;
                }
                destination[t] = best;
            }
        }
        SortByWeight(weights, destination[..take]);
        return take;
    }

    private static bool Contains(ReadOnlySpan<int> picked, int i)
    {
        foreach (int p in picked)
        {
            if (p == i) return true;
        }
        return false;
    }

    /// <summary>Insertion sort by decreasing weight, ties by index (a handful of entries).</summary>
    private static void SortByWeight(ReadOnlySpan<double> weights, Span<int> picked)
    {
        for (int a = 1; a < picked.Length; a++)
        {
            int x = picked[a], b = a - 1;
            while (b >= 0 && Later(weights, picked[b], x))
            {
                picked[b + 1] = picked[b];
                b--;
            }
            picked[b + 1] = x;
        }
    }

    private static bool Later(ReadOnlySpan<double> weights, int i, int j)
    {
        double wi = Weight(weights[i]), wj = Weight(weights[j]);
        return wi < wj || (wi == wj && i > j);
    }

    private static double Weight(double w) => w > 0 && double.IsFinite(w) ? w : 0;
}
