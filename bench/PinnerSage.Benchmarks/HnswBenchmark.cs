using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Synthetic;
using PinnerSage.Tests;

namespace PinnerSage.Benchmarks;

/// <summary>HNSW against hnswlib (Debian python3-hnswlib, bench/peers/hnsw.py) in the same run, on the same vectors:
/// M = 16, efConstruction = 200, cosine, build on 2 threads, single-threaded search of held-out queries swept over ef;
/// reports build time, queries/s at the smallest ef reaching recall@10 ≥ 0.95 and ≥ 0.99 for each library separately,
/// and memory per vector. Data: (1) the SyntheticWorld's item vectors (100k × 256), (2) "real-derived": the 3,170 real
/// amazon-scientific embeddings (text_lm + image rows, 512-d) projected to 256-d by a fixed Gaussian random projection,
/// then 100k points drawn as a real row mixed with a random other real row (weight 0.7…1) plus 5% noise.
/// Options: <c>--quick</c> (20k vectors, 500 queries, fewer repeats), <c>--n N</c>, <c>--data synthetic|real-derived</c>, <c>--kernels</c>; development: <c>--ours-only</c>, <c>--cache DIR</c> (dot kernel vs
/// TensorPrimitives.Dot at d = 256, printed only).</summary>
internal static class HnswBenchmark
{
    private const int Dimension = 256;
    private const int K = 10;
    private const int M = 16;
    private const int EfConstruction = 200;
    private const int BuildThreads = 2;
    private const string Python = "/usr/bin/python3";
    private static readonly int[] EfSweep = [10, 12, 14, 16, 20, 24, 28, 32, 36, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 256, 384, 512];

    public static int Run(string[] args)
    {
        if (args.Contains("--kernels")) return Kernels();
        bool quick = args.Contains("--quick");
        int n = quick ? 20_000 : 100_000;
        int nAt = Array.IndexOf(args, "--n");
        if (nAt >= 0) n = int.Parse(args[nAt + 1], CultureInfo.InvariantCulture);
        int queries = quick ? 500 : 1000;
        int repeats = quick ? 2 : 3;
        string root = RepoPaths.FindRepoRoot() ?? throw new DirectoryNotFoundException("run from inside the repository (PinnerSage.slnx not found)");
        var results = new List<JsonObject>();
        int dataAt = Array.IndexOf(args, "--data");
        string[] datasets = dataAt >= 0 ? [args[dataAt + 1]] : ["synthetic", "real-derived"];
        foreach (string dataset in datasets)
        {
            float[]? all = dataset == "synthetic" ? Synthetic(n + queries) : RealDerived(n + queries);
            if (all is null)
            {
                Console.WriteLine($"{dataset}: skipped (datasets not found)");
                continue;
            }
            float[] data = all.AsSpan(0, n * Dimension).ToArray();
            float[] q = all.AsSpan(n * Dimension).ToArray();
            Console.WriteLine($"{dataset}: {n:N0} × {Dimension}, {queries} queries; exact top-{K}…");
            int[] truth = ExactTopK(data, n, q, queries);
            results.Add(RunOne(root, dataset, data, n, q, queries, truth, repeats, args));
        }
        Write(root, results, quick, n, queries);
        return 0;
    }

