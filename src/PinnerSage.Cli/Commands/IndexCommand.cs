using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PinnerSage.Ann;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.IO;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage index build|search`: build an HNSW index file from item vectors (optionally refined: near-duplicates
/// and excluded items dropped), and run k-NN queries against it with timing.</summary>
internal static class IndexCommand
{
    public static Command Create()
    {
        var cmd = new Command("index", "Build and query HNSW nearest-neighbour indexes over item vectors.");
        cmd.Subcommands.Add(CreateBuild());
        cmd.Subcommands.Add(CreateSearch());
        return cmd;
    }

    private static Command CreateBuild()
    {
        var vectors = new Option<string>("--vectors") { Description = "Item vectors: .npy float32 [n, d].", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Item ids, one per line in row order (default: beside the .npy; saved in the index so searches print ids)." };
        var output = new Option<string>("--out") { Description = "Index file to write (.hnsw).", Required = true };
        var metric = new Option<string>("--metric") { Description = "Distance: ip, cosine or l2.", DefaultValueFactory = _ => "cosine" };
        var m = new Option<int>("--M") { Description = "HNSW M: links per element and layer (layer 0 keeps 2·M).", DefaultValueFactory = _ => 16 };
        var efConstruction = new Option<int>("--ef-construction") { Description = "HNSW efConstruction: candidate list size while building.", DefaultValueFactory = _ => 200 };
        var ef = new Option<int>("--ef") { Description = "Default search ef stored in the index.", DefaultValueFactory = _ => 64 };
        var threads = new Option<int>("--threads") { Description = "Build threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var dedup = new Option<float?>("--dedup-threshold") { Description = "Refinement: drop items whose cosine to an indexed item is ≥ T (e.g. 0.99), mapping them to it." };
        var exclude = new Option<string?>("--exclude") { Description = "Refinement: file of item ids (one per line) to leave out." };
        var seed = new Option<long>("--seed") { Description = "Seed of the HNSW level draws.", DefaultValueFactory = _ => 100 };
        var quantization = new Option<string>("--quantization")
        {
            Description = "none: float vectors in the graph; int8: the graph walked on 8-bit codes, results re-ranked on the float vectors kept in the file (memory-mapped).",
            DefaultValueFactory = _ => "none",
        };
        Option<bool> json = CliJson.CreateOption("Print one JSON object (items, build_seconds, bytes_per_vector, …) on standard output; progress goes to standard error.");
        var cmd = new Command("build", "Build an HNSW index file from item vectors (with a progress bar).")
        {
            vectors, ids, output, metric, m, efConstruction, ef, threads, dedup, exclude, seed, quantization, json,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var options = new HnswOptions
            {
                Metric = RetrievalInputs.ParseMetric(pr.GetValue(metric)!),
                M = pr.GetValue(m),
                EfConstruction = pr.GetValue(efConstruction),
                Ef = pr.GetValue(ef),
                Seed = pr.GetValue(seed),
            };
            options.Validate();
            string quantizationValue = pr.GetValue(quantization)!;
            if (quantizationValue is not ("none" or "int8")) throw new ArgumentException($"--quantization must be none or int8, not '{quantizationValue}'.");
            if (quantizationValue == "int8" && pr.GetValue(dedup) is not null)
                throw new ArgumentException("--dedup-threshold cannot be combined with --quantization int8: the int8 format does not keep the " +
                                            "near-duplicate map that recommendations use (build a float index, or int8 without --dedup-threshold).");
            int threadCount = pr.GetValue(threads);
            if (threadCount < 1) throw new ArgumentException("--threads must be ≥ 1.");
            string npy = pr.GetValue(vectors)!;
            string? idsPath = pr.GetValue(ids);
            OutputPaths.Check("--out", pr.GetValue(output), ("--vectors", npy), ("--ids", idsPath ?? ItemEmbeddings.DefaultIdsPath(npy)),
                              ("--exclude", pr.GetValue(exclude)));
            bool hasIds = idsPath is not null || File.Exists(Path.ChangeExtension(npy, ".ids"));
            using ItemEmbeddings e = ItemEmbeddings.Load(npy, idsPath, new EmbeddingsLoadOptions { AllowZeroVectors = true });
            var refinement = new HnswRefinement { DuplicateCosine = pr.GetValue(dedup), Excluded = ReadExcluded(pr.GetValue(exclude), e, out int unknown) };
            refinement.Validate();

            var index = new HnswIndex(e.Dimension, options, Math.Max(e.Count, 16));
            IAnsiConsole console = AnsiConsole.Console;
            bool asJson = pr.GetValue(json);
            bool interactive = !asJson && console.Profile.Capabilities.Interactive;
            TextWriter log = asJson ? Console.Error : Console.Out;
            long start = Stopwatch.GetTimestamp();
            HnswBuildReport report = default;
            if (interactive)
            {
                console.Progress().AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        ProgressTask task = ctx.AddTask("inserting", maxValue: Math.Max(e.Count, 1));
                        report = index.Build(e.Matrix, e.Count, threadCount, refinement, new Callback(d => task.Value = d));
                        task.Value = task.MaxValue;
                    });
            }
            else
            {
                int step = Math.Max(e.Count / 10, 1), lastShown = 0;
                report = index.Build(e.Matrix, e.Count, threadCount, refinement, new Callback(d =>
                {
                    if (d / step <= lastShown / step && d != e.Count) return;
                    lastShown = d;
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{Stopwatch.GetElapsedTime(start).TotalSeconds,7:F1}s] inserted {d:N0}/{e.Count:N0}"));
                }));
            }
            double buildSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (hasIds) index.SetItemIds(e.Ids);
            string outPath = pr.GetValue(output)!;
            CultureInfo c = CultureInfo.InvariantCulture;
            string memory;
            double bytesPerVector, mappedBytesPerVector = 0;
            if (quantizationValue == "int8")
            {
                using QuantizedHnswIndex quantized = index.Quantize();
                quantized.Save(outPath);
                bytesPerVector = quantized.MemoryBytes / (double)Math.Max(index.Count, 1);
                mappedBytesPerVector = quantized.FloatBytes / (double)Math.Max(index.Count, 1);
                memory = string.Create(c, $"int8: {bytesPerVector:F0} bytes/vector in memory + {mappedBytesPerVector:F0} memory-mapped ({QuantizedHnswIndex.KernelPath})");
            }
            else
            {
                index.Save(outPath);
                bytesPerVector = index.MemoryBytes / (double)Math.Max(index.Count, 1);
                memory = string.Create(c, $"{bytesPerVector:F0} bytes/vector");
            }
            if (asJson)
            {
                CliJson.Write(new IndexBuildSummary(outPath, index.Count, e.Dimension, MetricName(options.Metric), options.M, options.EfConstruction,
                                                    options.Ef, threadCount, quantizationValue, buildSeconds, index.MaxLevel + 1, bytesPerVector,
                                                    mappedBytesPerVector, hasIds, report.Inserted, report.Duplicates, report.Excluded, unknown));
                return ExitCodes.Ok;
            }
            Console.Out.WriteLine(string.Create(c,
                $"built {outPath}: {index.Count:N0} items × {e.Dimension} ({MetricName(options.Metric)}, M = {options.M}, efConstruction = {options.EfConstruction}, " +
                $"{threadCount} threads) in {buildSeconds:F2} s; {index.MaxLevel + 1} layers; {memory}"));
            if (refinement.DuplicateCosine is not null || refinement.Excluded is not null)
                Console.Out.WriteLine(string.Create(c,
                    $"refinement: {report.Duplicates:N0} near-duplicates dropped (cosine ≥ {refinement.DuplicateCosine?.ToString(c) ?? "off"}), " +
                    $"{report.Excluded:N0} excluded{(unknown > 0 ? $" ({unknown:N0} excluded ids not in --vectors)" : "")}, {report.Inserted:N0} kept"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateSearch()
    {
        var indexPath = new Option<string>("--index") { Description = "Index file written by `index build`.", Required = true };
        var queries = new Option<string>("--queries") { Description = "Query vectors: .npy float32 [q, d].", Required = true };
        var k = new Option<int>("--k") { Description = "Neighbours per query.", DefaultValueFactory = _ => 10 };
        var ef = new Option<int?>("--ef") { Description = "Search ef (default: the index's, 64 unless built otherwise); raised to k." };
        var threads = new Option<int>("--threads") { Description = "Search threads (one batch call spreads the queries over them).", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Output TSV: one line per query, its k result ids tab-separated.", Required = true };
        Option<bool> json = CliJson.CreateOption("Print one JSON object (qps, search_seconds, …) instead of text.");
        var cmd = new Command("search", "Run k-NN queries against an index; write the results and print the search time and queries/s.")
        {
            indexPath, queries, k, ef, threads, output, json,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            int kValue = pr.GetValue(k);
            int threadCount = pr.GetValue(threads);
            if (kValue < 1) throw new ArgumentException("--k must be ≥ 1.");
            if (threadCount < 1) throw new ArgumentException("--threads must be ≥ 1.");
            string queriesPath = pr.GetValue(queries)!;
            string path = pr.GetValue(indexPath)!;
            OutputPaths.Check("--out", pr.GetValue(output), ("--index", path), ("--queries", queriesPath));
            // A float or an int8 index, by the file's magic.
            using QuantizedHnswIndex? quantized = QuantizedHnswIndex.IsQuantizedFile(path) ? QuantizedHnswIndex.Load(path) : null;
            HnswIndex? floatIndex = quantized is null ? HnswIndex.Load(path) : null;
            IVectorIndex index = (IVectorIndex?)quantized ?? floatIndex!;
            HnswOptions indexOptions = quantized?.Options ?? floatIndex!.Options;
            int efValue = pr.GetValue(ef) ?? indexOptions.Ef;
            if (efValue < 1) throw new ArgumentException("--ef must be ≥ 1.");
            float[] q = Npy.ReadFloat32(queriesPath, out int rows, out int cols);
            if (cols != index.Dimension) throw new DataFormatException(queriesPath, 0, "shape", $"queries have dimension {cols}; the index has {index.Dimension}");
            if ((long)rows * kValue > Array.MaxLength)
                throw new ArgumentException($"--k: {kValue} neighbours for each of {rows:N0} queries is more than one output can hold; lower --k or split the queries.");
            int bad = q.AsSpan().IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
            if (bad >= 0)
                throw new DataFormatException(queriesPath, bad / cols + 1, "vector", $"query row {bad / cols + 1} has a non-finite value ({q[bad]}) at column {bad % cols}");
            var results = new Neighbor[(long)rows * kValue];
            var counts = new int[rows];
            void Batch(ReadOnlySpan<float> batch, Span<Neighbor> found, Span<int> foundCounts)
            {
                if (quantized is not null) quantized.SearchBatch(batch, kValue, efValue, null, found, foundCounts, threadCount);
                else floatIndex!.SearchBatch(batch, kValue, efValue, null, found, foundCounts, threadCount);
            }

            // Warm the scratch and the code paths outside the timed phase, as a serving process would be.
            if (rows > 0) Batch(q.AsSpan(0, cols), new Neighbor[kValue], new int[1]);
            long start = Stopwatch.GetTimestamp();
            Batch(q, results, counts);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            double qps = rows / Math.Max(seconds, 1e-9);

            string outPath = pr.GetValue(output)!;
            IReadOnlyList<string>? itemIds = quantized?.ItemIds ?? floatIndex!.ItemIds;
            AtomicFile.WriteText(outPath, w =>
            {
                for (int i = 0; i < rows; i++)
                {
                    for (int j = 0; j < counts[i]; j++)
                    {
                        if (j > 0) w.Write('\t');
                        int label = results[(long)i * kValue + j].Label;
                        w.Write(itemIds is not null && label < itemIds.Count ? itemIds[label] : label.ToString(CultureInfo.InvariantCulture));
                    }
                    w.Write('\n');
                }
            });
            CultureInfo c = CultureInfo.InvariantCulture;
            if (pr.GetValue(json))
            {
                var payload = new Dictionary<string, object>
                {
                    ["qps"] = qps,
                    ["search_seconds"] = seconds,
                    ["queries"] = rows,
                    ["k"] = kValue,
                    ["ef"] = Math.Max(efValue, kValue),
                    ["threads"] = threadCount,
                    ["quantization"] = quantized is null ? "none" : "int8",
                    ["out"] = outPath,
                };
                CliJson.Write(payload);
            }
            else
                Console.Out.WriteLine(string.Create(c,
                    $"searched {rows:N0} queries (k = {kValue}, ef = {Math.Max(efValue, kValue)}, {threadCount} threads) in {seconds:F3} s: {qps:N0} queries/s; wrote {outPath}"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>`index build --json`: the index written and how it was built (bytes per vector in memory; for int8 also
    /// the float rows memory-mapped from the file).</summary>
    private sealed record IndexBuildSummary(string Out, int Items, int Dimension, string Metric, int M, int EfConstruction, int Ef,
                                            int Threads, string Quantization, double BuildSeconds, int Layers, double BytesPerVector,
                                            double MappedBytesPerVector, bool HasIds, int Inserted, int Duplicates, int Excluded,
                                            int UnknownExcludedIds);

    private static string MetricName(VectorMetric metric) => metric switch
    {
        VectorMetric.InnerProduct => "ip",
        VectorMetric.Cosine => "cosine",
        _ => "l2",
    };

    private static HashSet<int>? ReadExcluded(string? path, ItemEmbeddings e, out int unknown)
    {
        unknown = 0;
        if (path is null) return null;
        var rows = new HashSet<int>();
        foreach (string line in File.ReadLines(path, Encoding.UTF8))
        {
            string id = line.Trim();
            if (id.Length == 0 || id.StartsWith('#')) continue;
            if (e.TryGetRow(id, out int row)) rows.Add(row);
            else unknown++;
        }
        return rows;
    }

    /// <summary>IProgress that calls back on the reporting thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Callback(Action<int> report) : IProgress<int>
    {
        private readonly object _gate = new();

        public void Report(int value)
        {
            lock (_gate) report(value);
        }
    }
}
