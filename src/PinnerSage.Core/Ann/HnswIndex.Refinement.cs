namespace PinnerSage.Ann;

public sealed partial class HnswIndex
{
    /// <summary>Inserts rows 0…n−1 of <paramref name="vectors"/> (labels = row numbers) on
    /// <paramref name="threads"/> threads, as hnswlib's parallel <c>add_items</c>: each thread takes the next row and runs
    /// Alg. 1; searches may run meanwhile.</summary>
    /// <param name="vectors">n×d row-major.</param>
    /// <param name="n">Rows.</param>
    /// <param name="threads">Worker threads ≥ 1.</param>
    /// <param name="progress">Receives the number of rows done, about every 1,000 rows and at the end.</param>
    /// <exception cref="ArgumentException">Length is not n·d, a value is not finite, or a label is already present.</exception>
    public HnswBuildReport Build(ReadOnlySpan<float> vectors, int n, int threads, IProgress<int>? progress = null) =>
        Build(vectors, n, threads, null, progress);

    /// <summary>As <see cref="Build(ReadOnlySpan{float}, int, int, IProgress{int}?)"/>, with index refinement
    /// (PinnerSage's refined index): rows in <see cref="HnswRefinement.Excluded"/> are skipped; a row whose cosine with an
    /// element already in the graph is ≥ <see cref="HnswRefinement.DuplicateCosine"/> is not inserted and is mapped to that
    /// element's label (<see cref="TryGetRepresentative"/>). The candidate twins come from the insert's own layer-0
    /// SEARCH-LAYER, so dedup costs no extra search. With several threads two near-duplicates inserted at the same
    /// moment may both stay (our choice: exact dedup would serialise the build).</summary>
    /// <exception cref="ArgumentException">Length is not n·d, a value is not finite, or a label is already present.</exception>
    public unsafe HnswBuildReport Build(ReadOnlySpan<float> vectors, int n, int threads, HnswRefinement? refinement, IProgress<int>? progress)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (vectors.Length != (long)n * Dimension)
            throw new ArgumentException($"'{nameof(vectors)}' has {vectors.Length} values; expected n·d = {(long)n * Dimension}", nameof(vectors));
        refinement?.Validate();
        for (int i = 0; i < n; i++) ValidateVector(vectors.Slice(i * Dimension, Dimension), nameof(vectors));
        lock (_labelLock)
            for (int i = 0; i < n; i++)
                if (_labelToId.ContainsKey(i)) throw new ArgumentException($"label {i} is already in the index", nameof(vectors));

        int needed = NodeCount + n;
        if (needed > _store.Capacity)
        {
            _growLock.EnterWriteLock();
            try { if (needed > _store.Capacity) Grow(needed); }
            finally { _growLock.ExitWriteLock(); }
        }

        float? duplicateCosine = refinement?.DuplicateCosine;
        IReadOnlySet<int>? excluded = refinement?.Excluded;
        int next = -1, done = 0, inserted = 0, duplicates = 0, skipped = 0;
        fixed (float* p = vectors)
        {
            float* basePtr = p;
            void Work()
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < n)
                {
                    if (excluded is not null && excluded.Contains(i)) Interlocked.Increment(ref skipped);
                    else if (Insert(i, new ReadOnlySpan<float>(basePtr + (long)i * Dimension, Dimension), duplicateCosine))
                        Interlocked.Increment(ref inserted);
                    else Interlocked.Increment(ref duplicates);
                    int d = Interlocked.Increment(ref done);
                    if (progress is not null && (d % 1000 == 0 || d == n)) progress.Report(d);
                }
            }
            if (threads == 1 || n < 2 * threads) Work();
            else
            {
                var workers = new Thread[threads - 1];
                for (int t = 0; t < workers.Length; t++)
                {
                    workers[t] = new Thread(Work) { IsBackground = true, Name = "hnsw-build" };
                    workers[t].Start();
                }
                Work();
                foreach (Thread w in workers) w.Join();
            }
        }
        return new HnswBuildReport(inserted, duplicates, skipped);
    }
}
