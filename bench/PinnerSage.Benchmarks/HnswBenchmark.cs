using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Synthetic;
using PinnerSage.Tests;

namespace PinnerSage.Benchmarks;

/// <summary>Our HNSW (float and int8-quantized) against its peers in the same run, on the same vectors: hnswlib compiled
/// natively (Debian's libhnswlib-dev headers, g++ -O3 -march=native, bench/peers/hnsw_native.cpp), Debian's
/// python3-hnswlib (bench/peers/hnsw.py) and FAISS IndexHNSWFlat / IndexHNSWSQ QT_8bit (python3-faiss,
/// bench/peers/hnsw_faiss.py). M = 16, efConstruction = 200, cosine, build on 2 threads, single-threaded search of
/// held-out queries swept over ef; reports queries/s at the smallest ef reaching recall@10 ≥ 0.90, 0.95 and 0.99 for
/// each library separately, build time, resident bytes per vector (measured: the process's anonymous memory before and
/// after loading the saved index; our int8 index's memory-mapped float rows separately, as the mapping's resident
/// pages) and file bytes per vector.
/// Data: (1) "zipf": 2,000 topics of Zipf sizes around random centres, plus a shared rank-16 component and noise, unit
/// length (harder than (2); like real embeddings, a few directions carry much of the variance); (2) the SyntheticWorld's
/// item vectors; (3) "real-derived": the 3,170 real amazon-scientific embeddings (text_lm + image rows, 512-d) projected
/// to 256-d by a fixed Gaussian random projection, then points drawn as a real row mixed with a random other real row
/// (weight 0.7…1) plus 5% noise.
/// Options: <c>--quick</c> (20k vectors, 500 queries, fewer repeats), <c>--n N</c>, <c>--queries Q</c>,
/// <c>--repeats R</c>, <c>--data zipf,synthetic,real-derived</c> (default zipf), <c>--append</c> (keep the other sizes'
/// rows of hnsw.json), <c>--no-python</c> (ours and native hnswlib only), <c>--kernels</c>, <c>--quantizers</c> (per-dimension vs per-vector
/// int8 codes, <see cref="Quantizers"/>); development: <c>--ours-only</c>.</summary>
internal static class HnswBenchmark
{
    private const int Dimension = 256;
    private const int K = 10;
    private const int M = 16;
    private const int EfConstruction = 200;
    private const int BuildThreads = 2;
    private const string Python = "/usr/bin/python3";
    private static readonly int[] EfSweep = [10, 12, 14, 16, 20, 24, 28, 32, 36, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 256];
    private static readonly double[] Targets = [0.90, 0.95, 0.99];
    private static readonly string[] Libraries = ["ours_int8", "ours_float", "hnswlib_native", "hnswlib_python", "faiss_hnsw_flat", "faiss_hnsw_sq8"];

    public static int Run(string[] args)
    {
        if (args.Contains("--kernels")) return Kernels();
        if (args.Contains("--quantizers")) return Quantizers(args);
        if (Array.IndexOf(args, "--resident") is int residentAt and >= 0) return Resident(args[residentAt + 1]);
        bool quick = args.Contains("--quick");
        int n = Option(args, "--n", quick ? 20_000 : 100_000);
        int queries = Option(args, "--queries", quick ? 500 : 1000);
        int repeats = Option(args, "--repeats", quick ? 2 : 3);
        string root = RepoPaths.FindRepoRoot() ?? throw new DirectoryNotFoundException("run from inside the repository (PinnerSage.slnx not found)");
        var results = new List<JsonObject>();
        int dataAt = Array.IndexOf(args, "--data");
        string[] datasets = dataAt >= 0 ? args[dataAt + 1].Split(',') : ["zipf"];
        foreach (string dataset in datasets)
        {
            float[]? all = dataset switch
            {
                "zipf" => ZipfTopics(n + queries),
                "synthetic" => Synthetic(n + queries),
                _ => RealDerived(n + queries),
            };
            if (all is null)
            {
                Console.WriteLine($"{dataset}: skipped (datasets not found)");
                continue;
            }
            float[] data = all.AsSpan(0, n * Dimension).ToArray();
            float[] q = all.AsSpan(n * Dimension).ToArray();
            all = null;
            Console.WriteLine($"{dataset}: {n:N0} × {Dimension}, {queries} queries; exact top-{K}…");
            int[] truth = ExactTopK(data, n, q, queries);
            // The results files are rewritten after every library, so a long run stopped part-way keeps what finished.
            results.Add(RunOne(root, dataset, data, n, q, queries, truth, repeats, args,
                               partial => Save(root, args, [.. results, partial], quick, repeats)));
        }
        Save(root, args, results, quick, repeats);
        return 0;
    }

