using PinnerSage.Ann;
using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Ann;

/// <summary>Synthetic clustered vectors and a naive exact k-NN reference for the HNSW tests.</summary>
internal static class AnnTestData
{
    /// <summary>n vectors of dimension d around <paramref name="clusters"/> random centres (Gaussian noise), row-major.</summary>
    public static float[] Clustered(int n, int d, int clusters, int seed, float noise = 0.35f)
    {
        var random = new Random(seed);
        var centres = new float[clusters * d];
        for (int i = 0; i < centres.Length; i++) centres[i] = Gaussian(random);
        var x = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            int c = random.Next(clusters);
            for (int j = 0; j < d; j++) x[i * d + j] = centres[c * d + j] + noise * Gaussian(random);
        }
        return x;
    }

    /// <summary>An HNSW index (efConstruction 100) over n clustered rows (40 clusters), unit rows for inner product.</summary>
    public static HnswIndex BuildHnsw(VectorMetric metric, int n, int d, out float[] data, int threads = 1, int seed = 1, int m = 16)
    {
        data = Clustered(n, d, clusters: 40, seed);
        // Inner product is used on unit (or near-unit) embeddings; on raw Gaussian rows it is not a proximity at all
        // (the longest vectors win every query), for hnswlib too.
        if (metric == VectorMetric.InnerProduct) NormalizeRows(data, d);
        var index = new HnswIndex(d, new HnswOptions { Metric = metric, M = m, EfConstruction = 100 });
        index.Build(data, n, threads);
        return index;
    }

    /// <summary>The corruption contract of an index file format: <paramref name="load"/> of truncated files, a file with a
    /// byte appended, bit flips at <paramref name="flips"/>, a wrong magic and a wrong version each throw a
    /// <see cref="DataFormatException"/> naming the file, the field (length, checksum, magic, version) and a byte offset.</summary>
    public static void AssertCorruptionDetected(TempDir dir, byte[] good, Action<string> load, int[] flips, ITestOutputHelper output)
    {
        DataFormatException Fails(byte[] bytes)
        {
            string bad = dir.File("bad.index");
            File.WriteAllBytes(bad, bytes);
            var e = Assert.Throws<DataFormatException>(() => load(bad));
            Assert.Equal(bad, e.File);
            Assert.Equal(0, e.Line);
            Assert.Contains("at byte", e.Problem);
            output.WriteLine(e.Message);
            return e;
        }

        foreach (int cut in new[] { 0, 10, 127, 200, good.Length / 2, good.Length - 1 })
            Fails(good[..cut]);
        Assert.Equal("length", Fails(good[..(good.Length / 2)]).Field);
        Assert.Equal("length", Fails([.. good, 0]).Field);
        foreach (int at in flips)
        {
            byte[] flipped = (byte[])good.Clone();
            flipped[at] ^= 0x40;
            Assert.Equal("checksum", Fails(flipped).Field);
        }
        byte[] magic = (byte[])good.Clone();
        magic[0] = (byte)'X';
        Assert.Equal("magic", Fails(magic).Field);
        byte[] version = (byte[])good.Clone();
        version[8] = 99;
        Assert.Equal("version", Fails(version).Field);
    }

    public static void NormalizeRows(float[] data, int d)
    {
        for (int i = 0; i < data.Length / d; i++)
        {
            Span<float> row = data.AsSpan(i * d, d);
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(row);
            if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(row, norm, row);
        }
    }

    public static float Gaussian(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    /// <summary>Naive exact distance in the metric's "smaller is closer" convention, in double.</summary>
    public static double Distance(VectorMetric metric, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double dot = 0, xx = 0, yy = 0, l2 = 0;
        for (int i = 0; i < x.Length; i++)
        {
            dot += (double)x[i] * y[i];
            xx += (double)x[i] * x[i];
            yy += (double)y[i] * y[i];
            l2 += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        }
        return metric switch
        {
            VectorMetric.InnerProduct => 1 - dot,
            VectorMetric.Cosine => 1 - dot / Math.Sqrt(Math.Max(xx * yy, 1e-300)),
            _ => l2,
        };
    }

    /// <summary>Labels of the k nearest rows (live ones only when <paramref name="skip"/> is given), by brute force.</summary>
    public static int[] ExactTopK(VectorMetric metric, float[] data, int n, int d, ReadOnlySpan<float> query, int k, Func<int, bool>? skip = null)
    {
        var all = new (double Distance, int Label)[n];
        int m = 0;
        for (int i = 0; i < n; i++)
            if (skip is null || !skip(i)) all[m++] = (Distance(metric, data.AsSpan(i * d, d), query), i);
        return all.Take(m).OrderBy(p => p.Distance).ThenBy(p => p.Label).Take(k).Select(p => p.Label).ToArray();
    }

    /// <summary>Mean recall@k of the index over the queries against exact search.</summary>
    public static double RecallAtK(HnswIndex index, float[] data, int n, int d, float[] queries, int k, int ef) =>
        RecallAtK(index, index.Metric, data, n, d, queries, k, ef);

    /// <summary>Mean recall@k of an HNSW index (float or quantized) over the queries against exact search among the
    /// labels <paramref name="filter"/> allows (all when null).</summary>
    public static double RecallAtK(IFilteredSearch index, VectorMetric metric, float[] data, int n, int d, float[] queries, int k, int ef,
                                   SearchFilter? filter = null)
    {
        int q = queries.Length / d;
        var found = new Neighbor[k];
        double hits = 0, possible = 0;
        for (int i = 0; i < q; i++)
        {
            ReadOnlySpan<float> query = queries.AsSpan(i * d, d);
            int[] truth = ExactTopK(metric, data, n, d, query, k, filter is null ? null : label => !filter.Allows(label));
            int got = index.Search(query, k, ef, filter, found);
            var set = new HashSet<int>(truth);
            for (int j = 0; j < got; j++) if (set.Contains(found[j].Label)) hits++;
            possible += truth.Length;
        }
        return hits / possible;
    }
}
