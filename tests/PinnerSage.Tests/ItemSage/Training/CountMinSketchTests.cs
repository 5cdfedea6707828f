using PinnerSage.ItemSage.Training;

namespace PinnerSage.Tests.ItemSage.Training;

public sealed class CountMinSketchTests
{
    [Fact]
    public void Estimates_never_undercount_and_stay_within_the_epsilon_bound_of_exact_counts()
    {
        var sketch = new CountMinSketch(width: 1024, depth: 4, seed: 3);
        var exact = new Dictionary<long, long>();
        var rng = new Random(1);
        for (int i = 0; i < 200_000; i++)
        {
            // Zipf-like stream over 20,000 keys: a few heavy items and a long tail, as product engagements.
            long key = (long)Math.Floor(Math.Pow(20_000, rng.NextDouble())) * 7919;
            sketch.Add(key);
            exact[key] = exact.GetValueOrDefault(key) + 1;
        }
        Assert.Equal(200_000, sketch.Total);
        double epsilonN = Math.E / sketch.Width * sketch.Total;
        int beyond = 0;
        foreach ((long key, long count) in exact)
        {
            long estimate = sketch.Estimate(key);
            Assert.True(estimate >= count, $"key {key}: estimate {estimate} < exact {count}");
            if (estimate - count > epsilonN) beyond++;
        }
        // P(error > εN) ≤ e^−depth ≈ 1.8% per key.
        Assert.True(beyond <= exact.Count * 0.02, $"{beyond} of {exact.Count} keys beyond εN");
        // The heavy hitters are nearly exact.
        long top = exact.MaxBy(kv => kv.Value).Key;
        Assert.InRange(sketch.Probability(top), (double)exact[top] / sketch.Total, (exact[top] + epsilonN) / sketch.Total);
    }

    [Fact]
    public void Wide_sketch_is_exact_and_state_round_trips()
    {
        var sketch = new CountMinSketch(width: 1 << 16, depth: 4, seed: 9);
        for (long k = 0; k < 100; k++) sketch.Add(k, k + 1);
        for (long k = 0; k < 100; k++) Assert.Equal(k + 1, sketch.Estimate(k));
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) sketch.Write(w);
        ms.Position = 0;
        CountMinSketch copy = CountMinSketch.Read(new BinaryReader(ms));
        Assert.Equal(sketch.Total, copy.Total);
        for (long k = 0; k < 200; k++) Assert.Equal(sketch.Estimate(k), copy.Estimate(k));
        Assert.Equal(0, new CountMinSketch(16, 2).Probability(5));
    }
}
