namespace PinnerSage.Tests.ItemSage.Model;

/// <summary>Central finite differences against an analytic gradient.</summary>
/// <remarks>Loss L = Σᵢ Rᵢ·yᵢ with fixed random R (so dL/dy = R), evaluated in float by the layer and summed in
/// double. With step h = 1e-3 on O(1) values the truncation error is O(h²·L''') ≈ 1e-6 and the rounding error is about
/// 2⁻²⁴·|L|/h ≈ 1e-4·|L|; so each coordinate must agree within 3% of max(|analytic|, |numeric|, 1% of the largest
/// gradient of the block) — a wrong sign, a missing term or a wrong factor fails by far more, while float noise on
/// near-zero coordinates is judged against the block's scale.</remarks>
internal static class GradientCheck
{
    public const float Step = 1e-3f;
    public const double Tolerance = 3e-2;

    public static float[] RandomVector(Random random, int n, double scale = 1)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return x;
    }

    public static double Dot(ReadOnlySpan<float> r, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int i = 0; i < r.Length; i++) s += (double)r[i] * y[i];
        return s;
    }

    /// <summary>Checks <paramref name="analytic"/>[i] = ∂loss/∂values[i] for the given indices (all when null).</summary>
    public static void Check(string what, float[] values, int offset, ReadOnlySpan<float> analytic, Func<double> loss,
                             IEnumerable<int>? indices = null, float step = Step)
    {
        var idx = (indices ?? Enumerable.Range(0, analytic.Length)).ToArray();
        double largest = 0;
        foreach (int i in idx) largest = Math.Max(largest, Math.Abs(analytic[i]));
        var numeric = new double[idx.Length];
        for (int q = 0; q < idx.Length; q++)
        {
            int i = idx[q];
            float old = values[offset + i];
            values[offset + i] = old + step;
            double up = loss();
            values[offset + i] = old - step;
            double down = loss();
            values[offset + i] = old;
            numeric[q] = (up - down) / (2 * step);
            largest = Math.Max(largest, Math.Abs(numeric[q]));
        }
        Assert.True(largest > 0, $"{what}: all gradients are zero (the check would be vacuous)");
        for (int q = 0; q < idx.Length; q++)
        {
            double a = analytic[idx[q]], n = numeric[q];
            double denom = Math.Max(Math.Max(Math.Abs(a), Math.Abs(n)), 1e-2 * largest);
            Assert.True(Math.Abs(a - n) <= Tolerance * denom,
                $"{what}[{idx[q]}]: analytic {a:G6} vs numeric {n:G6} (largest {largest:G4})");
        }
    }
}