    /// <summary>Writes the results files; with <c>--append</c>, rows of other sizes or data sets from an earlier run
    /// stay (one results file for the 100k and the 1M run).</summary>
    private static void Save(string root, string[] args, List<JsonObject> results, bool quick, int repeats)
    {
        var rows = new List<JsonObject>(results);
        string jsonPath = Path.Combine(root, "bench", "results", "hnsw.json");
        if (args.Contains("--append") && File.Exists(jsonPath) && JsonNode.Parse(File.ReadAllText(jsonPath))?["rows"] is JsonArray earlier)
            foreach (JsonNode? old in earlier)
                if (old is JsonObject o && o["libraries"] is not null &&
                    !rows.Any(r => (string)r["dataset"]! == (string)o["dataset"]! && (int)r["n"]! == (int)o["n"]!))
                    rows.Insert(0, o.DeepClone().AsObject());
        Write(root, rows, quick, repeats);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static JsonObject RunOne(string root, string dataset, float[] data, int n, float[] q, int queries, int[] truth, int repeats, string[] args,
                                     Action<JsonObject> checkpoint)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"pinnersage-bench-hnsw-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var libraries = new JsonObject();
            var row = new JsonObject { ["dataset"] = dataset, ["n"] = n, ["queries"] = queries, ["libraries"] = libraries };
            string floatFile = Path.Combine(dir, "ours.hnsw"), int8File = Path.Combine(dir, "ours.hnswq");
            double build, buildCpu, quantize;
            {
                var index = new HnswIndex(Dimension, new HnswOptions { M = M, EfConstruction = EfConstruction, Metric = VectorMetric.Cosine }, n);
                long start = Stopwatch.GetTimestamp();
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                index.Build(data, n, BuildThreads);
                build = Stopwatch.GetElapsedTime(start).TotalSeconds;
                buildCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                index.Save(floatFile);
                start = Stopwatch.GetTimestamp();
                using QuantizedHnswIndex quantized = index.Quantize();
                quantize = Stopwatch.GetElapsedTime(start).TotalSeconds;
                quantized.Save(int8File);
            }
            Console.WriteLine($"  ours: build {build:F2} s ({buildCpu:F1} s CPU), quantize {quantize:F2} s; int8 kernel: {QuantizedHnswIndex.KernelPath}");

            (long floatResident, _) = MeasureResident(floatFile);
            HnswIndex floatIndex = HnswIndex.Load(floatFile);
            JsonArray floatSweep = Sweep((query, ef, found) => floatIndex.Search(query, K, ef, found), q, queries, truth, repeats);
            libraries["ours_float"] = Library(build, buildCpu, new FileInfo(floatFile).Length / (double)n, floatResident / (double)n, floatSweep);
            GC.KeepAlive(floatIndex);
            floatIndex = null!;

            (long int8Resident, long int8Mapped) = MeasureResident(int8File);
            using (QuantizedHnswIndex int8 = QuantizedHnswIndex.Load(int8File))
            {
                JsonArray int8Sweep = Sweep((query, ef, found) => int8.Search(query, K, ef, null, found), q, queries, truth, repeats);
                JsonObject o = Library(build + quantize, buildCpu + quantize, new FileInfo(int8File).Length / (double)n, int8Resident / (double)n, int8Sweep);
                o["mapped_float_resident_bytes_per_vector"] = int8Mapped / (double)n;
                o["quantize_seconds"] = quantize;
                o["kernel"] = QuantizedHnswIndex.KernelPath;
                libraries["ours_int8"] = o;
            }
            foreach (string name in new[] { "ours_int8", "ours_float" })
                Console.WriteLine($"  {name}: {(double)libraries[name]!["resident_bytes_per_vector"]!:F0} resident B/vector");
            checkpoint(row);

            if (!args.Contains("--ours-only"))
            {
                string npyDir = Path.Combine(dir, "npy");
                Directory.CreateDirectory(npyDir);
                string baseNpy = Path.Combine(npyDir, "base.npy"), queriesNpy = Path.Combine(npyDir, "queries.npy"), truthNpy = Path.Combine(npyDir, "truth.npy");
                Npy.Write(baseNpy, data, n, Dimension);
                Npy.Write(queriesNpy, q, queries, Dimension);
                WriteInt32Npy(truthNpy, truth, queries, K);
                string efs = string.Join(",", EfSweep);
                string I(int v) => v.ToString(CultureInfo.InvariantCulture);
                string? native = CompileNative(root, dir);
                if (native is not null)
                {
                    libraries["hnswlib_native"] = RunPeer(native, [baseNpy, queriesNpy, truthNpy, I(M), I(EfConstruction), I(BuildThreads), efs, I(repeats), Path.Combine(dir, "native.bin")]);
                    checkpoint(row);
                }
                if (!args.Contains("--no-python"))
                {
                    libraries["hnswlib_python"] = RunPeer(Python, [Path.Combine(root, "bench", "peers", "hnsw.py"), baseNpy, queriesNpy, truthNpy, "cosine",
                                                                    I(M), I(EfConstruction), I(BuildThreads), efs, I(repeats)]);
                    checkpoint(row);
                    foreach (string kind in new[] { "flat", "sq8" })
                    {
                        // One process per FAISS index, so the first one's results are kept if the second is stopped.
                        JsonObject? faiss = RunPeer(Python, [Path.Combine(root, "bench", "peers", "hnsw_faiss.py"), baseNpy, queriesNpy, truthNpy,
                                                             I(M), I(EfConstruction), I(BuildThreads), efs, I(repeats), kind]);
                        libraries[kind == "flat" ? "faiss_hnsw_flat" : "faiss_hnsw_sq8"] = faiss?[kind]?.DeepClone();
                        checkpoint(row);
                    }
                }
            }
            foreach (double target in Targets)
            {
                var line = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"  recall ≥ {target:F2}:"));
                foreach (string name in Libraries)
                    if (libraries[name] is JsonObject lib) line.Append(string.Create(CultureInfo.InvariantCulture, $" {name} {Describe(AtRecall(lib["sweep"]!.AsArray(), target))};"));
                Console.WriteLine(line);
            }
            foreach (string name in Libraries)
                if (libraries[name] is JsonObject lib)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {name}: build {(double)lib["build_seconds"]!:F2} s, {(double)lib["resident_bytes_per_vector"]!:F0} resident B/vector, {(double)lib["file_bytes_per_vector"]!:F0} file B/vector"));
            return row;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private delegate int SearchOne(ReadOnlySpan<float> query, int ef, Span<Neighbor> destination);

    /// <summary>Recall@K and queries/s (process CPU time, best of repeats, one call per query) at every ef of the sweep.</summary>
    private static JsonArray Sweep(SearchOne search, float[] q, int queries, int[] truth, int repeats)
    {
        var sweep = new JsonArray();
        var found = new Neighbor[K];
        foreach (int ef in EfSweep)
        {
            for (int i = 0; i < Math.Min(50, queries); i++) search(q.AsSpan(i * Dimension, Dimension), ef, found);
            double best = double.PositiveInfinity;
            long hits = 0;
            for (int r = 0; r < repeats; r++)
            {
                hits = 0;
                // Process CPU time, as the peers: on a shared machine other processes' load inflates wall time, not CPU time.
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                for (int i = 0; i < queries; i++)
                {
                    int got = search(q.AsSpan(i * Dimension, Dimension), ef, found);
                    ReadOnlySpan<int> t = truth.AsSpan(i * K, K);
                    for (int j = 0; j < got; j++) if (t.Contains(found[j].Label)) hits++;
                }
                best = Math.Min(best, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds);
            }
            sweep.Add(new JsonObject { ["ef"] = ef, ["recall"] = hits / (double)(queries * K), ["qps"] = queries / best });
        }
        return sweep;
    }

    private static JsonObject Library(double build, double buildCpu, double fileBytes, double residentBytes, JsonArray sweep) => new()
    {
        ["build_seconds"] = build,
        ["build_cpu_seconds"] = buildCpu,
        ["file_bytes_per_vector"] = fileBytes,
        ["resident_bytes_per_vector"] = residentBytes,
        ["sweep"] = sweep,
    };

    /// <summary>Resident bytes of a saved index, measured in a fresh process (this benchmark with <c>--resident</c>), so
    /// memory the GC kept from earlier work cannot hide the load: (anonymous memory after − before the load, resident
    /// pages of the file's mappings).</summary>
    private static (long Anonymous, long Mapped) MeasureResident(string path)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        foreach (string a in new[] { typeof(HnswBenchmark).Assembly.Location, "hnsw", "--resident", path }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        string[] parts = process.StandardOutput.ReadToEnd().Trim().Split(' ');
        process.WaitForExit();
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static int Resident(string path)
    {
        bool quantized = QuantizedHnswIndex.IsQuantizedFile(path);
        // Load a tiny index of the same kind first, so the JIT's code and the loaded types of the load path are not
        // counted as index memory (the peers' baselines are taken with their libraries loaded too).
        string tiny = Path.Combine(Path.GetTempPath(), $"pinnersage-bench-tiny-{Environment.ProcessId}");
        var random = new Random(1);
        var small = new HnswIndex(Dimension, new HnswOptions { M = M, Metric = VectorMetric.Cosine });
        small.Build(Enumerable.Range(0, 64 * Dimension).Select(_ => Gaussian(random)).ToArray(), 64, 1);
        if (quantized)
        {
            using (QuantizedHnswIndex q = small.Quantize()) q.Save(tiny);
            QuantizedHnswIndex.Load(tiny).Dispose();
        }
        else
        {
            small.Save(tiny);
            HnswIndex.Load(tiny);
        }
        File.Delete(tiny);

        long before = AnonymousBytes();
        IDisposable? mapped = null;
        object index = quantized ? mapped = QuantizedHnswIndex.Load(path) : HnswIndex.Load(path);
        long after = AnonymousBytes();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{after - before} {MappedResidentBytes(path)}"));
        GC.KeepAlive(index);
        mapped?.Dispose();
        return 0;
    }

    /// <summary>The process's anonymous resident memory (/proc/self/smaps_rollup) after a full blocking, compacting GC.</summary>
    private static long AnonymousBytes()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        foreach (string line in File.ReadLines("/proc/self/smaps_rollup"))
            if (line.StartsWith("Anonymous:", StringComparison.Ordinal)) return 1024 * long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>Resident bytes of this process's mappings of <paramref name="path"/> (/proc/self/smaps).</summary>
    private static long MappedResidentBytes(string path)
    {
        long bytes = 0;
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-')) inside = line.EndsWith(path, StringComparison.Ordinal);
            else if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
                bytes += 1024 * long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        return bytes;
    }

    /// <summary>Compiles bench/peers/hnsw_native.cpp against /usr/include/hnswlib with -O3 -march=native.</summary>
    private static string? CompileNative(string root, string dir)
    {
        string output = Path.Combine(dir, "hnsw_native");
        var info = new ProcessStartInfo("g++") { RedirectStandardError = true };
        foreach (string a in new[] { "-O3", "-march=native", "-std=c++17", "-pthread", "-o", output, Path.Combine(root, "bench", "peers", "hnsw_native.cpp") })
            info.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(info)!;
            string err = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode == 0) return output;
            Console.Error.WriteLine($"native hnswlib peer not compiled (apt-get install g++ libhnswlib-dev): {err.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("g++ not found: native hnswlib peer skipped");
        }
        return null;
    }

    private static string Describe(JsonObject? p) =>
        p is null ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"ef {(int)p["ef"]!} {(double)p["qps"]!:N0} q/s (recall {(double)p["recall"]!:F4})");

    /// <summary>The sweep point with the smallest ef reaching <paramref name="target"/>.</summary>
    private static JsonObject? AtRecall(JsonArray sweep, double target) =>
        sweep.Select(p => p!.AsObject()).Where(p => (double)p["recall"]! >= target).OrderBy(p => (int)p["ef"]!).FirstOrDefault();

    /// <summary>Rows x = c_t + B·a + ε, unit length: topic t of 2,000 drawn with Zipf(1) probabilities, centre c_t
    /// ~ N(0, I/d), a shared rank-16 component B·a (B's columns ~ N(0, I/d), a ~ N(0, 0.8²·I)) and noise ε ~ N(0, 0.6²·I/d).
    /// The first rows are the same for every count, so the 1M set extends the 100k one.</summary>
    private static float[] ZipfTopics(int count)
    {
        const int topics = 2000, rank = 16;
        var random = new Random(7);
        float scale = 1f / MathF.Sqrt(Dimension);
        var centres = new float[topics * Dimension];
        for (int i = 0; i < centres.Length; i++) centres[i] = scale * Gaussian(random);
        var basis = new float[rank * Dimension];
        for (int i = 0; i < basis.Length; i++) basis[i] = scale * Gaussian(random);
        var cumulative = new double[topics];
        double total = 0;
        for (int t = 0; t < topics; t++) cumulative[t] = total += 1.0 / (t + 1);
        var x = new float[(long)count * Dimension];
        for (int i = 0; i < count; i++)
        {
            double u = random.NextDouble() * total;
            int topic = Math.Min(Array.BinarySearch(cumulative, u) is int at && at >= 0 ? at : ~at, topics - 1);
            Span<float> row = x.AsSpan(i * Dimension, Dimension);
            centres.AsSpan(topic * Dimension, Dimension).CopyTo(row);
            for (int r = 0; r < rank; r++)
                TensorPrimitives.MultiplyAdd((ReadOnlySpan<float>)basis.AsSpan(r * Dimension, Dimension), 0.8f * Gaussian(random), (ReadOnlySpan<float>)row, row);
            for (int j = 0; j < Dimension; j++) row[j] += 0.6f * scale * Gaussian(random);
            Normalize(row);
        }
        return x;
    }

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
            for (int r = 0; r < n; r++) KeepBest(best, TensorPrimitives.Dot(x.AsSpan(r * Dimension, Dimension), query), r);
            for (int j = 0; j < K; j++) truth[i * K + j] = best[j].Row;
        });
        return truth;
    }

    private static JsonObject? RunPeer(string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments) info.ArgumentList.Add(a);
        // FAISS's OpenMP threads spin while waiting by default; on a machine shared with other jobs that spinning competes
        // with the work itself, so they sleep instead (no effect on the single-threaded searches).
        info.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        try
        {
            using var process = Process.Start(info)!;
            Task<string> err = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode == 0) return JsonNode.Parse(stdout)!.AsObject();
            Console.Error.WriteLine($"peer {Path.GetFileName(arguments[0])} failed ({process.ExitCode}): {err.Result.Trim()} " +
                                    "(apt-get install libhnswlib-dev python3-hnswlib python3-faiss python3-numpy)");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"{program} not found: peer skipped");
        }
        return null;
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

    private static readonly Dictionary<string, string> Titles = new()
    {
        ["ours_int8"] = "ours int8",
        ["ours_float"] = "ours float",
        ["hnswlib_native"] = "hnswlib native",
        ["hnswlib_python"] = "hnswlib Python",
        ["faiss_hnsw_flat"] = "FAISS HNSWFlat",
        ["faiss_hnsw_sq8"] = "FAISS HNSWSQ8",
    };

    private static void Write(string root, List<JsonObject> rows, bool quick, int repeats)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# HNSW: ours (int8 and float) vs native hnswlib, Python hnswlib and FAISS");
        md.AppendLine();
        md.AppendLine(string.Create(c, $"`nice -n 19 dotnet run -c Release --project bench/PinnerSage.Benchmarks -- hnsw{(quick ? " --quick" : "")} --n N --queries Q --repeats {repeats} [--append]` — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. " +
            $"Rows: {string.Join("; ", rows.Select(r => string.Create(c, $"{r["dataset"]} {(int)r["n"]!:N0} × {Dimension} with {(int)r["queries"]!:N0} held-out queries")))}; cosine, M = {M}, efConstruction = {EfConstruction}, build on {BuildThreads} threads (all), " +
            $"search single-threaded (all; ours one `Search` call per query, hnswlib native a C++ `searchKnn` loop, hnswlib Python and FAISS one batch call on one thread), process CPU time, best of {repeats}. " +
            $"Recall@{K} against exact search on the floats; for each library separately, the smallest ef in {{{string.Join(", ", EfSweep)}}} reaching the target. "));
        md.AppendLine();
        md.AppendLine("Peers in the same run: hnswlib 0.6.2 headers (Debian libhnswlib-dev) compiled by the benchmark with g++ -O3 -march=native (bench/peers/hnsw_native.cpp); " +
            "Debian python3-hnswlib (bench/peers/hnsw.py); Debian python3-faiss IndexHNSWFlat and IndexHNSWSQ QT_8bit (bench/peers/hnsw_faiss.py).");
        md.AppendLine();
        md.AppendLine(string.Create(c, $"Machine: {Environment.ProcessorCount} logical cores, {RuntimeInformation.ProcessArchitecture}, {RuntimeInformation.FrameworkDescription}; " +
            $"our int8 kernel: {QuantizedHnswIndex.KernelPath}. Shared with other jobs (CPU time, not wall time); load average (1/5/15 min) when the file was written: " +
            $"{string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}."));
        md.AppendLine();
        md.AppendLine("Queries/s (ef) at each recall target; the last two columns are ours ÷ native hnswlib.");
        md.AppendLine();
        md.AppendLine("| data | recall@10 ≥ | " + string.Join(" | ", Libraries.Select(l => Titles[l])) + " | int8 ÷ native | float ÷ native |");
        md.AppendLine("|---|---|" + string.Concat(Libraries.Select(_ => "---:|")) + "---:|---:|");
        foreach (JsonObject row in rows)
        {
            JsonObject libs = row["libraries"]!.AsObject();
            foreach (double target in Targets)
            {
                JsonObject? At(string name) => libs[name] is JsonObject lib ? AtRecall(lib["sweep"]!.AsArray(), target) : null;
                string Ratio(string name) => At(name) is { } a && At("hnswlib_native") is { } b ? ((double)a["qps"]! / (double)b["qps"]!).ToString("F2", c) + "×" : "—";
                md.AppendLine(string.Create(c, $"| {row["dataset"]} {(int)row["n"]! / 1000:N0}k | {target:F2} | ") +
                              string.Join(" | ", Libraries.Select(l => At(l) is { } p ? string.Create(c, $"{(double)p["qps"]!:N0} ({(int)p["ef"]!})") : "—")) +
                              $" | {Ratio("ours_int8")} | {Ratio("ours_float")} |");
            }
        }
        md.AppendLine();
        md.AppendLine("Build (2 threads; ours int8 = the float build + quantization), resident bytes per vector (measured: anonymous memory before and after loading the saved index), file bytes per vector.");
        md.AppendLine();
        md.AppendLine("| data | library | build (s) | build CPU (s) | resident B/vector | ÷ native | file B/vector |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (JsonObject row in rows)
        {
            JsonObject libs = row["libraries"]!.AsObject();
            double? nativeResident = (double?)libs["hnswlib_native"]?["resident_bytes_per_vector"];
            foreach (string name in Libraries)
            {
                if (libs[name] is not JsonObject lib) continue;
                double resident = (double)lib["resident_bytes_per_vector"]!;
                string extra = lib["mapped_float_resident_bytes_per_vector"] is { } mapped
                    ? string.Create(c, $" + {(double)mapped:F0} mapped floats") : "";
                md.AppendLine(string.Create(c,
                    $"| {row["dataset"]} {(int)row["n"]! / 1000:N0}k | {Titles[name]} | {(double)lib["build_seconds"]!:F2} | {(double)lib["build_cpu_seconds"]!:F1} | " +
                    $"{resident:F0}{extra} | {(nativeResident is { } nr ? (resident / nr * 100).ToString("F0", c) + " %" : "—")} | {(double)lib["file_bytes_per_vector"]!:F0} |"));
            }
        }
        md.AppendLine();
        md.AppendLine("Full sweeps (ef: recall / q/s) are in hnsw.json. Data: *zipf* = 2,000 topics with Zipf(1) sizes around Gaussian centres, plus a " +
                      "shared rank-16 component and isotropic noise, rows unit length (seed 7; queries = further rows of the same generator); *synthetic* = " +
                      "`SyntheticWorld` item vectors; *real-derived* = the 3,170 real amazon-scientific embeddings projected to 256-d and mixed (the " +
                      "shared datasets hold no 100k real table). Ours int8: the float build's graph, per-dimension 8-bit codes in the layer-0 block (per-vector " +
                      "codes measured in hnsw-quantizers.md: equal recall, slower scan, 8 B/vector more), the " +
                      "2·k nearest estimates among the ef candidates re-ranked on the float rows, which stay in the file and are memory-mapped (\"mapped " +
                      "floats\": their resident pages after the load, whose checksum pass reads every page; page cache shared with the file, not heap). " +
                      "FAISS HNSWSQ8 ranks on its codes alone (no re-ranking), so its recall levels off below the float indexes'. Build wall times " +
                      "depend on the other jobs sharing the machine; CPU times less so.");
        string dir = Path.Combine(root, "bench", "results");
        Directory.CreateDirectory(dir);
        AtomicFile.WriteText(Path.Combine(dir, "hnsw.md"), w => w.Write(md.ToString()));
        var doc = new JsonObject { ["benchmark"] = "hnsw", ["quick"] = quick, ["utc"] = DateTime.UtcNow.ToString("O"), ["rows"] = new JsonArray(rows.Select(r => (JsonNode)r.DeepClone()).ToArray()) };
        AtomicFile.WriteText(Path.Combine(dir, "hnsw.json"), w => w.Write(doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"));
        Console.WriteLine($"wrote {Path.Combine(dir, "hnsw.md")}");
    }

    private static string Ef(JsonObject? p) => p is null ? "—" : ((int)p["ef"]!).ToString(CultureInfo.InvariantCulture);

    private static string Qps(JsonObject? p) => p is null ? "—" : ((double)p["qps"]!).ToString("N0", CultureInfo.InvariantCulture);

    /// <summary><c>hnsw --quantizers</c>: per-dimension (ours, <see cref="ScalarQuantizer"/>) vs per-vector affine int8
    /// codes on the zipf data, by a flat scan of every row's estimate (no graph: the codes' quality alone). For each query:
    /// recall@10 of the 10 best estimates, and after re-ranking the 2·k and 4·k best estimates on the floats (what the
    /// index does with its walk's candidates); estimates/s of the scan (process CPU time, best of 2); bytes per vector.
    /// Per-vector codes: x_j ≈ a_i + b_i·c_j with a_i = min_j x_j, b_i = (max_j x_j − a_i)/255, so x·q ≈ a_i·Σq +
    /// b_i·s·Σ c_j·r_j with the query folded as r_j = round(q_j/s), s = max|q|/127 (two floats more per vector).
    /// Writes bench/results/hnsw-quantizers.md.</summary>
    private static int Quantizers(string[] args)
    {
        int n = Option(args, "--n", 100_000), queries = Option(args, "--queries", 500);
        string root = RepoPaths.FindRepoRoot() ?? throw new DirectoryNotFoundException("run from inside the repository (PinnerSage.slnx not found)");
        const int d = Dimension;
        float[] all = ZipfTopics(n + queries);
        float[] data = all.AsSpan(0, n * d).ToArray(), q = all.AsSpan(n * d).ToArray();
        Console.WriteLine($"zipf {n:N0} × {d}, {queries} queries; exact top-{K}…");
        int[] truth = ExactTopK(data, n, q, queries);

        // Per dimension: the index's own quantizer.
        ScalarQuantizer perDim = ScalarQuantizer.Train(data, n, d);
        var dimCodes = new byte[(long)n * d];
        for (int i = 0; i < n; i++) perDim.Encode(data.AsSpan(i * d, d), dimCodes.AsSpan(i * d, d));
        // Per vector: one (a_i, b_i) per row.
        var vecCodes = new byte[(long)n * d];
        var a = new float[n];
        var b = new float[n];
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> x = data.AsSpan(i * d, d);
            float lo = TensorPrimitives.Min(x), hi = TensorPrimitives.Max(x);
            a[i] = lo;
            b[i] = (hi - lo) / 255f;
            for (int j = 0; j < d; j++) vecCodes[(long)i * d + j] = (byte)Math.Clamp(b[i] > 0 ? MathF.Round((x[j] - lo) / b[i]) : 0, 0, 255);
        }

        var rows = new List<string>();
        var estimates = new float[n];
        var r = new sbyte[d];
        var work = new float[d];
        foreach (string mode in new[] { "per-dimension", "per-vector" })
        {
            long hits10 = 0, hits2k = 0, hits4k = 0;
            double best = double.PositiveInfinity;
            for (int repeat = 0; repeat < 2; repeat++)
            {
                double cpu = 0;
                hits10 = hits2k = hits4k = 0;
                for (int t = 0; t < queries; t++)
                {
                    ReadOnlySpan<float> query = q.AsSpan(t * d, d);
                    TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    if (mode == "per-dimension")
                    {
                        (float scale, float offset) = perDim.EncodeQuery(query, work, r);
                        for (int i = 0; i < n; i++)
                            estimates[i] = offset + scale * Int8Kernels.Dot(ref dimCodes[(long)i * d], ref r[0], d);
                    }
                    else
                    {
                        float sum = TensorPrimitives.Sum(query);
                        float scale = MathF.Abs(TensorPrimitives.MaxMagnitude(query)) / 127f;
                        if (!(scale > 0)) scale = 1;
                        for (int j = 0; j < d; j++) r[j] = (sbyte)MathF.Round(query[j] / scale);
                        for (int i = 0; i < n; i++)
                            estimates[i] = a[i] * sum + b[i] * scale * Int8Kernels.Dot(ref vecCodes[(long)i * d], ref r[0], d);
                    }
                    cpu += (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                    int[] top = TopByEstimate(estimates, 4 * K);
                    ReadOnlySpan<int> want = truth.AsSpan(t * K, K);
                    foreach (int i in top.AsSpan(0, K)) if (want.Contains(i)) hits10++;
                    hits2k += Reranked(top.AsSpan(0, 2 * K), data, query, want);
                    hits4k += Reranked(top, data, query, want);
                }
                best = Math.Min(best, cpu);
            }
            double total = (double)queries * K;
            int bytes = mode == "per-dimension" ? d : d + 8;
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {mode} | {hits10 / total:F4} | {hits2k / total:F4} | {hits4k / total:F4} | {(double)queries * n / best / 1e6:F1} | {bytes} |"));
            Console.WriteLine(rows[^1]);
        }
        var md = new StringBuilder();
        md.AppendLine("# int8 codes: per dimension vs per vector");
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"`dotnet run -c Release --project bench/PinnerSage.Benchmarks -- hnsw --quantizers --n {n} --queries {queries}` — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, " +
            $"{Environment.ProcessorCount} logical cores, int8 kernel {QuantizedHnswIndex.KernelPath}, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (shared machine: CPU time, best of 2)."));
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Data: zipf {n:N0} × {d} (the HNSW benchmark's generator), {queries} held-out queries, recall@{K} against exact search on the floats. ") +
            "A flat scan of every row's estimate, no graph, so only the codes differ: the 10 best estimates, and the 2·k and 4·k best " +
            "re-ranked exactly on the floats (the index re-ranks its walk's 2·k best). Estimates/s: the scan's rate, one thread.");
        md.AppendLine();
        md.AppendLine("| codes | recall@10, estimates only | recall@10, 2·k re-ranked | recall@10, 4·k re-ranked | million estimates/s | bytes/vector (codes + params) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (string row in rows) md.AppendLine(row);
        AtomicFile.WriteText(Path.Combine(root, "bench", "results", "hnsw-quantizers.md"), w => w.Write(md.ToString()));
        return 0;
    }

    /// <summary>Rows of the <paramref name="m"/> largest estimates (dot products), best first.</summary>
    private static int[] TopByEstimate(float[] estimates, int m)
    {
        var best = new (float Score, int Row)[m];
        best.AsSpan().Fill((float.NegativeInfinity, -1));
        for (int i = 0; i < estimates.Length; i++) KeepBest(best, estimates[i], i);
        return [.. best.Select(x => x.Row)];
    }

    /// <summary>Inserts (score, row) into <paramref name="best"/>, sorted by score descending, when it beats the last.</summary>
    private static void KeepBest(Span<(float Score, int Row)> best, float score, int row)
    {
        int m = best.Length;
        if (score <= best[m - 1].Score) return;
        int j = m - 1;
        while (j > 0 && best[j - 1].Score < score)
        {
            best[j] = best[j - 1];
            j--;
        }
        best[j] = (score, row);
    }

    /// <summary>How many of <paramref name="want"/> are among the K best of <paramref name="candidates"/> by exact dot product.</summary>
    private static int Reranked(ReadOnlySpan<int> candidates, float[] data, ReadOnlySpan<float> query, ReadOnlySpan<int> want)
    {
        var scored = new (float Score, int Row)[candidates.Length];
        for (int i = 0; i < candidates.Length; i++)
            scored[i] = (TensorPrimitives.Dot(data.AsSpan(candidates[i] * Dimension, Dimension), query), candidates[i]);
        Array.Sort(scored, (x, y) => y.Score.CompareTo(x.Score));
        int hits = 0;
        for (int i = 0; i < Math.Min(K, scored.Length); i++) if (want.Contains(scored[i].Row)) hits++;
        return hits;
    }

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
