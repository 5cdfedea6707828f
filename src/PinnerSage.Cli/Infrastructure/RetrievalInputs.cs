using PinnerSage.Ann;
using PinnerSage.IO;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>The index and item table behind `recommend` and `similar`. By default everything comes from the index
/// file alone: an index built by `index build` carries its item ids and vectors, so users pass one file and rows can
/// never disagree with a separate embeddings file (our choice). <c>--embeddings</c> supplies the table for an index
/// without ids, and without <c>--index</c> it is searched exactly (brute force; fine up to ~100k items). The index
/// file may be a float or an int8 one (`index build --quantization int8`); the kind is read from the file.</summary>
internal sealed class RetrievalInputs : IDisposable
{
    private RetrievalInputs(IVectorIndex index, ItemEmbeddings items, string description)
    {
        Index = index;
        Items = items;
        Description = description;
    }

    public IVectorIndex Index { get; }

    /// <summary>Set for an int8 index (disposed with the inputs: it maps the file's float rows).</summary>
    private QuantizedHnswIndex? Quantized { get; init; }

    public ItemEmbeddings Items { get; }

    /// <summary>"HNSW index X (n items, ef 64)" or "exact search over E".</summary>
    public string Description { get; }

    /// <summary>Opens the inputs. The HNSW index is searched with the ef it was saved with (the index itself is handed
    /// to the recommender, so it can also see the refinement's duplicate mapping).</summary>
    /// <exception cref="ArgumentException">Neither path given, an index without ids and no embeddings, or a
    /// mismatch between the index and the embeddings.</exception>
    public static RetrievalInputs Open(string? indexPath, string? embeddingsPath, string? idsPath, VectorMetric metric)
    {
        if (indexPath is null)
        {
            if (embeddingsPath is null) throw new ArgumentException("give --index X.hnsw (from `pinnersage index build`) or --embeddings E.npy (exact search)");
            ItemEmbeddings table = ItemEmbeddings.Load(embeddingsPath, idsPath);
            return new RetrievalInputs(ExactIndex.Build(table.Matrix, table.Dimension, metric), table,
                                       $"exact search over {embeddingsPath} ({table.Count:N0} items, {Name(metric)})");
        }
        if (!File.Exists(indexPath)) throw new FileNotFoundException($"{indexPath}: no such index file.");
        if (QuantizedHnswIndex.IsQuantizedFile(indexPath)) return OpenQuantized(indexPath, embeddingsPath, idsPath);
        HnswIndex hnsw = HnswIndex.Load(indexPath);
        IVectorIndex index = hnsw;
        string description = $"HNSW index {indexPath} ({hnsw.Count:N0} items, {Name(hnsw.Metric)}, ef {hnsw.Options.Ef})";
        if (embeddingsPath is not null)
        {
            ItemEmbeddings table = ItemEmbeddings.Load(embeddingsPath, idsPath);
            if (table.Dimension != hnsw.Dimension)
                throw new ArgumentException($"{embeddingsPath} has dimension {table.Dimension} but {indexPath} has {hnsw.Dimension}");
            if (hnsw.ItemIds is { } ids && !ids.SequenceEqual(table.Ids, StringComparer.Ordinal))
                throw new ArgumentException($"{embeddingsPath} lists other item ids (or another order) than {indexPath} was built with");
            return new RetrievalInputs(index, table, description);
        }
        IReadOnlyList<string> itemIds = hnsw.ItemIds
            ?? throw new ArgumentException($"{indexPath} carries no item ids: pass the --embeddings it was built from");
        return new RetrievalInputs(index, FromIndex(hnsw, itemIds, indexPath), description);
    }

    private static RetrievalInputs OpenQuantized(string indexPath, string? embeddingsPath, string? idsPath)
    {
        QuantizedHnswIndex q = QuantizedHnswIndex.Load(indexPath);
        try
        {
            string description = $"HNSW int8 index {indexPath} ({q.Count:N0} items, {Name(q.Metric)}, ef {q.Options.Ef}, float rows memory-mapped)";
            ItemEmbeddings table;
            if (embeddingsPath is not null)
            {
                table = ItemEmbeddings.Load(embeddingsPath, idsPath);
                if (table.Dimension != q.Dimension)
                {
                    table.Dispose();
                    throw new ArgumentException($"{embeddingsPath} has dimension {table.Dimension} but {indexPath} has {q.Dimension}");
                }
                if (q.ItemIds is { } known && !known.SequenceEqual(table.Ids, StringComparer.Ordinal))
                {
                    table.Dispose();
                    throw new ArgumentException($"{embeddingsPath} lists other item ids (or another order) than {indexPath} was built with");
                }
            }
            else
            {
                IReadOnlyList<string> ids = q.ItemIds
                    ?? throw new ArgumentException($"{indexPath} carries no item ids: pass the --embeddings it was built from");
                int d = q.Dimension;
                var data = new float[(long)ids.Count * d];
                for (int label = 0; label < ids.Count; label++) q.TryGetVector(label, data.AsSpan(label * d, d));
                table = ItemEmbeddings.FromArray(ids, data, d, new EmbeddingsLoadOptions { AllowZeroVectors = true }, indexPath);
            }
            return new RetrievalInputs(q, table, description) { Quantized = q };
        }
        catch
        {
            q.Dispose();
            throw;
        }
    }

    /// <summary>The item table as stored in the index. A label the refined index dropped as a near-duplicate takes its
    /// representative's vector; an excluded label stays zero (the recommender skips zero medoids).</summary>
    private static ItemEmbeddings FromIndex(HnswIndex hnsw, IReadOnlyList<string> ids, string source)
    {
        int d = hnsw.Dimension;
        var data = new float[(long)ids.Count * d];
        for (int label = 0; label < ids.Count; label++)
        {
            Span<float> row = data.AsSpan(label * d, d);
            if (!hnsw.TryGetVector(label, row) && hnsw.TryGetRepresentative(label, out int representative))
                hnsw.TryGetVector(representative, row);
        }
        return ItemEmbeddings.FromArray(ids, data, d, new EmbeddingsLoadOptions { AllowZeroVectors = true }, source);
    }

    public static string Name(VectorMetric metric) => metric switch
    {
        VectorMetric.InnerProduct => "ip",
        VectorMetric.Cosine => "cosine",
        _ => "l2",
    };

    /// <summary>Parses ip | cosine | l2.</summary>
    public static VectorMetric ParseMetric(string text) => text.ToLowerInvariant() switch
    {
        "ip" or "inner-product" => VectorMetric.InnerProduct,
        "cosine" => VectorMetric.Cosine,
        "l2" => VectorMetric.L2,
        _ => throw new ArgumentException($"--metric must be ip, cosine or l2, not '{text}'"),
    };

    public void Dispose()
    {
        Items.Dispose();
        Quantized?.Dispose();
    }
}