    private static JsonObject RunOne(string root, string dataset, float[] data, int n, float[] q, int queries, int[] truth, int repeats, string[] args)
    {
        var options = new HnswOptions { M = M, EfConstruction = EfConstruction, Metric = VectorMetric.Cosine };
        var index = new HnswIndex(Dimension, options, n);
        // --cache DIR (development only): reuse a saved build, so search-side changes can be compared in seconds.
        int cacheAt = Array.IndexOf(args, "--cache");
        string? cached = cacheAt >= 0 ? Path.Combine(args[cacheAt + 1], $"{dataset}-{n}.hnsw") : null;
        long start = Stopwatch.GetTimestamp();
        TimeSpan buildCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        if (cached is not null && File.Exists(cached)) index = HnswIndex.Load(cached);
        else index.Build(data, n, BuildThreads);
        double build = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double buildCpu = (Process.GetCurrentProcess().TotalProcessorTime - buildCpu0).TotalSeconds;
        if (cached is not null && !File.Exists(cached)) index.Save(cached);
        string file = Path.Combine(Path.GetTempPath(), $"pinnersage-bench-{Environment.ProcessId}.hnsw");
        index.Save(file);
        double fileBytes = new FileInfo(file).Length / (double)n;
        start = Stopwatch.GetTimestamp();
        HnswIndex.Load(file);
        double load = Stopwatch.GetElapsedTime(start).TotalSeconds;
        File.Delete(file);
        Console.WriteLine($"  ours: build {build:F2} s ({buildCpu:F1} s CPU), {index.MemoryBytes / (double)n:F0} bytes/vector in memory, load {load * 1000:F0} ms");
        var ours = new JsonArray();
        var found = new Neighbor[K];
        foreach (int ef in EfSweep)
        {
            for (int i = 0; i < Math.Min(50, queries); i++) index.Search(q.AsSpan(i * Dimension, Dimension), K, ef, found);
            double best = double.PositiveInfinity;
            long hits = 0;
            for (int r = 0; r < repeats; r++)
            {
                hits = 0;
                // Process CPU time, as the peer: on a shared machine other processes' load inflates wall time, not CPU time.
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                for (int i = 0; i < queries; i++)
                {
                    int got = index.Search(q.AsSpan(i * Dimension, Dimension), K, ef, found);
                    ReadOnlySpan<int> t = truth.AsSpan(i * K, K);
                    for (int j = 0; j < got; j++) if (t.Contains(found[j].Label)) hits++;
                }
                best = Math.Min(best, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds);
            }
            ours.Add(new JsonObject { ["ef"] = ef, ["recall"] = hits / (double)(queries * K), ["qps"] = queries / best });
        }
        JsonObject? peer = args.Contains("--ours-only") ? null : RunPeer(root, data, n, q, queries, truth, repeats);
        var row = new JsonObject
        {
            ["dataset"] = dataset,
            ["n"] = n,
            ["queries"] = queries,
            ["ours"] = new JsonObject
            {
                ["build_seconds"] = build,
                ["build_cpu_seconds"] = buildCpu,
                ["memory_bytes_per_vector"] = index.MemoryBytes / (double)n,
                ["file_bytes_per_vector"] = fileBytes,
                ["load_seconds"] = load,
                ["sweep"] = ours,
            },
            ["hnswlib"] = peer,
        };
        foreach (double target in new[] { 0.95, 0.99 })
        {
            JsonObject? a = AtRecall(ours, target), b = peer is null ? null : AtRecall(peer["sweep"]!.AsArray(), target);
            Console.WriteLine($"  recall ≥ {target}: ours {Describe(a)}   hnswlib {Describe(b)}" +
                              (a is not null && b is not null ? $"   ratio {(double)a["qps"]! / (double)b["qps"]!:F2}×" : ""));
        }
        if (peer is not null) Console.WriteLine($"  hnswlib: build {(double)peer["build_seconds"]!:F2} s ({(double)peer["build_cpu_seconds"]!:F1} s CPU)");
        return row;
    }

