using System.Runtime.ExceptionServices;

namespace PinnerSage.Ann;

/// <summary>An index with K-NN-SEARCH at a given ef and an optional label filter (HNSW, float or quantized).</summary>
internal interface IFilteredSearch
{
    int Search(ReadOnlySpan<float> query, int k, int ef, SearchFilter? filter, Span<Neighbor> destination);
}

/// <summary>Batch search: many queries in one call, spread over threads (as hnswlib's <c>knn_query</c> and FAISS's
/// <c>search</c> with n queries).</summary>
/// <remarks>Queries are handed out in blocks of <see cref="Block"/> rows from a shared counter, so a thread that drew
/// easy queries takes more blocks (our choice; a static split leaves a core idle at the end). Each query runs the
/// single-query search, so results equal q separate calls. The caller's thread works too; with one thread nothing is
/// started. An exception in any thread (a throwing filter predicate) stops all of them and is rethrown to the caller.</remarks>
internal static class BatchSearch
{
    private const int Block = 16;

    public static unsafe void Run(IFilteredSearch index, int dimension, ReadOnlySpan<float> queries, int k, int ef, SearchFilter? filter,
                                  Span<Neighbor> destination, Span<int> counts, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ef);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        if (queries.Length % dimension != 0)
            throw new ArgumentException($"'{nameof(queries)}' has {queries.Length} values, not a multiple of d = {dimension}", nameof(queries));
        int q = queries.Length / dimension;
        if (counts.Length != q) throw new ArgumentException($"'{nameof(counts)}' has length {counts.Length}; expected {q}", nameof(counts));
        if (destination.Length != (long)q * k)
            throw new ArgumentException($"'{nameof(destination)}' has length {destination.Length}; expected q·k = {(long)q * k}", nameof(destination));
        int blocks = (q + Block - 1) / Block;
        int next = -1;
        fixed (float* qp = queries)
        fixed (Neighbor* dp = destination)
        fixed (int* cp = counts)
        {
            float* queryBase = qp;
            Neighbor* destinationBase = dp;
            int* countBase = cp;
            ExceptionDispatchInfo? failure = null;
            void Work()
            {
                try
                {
                    int b;
                    while ((b = Interlocked.Increment(ref next)) < blocks)
                        for (int i = b * Block, end = Math.Min(q, i + Block); i < end; i++)
                            countBase[i] = index.Search(new ReadOnlySpan<float>(queryBase + (long)i * dimension, dimension), k, ef, filter,
                                                        new Span<Neighbor>(destinationBase + (long)i * k, k));
                }
                catch (Exception e)
                {
                    // A throwing filter predicate: stop every thread and rethrow on the caller's.
                    Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                    Volatile.Write(ref next, blocks);
                }
            }
            int helpers = Math.Min(threads, blocks) - 1;
            var workers = new Thread[Math.Max(helpers, 0)];
            for (int t = 0; t < workers.Length; t++)
            {
                workers[t] = new Thread(Work) { IsBackground = true, Name = "hnsw-search" };
                workers[t].Start();
            }
            Work();
            foreach (Thread w in workers) w.Join();
            failure?.Throw();
        }
    }
}
