using PinnerSage.Numerics;
namespace PinnerSage.ItemSage.Training;

/// <summary>SplitMix64 (Steele, Lea &amp; Flood 2014): a one-word generator whose whole position is <see cref="State"/>,
/// so a checkpoint restores the exact stream. Used for batch sampling; the stream is fixed by this code alone.</summary>
internal sealed class TrainingRandom
{
    public TrainingRandom(ulong seed) => State = seed ^ 0x5DEECE66DUL;

    /// <summary>The generator's position (save and restore it to resume the stream).</summary>
    public ulong State { get; set; }

    public ulong NextUInt64() => SplitMix64.Mix(State += SplitMix64.Gamma);

    /// <summary>Uniform in [0, n) (Lemire's multiply-shift).</summary>
    public int NextInt(int n) => (int)Math.BigMul(NextUInt64(), (ulong)n, out _);

    /// <summary>A well-mixed 64-bit value of (a, b) without advancing any stream (e.g. a per-step dropout seed).</summary>
    public static ulong Mix(ulong a, ulong b)
    {
        return SplitMix64.Mix(a * SplitMix64.Gamma + b + 0x632BE59BD9B4E019UL);
    }
}
