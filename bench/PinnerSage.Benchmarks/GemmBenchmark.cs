using PinnerSage.IO;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using PinnerSage.ItemSage.Model;
using PinnerSage.Numerics;
using PinnerSage.Tests;

namespace PinnerSage.Benchmarks;

/// <summary>The ItemSage compute benchmark (issue 4: the matrix multiply must reach ≥ 50% of this machine's measured
/// peak). Measures the FMA peak with a register-only loop (12 independent Vector256 FMA chains per thread), the GEMM's
/// GFLOP/s at the model's shapes on 1 and 2 threads, and forward+backward examples/s of the default transformer tower
/// (and the share of that time spent in GEMM). Writes bench/results/itemsage-gemm.md.</summary>
/// <remarks>Usage: <c>itemsage-gemm [--quick] [--out FILE]</c>. Each number is the best of several repetitions.</remarks>
public static class GemmBenchmark
{
    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        string repo = RepoPaths.FindRepoRoot() ?? Directory.GetCurrentDirectory();
        string output = Arg(args, "--out") ?? Path.Combine(repo, "bench/results/itemsage-gemm.md");
        var md = new StringBuilder();
        md.AppendLine("# ItemSage compute benchmark (GEMM vs measured peak, tower forward+backward)");
        md.AppendLine();
        md.AppendLine($"Machine: {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, " +
                      $"AVX2 {Avx2.IsSupported}, FMA {Fma.IsSupported}, AVX-512F {Avx512F.IsSupported}; .NET {Environment.Version}.");
        md.AppendLine("Command: `dotnet run -c Release --project bench/PinnerSage.Benchmarks -- itemsage-gemm`");
        md.AppendLine($"Load average (1 min) at the start: {LoadAverage()}{{END}}.");
        md.AppendLine();

        int maxThreads = Math.Min(2, Environment.ProcessorCount);
        var peak = new double[maxThreads + 1];
        MeasurePeak(peak, quick);

