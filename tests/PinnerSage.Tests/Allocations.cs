namespace PinnerSage.Tests;

/// <summary>Measures what a warm call allocates on the calling thread. A steady per-call allocation shows in every
/// pass; background tier-up or OSR under a loaded parallel test run can charge a one-off allocation to this thread,
/// so the measure is the best of several passes, with a short pause between them.</summary>
public static class Allocations
{
    /// <summary>Runs <paramref name="pass"/> once to warm it, then returns the fewest bytes any of up to
    /// <paramref name="passes"/> further passes allocated (stopping at the first pass that allocated nothing).</summary>
    public static long BestOf(Action pass, int passes = 10)
    {
        pass();
        long minimum = long.MaxValue;
        for (int i = 0; i < passes && minimum > 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            pass();
            minimum = Math.Min(minimum, GC.GetAllocatedBytesForCurrentThread() - before);
            if (minimum > 0) Thread.Sleep(50);
        }
        return minimum;
    }
}
