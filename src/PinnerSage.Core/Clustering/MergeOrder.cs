using System.Diagnostics;

namespace PinnerSage.Clustering;

/// <summary>The merge history in increasing distance, stably (equal distances keep chain order), as scipy orders Z
/// after <c>nn_chain</c> (<c>np.argsort(kind='mergesort')</c>).</summary>
/// <remarks>Bottom-up merge sort over insertion-sorted runs of 16 (our choice: stable, allocation-free with
/// caller scratch, O(n log n)). Stability matters: a parent merged at the same distance as its child (duplicates,
/// distance 0) comes after it, so reversing this order lists parents before children.</remarks>
internal static class MergeOrder
{
    private const int Run = 16;

    /// <summary>Writes into <paramref name="order"/> the indices 0…keys.Length−1 sorted stably by
    /// <paramref name="keys"/>; <paramref name="scratch"/> holds at least as many ints.</summary>
    public static void SortStable(ReadOnlySpan<double> keys, Span<int> order, Span<int> scratch)
    {
        int m = keys.Length;
        Debug.Assert(order.Length >= m && scratch.Length >= m);
        for (int i = 0; i < m; i++) order[i] = i;
        for (int start = 0; start < m; start += Run)
        {
            int end = Math.Min(start + Run, m);
            for (int i = start + 1; i < end; i++)
            {
                int item = order[i];
                double key = keys[item];
                int j = i - 1;
                while (j >= start && keys[order[j]] > key)
                {
                    order[j + 1] = order[j];
                    j--;
                }
                order[j + 1] = item;
            }
        }
        Span<int> source = order[..m], target = scratch[..m];
        for (int width = Run; width < m; width *= 2)
        {
            for (int lo = 0; lo < m; lo += 2 * width)
            {
                int mid = Math.Min(lo + width, m), hi = Math.Min(lo + 2 * width, m);
                int a = lo, b = mid, t = lo;
                while (a < mid && b < hi) target[t++] = keys[source[b]] < keys[source[a]] ? source[b++] : source[a++];
                while (a < mid) target[t++] = source[a++];
                while (b < hi) target[t++] = source[b++];
            }
            Span<int> swap = source;
            source = target;
            target = swap;
        }
        if (source != order[..m]) source.CopyTo(order);
    }
}