    private static string Describe(JsonObject? p) =>
        p is null ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"ef {(int)p["ef"]!} {(double)p["qps"]!:N0} q/s (recall {(double)p["recall"]!:F4})");

    /// <summary>The sweep point with the smallest ef reaching <paramref name="target"/>.</summary>
    private static JsonObject? AtRecall(JsonArray sweep, double target) =>
        sweep.Select(p => p!.AsObject()).Where(p => (double)p["recall"]! >= target).OrderBy(p => (int)p["ef"]!).FirstOrDefault();

    private static float[] Synthetic(int count)
    {
        var world = SyntheticWorld.Create(new SyntheticWorldOptions { Users = 100, Items = count, Dimension = Dimension, Seed = 7 });
        return world.ItemVectors.ToArray();
    }

    private static float[]? RealDerived(int count)
    {
        string? text = RepoPaths.Dataset("amazon-scientific/vectors/text_lm.npy");
        string? image = RepoPaths.Dataset("amazon-scientific/vectors/image.npy");
        if (text is null || image is null) return null;
        float[] a = Npy.ReadFloat32(text, out int na, out int da);
        float[] b = Npy.ReadFloat32(image, out int nb, out int db);
        if (da != db) throw new InvalidDataException("text_lm and image dimensions differ");
        int rows = na + nb, d = da;
        float[] real = [.. a, .. b];
        for (int i = 0; i < rows; i++) Normalize(real.AsSpan(i * d, d));
        var random = new Random(11);
        // Fixed Gaussian random projection d → 256 (Johnson–Lindenstrauss: angles kept up to a few percent).
        var projection = new float[Dimension * d];
        for (int i = 0; i < projection.Length; i++) projection[i] = Gaussian(random);
        var projected = new float[rows * Dimension];
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<float> row = real.AsSpan(i * d, d);
            for (int j = 0; j < Dimension; j++) projected[i * Dimension + j] = TensorPrimitives.Dot(row, projection.AsSpan(j * d, d));
            Normalize(projected.AsSpan(i * Dimension, Dimension));
        }
        var result = new float[count * Dimension];
        for (int i = 0; i < count; i++)
        {
            // Same modality partner (text with text, image with image) so mixes stay on that embedding's manifold.
            int baseRow = random.Next(rows);
            int half = baseRow < na ? 0 : na, size = baseRow < na ? na : nb;
            int other = half + random.Next(size);
            float w = 0.7f + 0.3f * (float)random.NextDouble();
            Span<float> x = result.AsSpan(i * Dimension, Dimension);
            for (int j = 0; j < Dimension; j++)
                x[j] = w * projected[baseRow * Dimension + j] + (1 - w) * projected[other * Dimension + j] + 0.05f / 16 * Gaussian(random);
            Normalize(x);
        }
        return result;
    }

    private static void Normalize(Span<float> x)
    {
        float norm = TensorPrimitives.Norm(x);
        if (norm > 0) TensorPrimitives.Divide(x, norm, x);
    }

    private static float Gaussian(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    /// <summary>Exact cosine top-k by brute force (rows normalised first), labels nearest first.</summary>
    private static int[] ExactTopK(float[] data, int n, float[] q, int queries)
    {
        float[] x = (float[])data.Clone();
        for (int i = 0; i < n; i++) Normalize(x.AsSpan(i * Dimension, Dimension));
        var truth = new int[queries * K];
        Parallel.For(0, queries, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            float[] query = q.AsSpan(i * Dimension, Dimension).ToArray();
            Normalize(query);
            // Keep the K best in a small sorted array (insertion), instead of sorting all n scores.
            var best = new (float Score, int Row)[K];
            best.AsSpan().Fill((float.NegativeInfinity, -1));
            for (int r = 0; r < n; r++)
            {
                float score = TensorPrimitives.Dot(x.AsSpan(r * Dimension, Dimension), query);
                if (score <= best[K - 1].Score) continue;
                int j = K - 1;
                while (j > 0 && best[j - 1].Score < score)
                {
                    best[j] = best[j - 1];
                    j--;
                }
                best[j] = (score, r);
            }
            for (int j = 0; j < K; j++) truth[i * K + j] = best[j].Row;
        });
        return truth;
    }

    private static JsonObject? RunPeer(string root, float[] data, int n, float[] q, int queries, int[] truth, int repeats)
    {
        string script = Path.Combine(root, "bench", "peers", "hnsw.py");
        string dir = Path.Combine(Path.GetTempPath(), $"pinnersage-bench-hnsw-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            Npy.Write(Path.Combine(dir, "base.npy"), data, n, Dimension);
            Npy.Write(Path.Combine(dir, "queries.npy"), q, queries, Dimension);
            WriteInt32Npy(Path.Combine(dir, "truth.npy"), truth, queries, K);
            var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { script, Path.Combine(dir, "base.npy"), Path.Combine(dir, "queries.npy"), Path.Combine(dir, "truth.npy"),
                                         "cosine", M.ToString(CultureInfo.InvariantCulture), EfConstruction.ToString(CultureInfo.InvariantCulture),
                                         BuildThreads.ToString(CultureInfo.InvariantCulture), string.Join(",", EfSweep), repeats.ToString(CultureInfo.InvariantCulture) })
                info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            Task<string> err = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.Error.WriteLine($"hnswlib peer failed ({process.ExitCode}): {err.Result.Trim()} (apt-get install python3-hnswlib)");
                return null;
            }
            return JsonNode.Parse(stdout)!.AsObject();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"{Python} not found: hnswlib peer skipped");
            return null;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static void WriteInt32Npy(string path, int[] values, int rows, int cols)
    {
        string header = $"{{'descr': '<i4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var stream = File.Create(path);
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static void Write(string root, List<JsonObject> rows, bool quick, int n, int queries)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# HNSW vs hnswlib");
        md.AppendLine();
        md.AppendLine(string.Create(c, $"`dotnet run -c Release --project bench/PinnerSage.Benchmarks -- hnsw{(quick ? " --quick" : "")}` — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. " +
            $"{n:N0} × {Dimension} vectors, {queries:N0} held-out queries, cosine, M = {M}, efConstruction = {EfConstruction}, build on {BuildThreads} threads (both), " +
            $"search single-threaded (both; hnswlib's C++ loop via one `knn_query` batch call, ours one `Search` call per query), process CPU time, best of repeats. " +
            $"Recall@{K} against exact search; for each library separately, the smallest ef in {{{string.Join(", ", EfSweep)}}} reaching the target."));
        md.AppendLine();
        md.AppendLine(string.Create(c, $"Machine: {Environment.ProcessorCount} logical cores, {RuntimeInformation.ProcessArchitecture}, {RuntimeInformation.FrameworkDescription}."));
        md.AppendLine();
        md.AppendLine("| data | recall target | ours ef | ours q/s | hnswlib ef | hnswlib q/s | ratio |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (JsonObject row in rows)
        {
            JsonArray ours = row["ours"]!["sweep"]!.AsArray();
            JsonArray? peer = row["hnswlib"]?["sweep"]?.AsArray();
            foreach (double target in new[] { 0.95, 0.99 })
            {
                JsonObject? a = AtRecall(ours, target), b = peer is null ? null : AtRecall(peer, target);
                string ratio = a is not null && b is not null ? ((double)a["qps"]! / (double)b["qps"]!).ToString("F2", c) + "×" : "—";
                md.AppendLine(string.Create(c, $"| {row["dataset"]} | ≥ {target} | {Ef(a)} | {Qps(a)} | {Ef(b)} | {Qps(b)} | {ratio} |"));
            }
        }
        md.AppendLine();
        md.AppendLine("| data | ours build (s) | hnswlib build (s) | ours build CPU (s) | hnswlib build CPU (s) | ours memory B/vector | ours file B/vector | hnswlib file B/vector | ours load (ms) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (JsonObject row in rows)
        {
            JsonNode o = row["ours"]!;
            JsonNode? p = row["hnswlib"];
            md.AppendLine(string.Create(c,
                $"| {row["dataset"]} | {(double)o["build_seconds"]!:F2} | {(p is null ? "—" : ((double)p["build_seconds"]!).ToString("F2", c))} | " +
                $"{(double)o["build_cpu_seconds"]!:F1} | {(p is null ? "—" : ((double)p["build_cpu_seconds"]!).ToString("F1", c))} | " +
                $"{(double)o["memory_bytes_per_vector"]!:F0} | {(double)o["file_bytes_per_vector"]!:F0} | " +
                $"{(p is null ? "—" : ((double)p["file_bytes_per_vector"]!).ToString("F0", c))} | {(double)o["load_seconds"]! * 1000:F0} |"));
        }
        md.AppendLine();
        md.AppendLine("Full sweeps (ef: recall / q/s) are in hnsw.json. Data: *synthetic* = `SyntheticWorld` item vectors (seed 7; queries = further items " +
                      "of the same world); *real-derived* = the 3,170 real amazon-scientific embeddings (text_lm + image, 512-d) randomly projected to 256-d, " +
                      "each point a real row mixed with another real row of the same modality (weight 0.7–1) plus 5% Gaussian noise — the shared datasets " +
                      "hold no 100k real table. Memory: ours = layer-0 block + upper layers + labels in memory; file sizes for both.");
        string dir = Path.Combine(root, "bench", "results");
        Directory.CreateDirectory(dir);
        AtomicFile.WriteText(Path.Combine(dir, "hnsw.md"), w => w.Write(md.ToString()));
        var doc = new JsonObject { ["benchmark"] = "hnsw", ["quick"] = quick, ["utc"] = DateTime.UtcNow.ToString("O"), ["rows"] = new JsonArray(rows.Select(r => (JsonNode)r.DeepClone()).ToArray()) };
        AtomicFile.WriteText(Path.Combine(dir, "hnsw.json"), w => w.Write(doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"));
        Console.WriteLine($"wrote {Path.Combine(dir, "hnsw.md")}");
    }

    private static string Ef(JsonObject? p) => p is null ? "—" : ((int)p["ef"]!).ToString(CultureInfo.InvariantCulture);

    private static string Qps(JsonObject? p) => p is null ? "—" : ((double)p["qps"]!).ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Our hand-written dot kernel vs TensorPrimitives.Dot at d = 256 (ns per call, best of 5).</summary>
    private static int Kernels()
    {
        var random = new Random(1);
        float[] x = Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray();
        float[] y = Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray();
        const int calls = 5_000_000;
        double Time(Func<float> f)
        {
            double best = double.PositiveInfinity;
            float sink = 0;
            for (int r = 0; r < 5; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < calls; i++) sink += f();
                best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalNanoseconds / calls);
            }
            GC.KeepAlive(sink);
            return best;
        }
        double ours = Time(() => DistanceKernels.Dot(ref x[0], ref y[0], Dimension));
        double tp = Time(() => TensorPrimitives.Dot(x, y));
        Console.WriteLine($"dot d = {Dimension}: ours {ours:F1} ns, TensorPrimitives.Dot {tp:F1} ns");
        return 0;
    }
}