        (string Name, bool TA, bool TB, int M, int N, int K)[] shapes =
        [
            ("K/V projection, all positions: [256·33, 512]·[512, 1024]", false, false, 8448, 1024, 512),
            ("FFN up, all positions: [256·33, 512]·[512, 2048]", false, false, 8448, 2048, 512),
            ("weight gradient: [256·33, 512]ᵀ·[256·33, 1024]", true, false, 512, 1024, 8448),
            ("input gradient: [256·33, 1024]·[512, 1024]ᵀ", false, true, 8448, 512, 1024),
            ("[CLS] FFN up: [256, 512]·[512, 2048]", false, false, 256, 2048, 512),
            ("head: [256, 512]·[512, 1024]", false, false, 256, 1024, 512),
            ("[CLS] FFN weight gradient: [256, 512]ᵀ·[256, 2048]", true, false, 512, 2048, 256),
            ("[CLS] FFN input gradient: [256, 2048]·[512, 2048]ᵀ", false, true, 256, 512, 2048),
        ];
        var random = new Random(1);
        var measured = new List<(string Name, int M, int N, int K, double[] Gflops)>();
        foreach (var (name, ta, tb, m, n, k) in shapes)
        {
            float[] a = RandomArray(random, m * k), b = RandomArray(random, k * n), c = new float[m * n];
            var gflops = new double[maxThreads + 1];
            for (int t = 1; t <= maxThreads; t++)
            {
                int threads = t;
                Gemm.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n, threads); // warm-up
                double seconds = Min(quick ? 2 : 7, () => Time(() =>
                    Gemm.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n, threads)));
                gflops[t] = 2.0 * m * n * k / seconds / 1e9;
                Console.WriteLine($"{name}, {t} thread(s): {gflops[t]:F1} GFLOP/s ({100 * gflops[t] / peak[t]:F0}% of the peak so far)");
            }
            measured.Add((name, m, n, k, gflops));
        }
        // The peak again after the shapes (best of both rounds): a peak run slowed by a neighbour would flatter the GEMM.
        MeasurePeak(peak, quick);

        md.AppendLine("## Measured peak");
        md.AppendLine();
        md.AppendLine("A loop of 12 independent `Fma.MultiplyAdd` chains on Vector256<float> in registers (no memory traffic), on 1 and on 2 " +
                      "threads: 8 lanes × 2 flops per FMA. This is the machine's real FMA throughput (ports × width × clock), measured, not " +
                      $"assumed: the best of {(quick ? 5 : 15)} runs before and {(quick ? 5 : 15)} after the GEMM runs.");
        md.AppendLine();
        md.AppendLine("| threads | peak GFLOP/s | implied GHz at 2 FMA ports × 8 lanes × 2 flops per core |");
        md.AppendLine("|---:|---:|---:|");
        for (int t = 1; t <= maxThreads; t++) md.AppendLine($"| {t} | {peak[t]:F1} | {peak[t] / (32.0 * t):F2} |");
        md.AppendLine();
        md.AppendLine("## GEMM at the model's shapes");
        md.AppendLine();
        md.AppendLine("C = A·B (β = 0), float32, row-major; GFLOP/s = 2·m·n·k / time, best of the repetitions; % = of the measured peak for the same thread count.");
        md.AppendLine();
        md.Append("| shape | m×n×k |");
        for (int t = 1; t <= maxThreads; t++) md.Append($" {t} thread{(t > 1 ? "s" : "")} GFLOP/s | % peak |");
        md.AppendLine();
        md.Append("|---|---|");
        for (int t = 1; t <= maxThreads; t++) md.Append("---:|---:|");
        md.AppendLine();
        foreach (var (name, m, n, k, gflops) in measured)
        {
            md.Append($"| {name} | {m}×{n}×{k} |");
            for (int t = 1; t <= maxThreads; t++) md.Append($" {gflops[t]:F1} | {100 * gflops[t] / peak[t]:F0}% |");
            md.AppendLine();
        }
        md.AppendLine();

        md.AppendLine("## Transformer tower, forward + backward");
        md.AppendLine();
        md.AppendLine("Default options (d_model 512, 8 heads, 1 layer, FFN 2048, head 1024 → 256, hash table 100,000 × 256, vocabulary 200,000), " +
                      "12 text fields, 256-d pretrained vectors, batch 256, dropout on (training). `full` = every item has 20 vectors and 12 " +
                      "non-empty fields of 8 tokens (33 positions); `typical` = 3 vectors and 6 non-empty fields. Time includes ZeroGradients; " +
                      "not the optimizer or the loss.");
        md.AppendLine();
        md.AppendLine("| batch content | threads | ms / batch | examples/s | share of time in GEMM |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        var options = new ItemSageModelOptions { VocabularySize = 200_000, TextFields = 12, ImageDim = 256 };
        IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, options);
        foreach ((string label, int images, int fields) in new[] { ("full", 20, 12), ("typical", 3, 6) })
        {
            ItemFeatureBatch batch = Batch(options, 256, images, fields, 8, new Random(2));
            var y = new float[256 * options.OutputDim];
            var dy = RandomArray(new Random(3), y.Length);
            for (int t = 1; t <= maxThreads; t++)
            {
                tower.Threads = t;
                void Pass()
                {
                    tower.ZeroGradients();
                    tower.Forward(batch, y, training: true, 1);
                    tower.Backward(dy);
                }
                // Warm-up: several passes so tiered JIT (OSR, then tier-1 with PGO) settles, as it does in training.
                for (int w = 0; w < (quick ? 3 : 6); w++) Pass();
                Gemm.ProfiledTicks = 0;
                Gemm.Profile = true;
                int reps = quick ? 2 : 5;
                double best = double.MaxValue;
                long gemmTicks = 0;
                for (int r = 0; r < reps; r++)
                {
                    long before = Gemm.ProfiledTicks;
                    double s = Time(Pass);
                    if (s < best)
                    {
                        best = s;
                        gemmTicks = Gemm.ProfiledTicks - before;
                    }
                }
                Gemm.Profile = false;
                double share = gemmTicks / (double)Stopwatch.Frequency / best;
                Console.WriteLine($"tower {label}, {t} thread(s): {best * 1000:F0} ms/batch, {256 / best:F0} examples/s, GEMM {100 * share:F0}%");
                md.AppendLine($"| {label} | {t} | {best * 1000:F0} | {256 / best:F0} | {100 * share:F0}% |");
            }
        }
        md.AppendLine();
        md.AppendLine("Notes: the last (here the only) encoder layer computes only the [CLS] query, and its attention is the exact absorbed " +
                      "form (scores x_j·(W_k,h q_h), output W_v,hᵀ(Σ_j p_j x_j)), so the [256·33, 512]·[512, 1024] K/V projection rows above are " +
                      "not on the model's path; they are kept as the representative large-M shape (and are what a multi-layer tower runs in its " +
                      "earlier layers). GEMM results are bitwise identical for any thread count (threads own disjoint blocks of C, split along N when " +
                      "m ≤ n and along M otherwise, each a serial blocked multiply; every element is summed in the same fixed order). The non-GEMM remainder is LayerNorm over all B·S rows, the hash-embedding scatter, attention " +
                      "softmaxes and the input assembly.");
        md.AppendLine();
        md.AppendLine("Timings on a shared 2-core machine are noisy (the peak and the GEMM compete with other processes; a ratio above 100% " +
                      "means the peak run was interrupted more than the GEMM run); the load average is printed above — compare runs made on an idle machine.");
        md.Replace("{END}", $", at the end: {LoadAverage()} (on 2 cores, anything above ≈ 0.5 means other processes took cycles)");
        AtomicFile.WriteText(output, w => w.Write(md.ToString()));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    internal static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>Raises <paramref name="peak"/>[t] to the best of several FMA-peak runs on t threads.</summary>
    private static void MeasurePeak(double[] peak, bool quick)
    {
        for (int t = 1; t < peak.Length; t++)
        {
            int threads = t;
            peak[t] = Math.Max(peak[t], Max(quick ? 5 : 15, () => PeakGflops(threads, 200_000_000L / 12)));
            Console.WriteLine($"FMA peak, {t} thread(s): {peak[t]:F1} GFLOP/s (best so far)");
        }
    }

    private static ItemFeatureBatch Batch(ItemSageModelOptions o, int count, int images, int fields, int tokens, Random random)
    {
        var batch = new ItemFeatureBatch(count, o.TextFields, o.MaxImages, o.ImageDim) { Count = count };
        batch.Tokens = new int[count * o.TextFields * tokens];
        int t = 0;
        for (int b = 0; b < count; b++)
        {
            for (int f = 0; f < o.TextFields; f++)
            {
                batch.TokenOffsets[b * o.TextFields + f] = t;
                if (f < fields)
                    for (int k = 0; k < tokens; k++) batch.Tokens[t++] = random.Next(o.VocabularySize);
            }
            batch.ImageCount[b] = images;
            for (int j = 0; j < images * o.ImageDim; j++) batch.Images[b * o.MaxImages * o.ImageDim + j] = (float)random.NextDouble();
        }
        batch.TokenOffsets[count * o.TextFields] = t;
        return batch;
    }

    /// <summary>GFLOP/s of <paramref name="threads"/> threads each running 12 independent FMA chains.</summary>
    private static double PeakGflops(int threads, long iterations)
    {
        var workers = new Thread[threads];
        var results = new float[threads];
        using var start = new Barrier(threads + 1);
        for (int w = 0; w < threads; w++)
        {
            int id = w;
            workers[w] = new Thread(() =>
            {
                start.SignalAndWait();
                results[id] = FmaLoop(iterations);
            });
            workers[w].Start();
        }
        start.SignalAndWait();
        long t0 = Stopwatch.GetTimestamp();
        foreach (Thread w in workers) w.Join();
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        if (results.Any(float.IsNaN)) throw new InvalidOperationException("unreachable: keeps the loop alive");
        return threads * iterations * 12.0 * 8 * 2 / seconds / 1e9;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaLoop(long iterations)
    {
        var m = Vector256.Create(0.999999f);
        var a = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0 + a, c2 = c1 + a, c3 = c2 + a, c4 = c3 + a, c5 = c4 + a;
        Vector256<float> c6 = c5 + a, c7 = c6 + a, c8 = c7 + a, c9 = c8 + a, c10 = c9 + a, c11 = c10 + a;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, a);
            c1 = Fma.MultiplyAdd(c1, m, a);
            c2 = Fma.MultiplyAdd(c2, m, a);
            c3 = Fma.MultiplyAdd(c3, m, a);
            c4 = Fma.MultiplyAdd(c4, m, a);
            c5 = Fma.MultiplyAdd(c5, m, a);
            c6 = Fma.MultiplyAdd(c6, m, a);
            c7 = Fma.MultiplyAdd(c7, m, a);
            c8 = Fma.MultiplyAdd(c8, m, a);
            c9 = Fma.MultiplyAdd(c9, m, a);
            c10 = Fma.MultiplyAdd(c10, m, a);
            c11 = Fma.MultiplyAdd(c11, m, a);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
    }

    private static double Time(Action action)
    {
        long t0 = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    private static double Max(int reps, Func<double> measure)
    {
        double best = double.MinValue;
        for (int r = 0; r < reps; r++) best = Math.Max(best, measure());
        return best;
    }

    private static double Min(int reps, Func<double> measure)
    {
        double best = double.MaxValue;
        for (int r = 0; r < reps; r++) best = Math.Min(best, measure());
        return best;
    }

    private static float[] RandomArray(Random random, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return x;
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
