using System.Diagnostics;
using System.Globalization;
using System.Text;
using PinnerSage.Ann;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Storage;
using PinnerSage.Synthetic;
using PinnerSage.Tests;

namespace PinnerSage.Benchmarks;

/// <summary>`retrieval`: PinnerSage candidate generation (K = 400, 3 medoids, round-robin) on a synthetic world, one
/// thread: requests/s through HNSW without and with the medoid cache, through exact search, the cache hit rate, and
/// how many of the exact-search candidates the HNSW path returns (same seeds); and, for both policies, the engaged
/// items excluded inside the HNSW search (the default) vs over-fetched and dropped (<see cref="RecommenderOptions.FilterInSearch"/>
/// off): cost per request and candidate recall against exact search with the same options. Writes bench/results/retrieval.md.</summary>
public static class RetrievalBenchmark
{
    public static int Run(string[] args)
    {
        int users = int.Parse(Arg(args, "--users") ?? "20000", CultureInfo.InvariantCulture);
        int items = int.Parse(Arg(args, "--items") ?? "50000", CultureInfo.InvariantCulture);
        int exactUsers = int.Parse(Arg(args, "--exact-users") ?? "500", CultureInfo.InvariantCulture);
        string repo = RepoPaths.FindRepoRoot() ?? Directory.GetCurrentDirectory();
        string output = Arg(args, "--out") ?? Path.Combine(repo, "bench/results/retrieval.md");
        string scratch = Path.Combine(Path.GetTempPath(), $"pinnersage-retrieval-bench-{Environment.ProcessId}");
        try
        {
            var clock = Stopwatch.StartNew();
            var world = SyntheticWorld.Create(new SyntheticWorldOptions { Users = users, Items = items });
            SyntheticWorldWriter.Write(world, scratch);
            using ItemEmbeddings table = ItemEmbeddings.Load(Path.Combine(scratch, SyntheticWorldWriter.VectorsFile));
            var profiles = new ProfileList();
            var profileOptions = new ProfileOptions { Alpha = AutoAlpha.Resolve(table, normalizeVectors: true) };
            BatchSummary batch = new ProfileBatchJob(table, profileOptions, new BatchOptions())
                .Run(Path.Combine(scratch, SyntheticWorldWriter.ActionsFile), [profiles]);
            Console.WriteLine($"world: {users:N0} users, {profiles.Items.Count:N0} profiles, {table.Count:N0} items × {table.Dimension} ({clock.Elapsed.TotalSeconds:F1} s)");

            clock.Restart();
            var hnsw = new HnswIndex(table.Dimension, new HnswOptions { Metric = VectorMetric.Cosine }, table.Count);
            hnsw.Build(table.Matrix, table.Count, Environment.ProcessorCount);
            double buildSeconds = clock.Elapsed.TotalSeconds;
            ExactIndex exact = ExactIndex.Build(table.Matrix, table.Dimension, VectorMetric.Cosine);
            Console.WriteLine($"HNSW built in {buildSeconds:F1} s");

            UserProfile[] all = [.. profiles.Items.Where(p => p.Clusters.Count > 0)];
            var options = new RecommenderOptions();
            var cache = new NeighborCache(hnsw, capacity: table.Count / 10);
            (string Name, Recommender Recommender, int Users)[] runs =
            [
                ("HNSW (ef 64), no cache", new Recommender(hnsw, table, options), all.Length),
                ($"HNSW (ef 64) + medoid cache ({cache.Capacity:N0} lists)", new Recommender(hnsw, table, options, cache), all.Length),
                ("exact search (brute force)", new Recommender(exact, table, options), Math.Min(exactUsers, all.Length)),
            ];
            var report = new StringBuilder();
            report.AppendLine("# Retrieval benchmark").AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"PinnerSage candidate generation, K = {options.K}, {options.Medoids} medoids ∝ importance, round-robin, engaged items excluded; one thread. ");
            report.AppendLine(CultureInfo.InvariantCulture, $"Synthetic world: {users:N0} users ({all.Length:N0} with clusters, mean {all.Average(p => p.Clusters.Count):F1} clusters), {table.Count:N0} items × {table.Dimension}, cosine; HNSW M = 16, efConstruction = 200, built in {buildSeconds:F1} s on {Environment.ProcessorCount} threads.");
            report.AppendLine(CultureInfo.InvariantCulture, $"Command: `dotnet run -c Release --project bench/PinnerSage.Benchmarks -- retrieval --users {users} --items {items}`.").AppendLine();
            report.AppendLine("| path | users | requests/s | mean ms | p99 ms | notes |").AppendLine("|---|---:|---:|---:|---:|---|");
            var buffer = new Recommendation[options.K];
            foreach ((string name, Recommender recommender, int n) in runs)
            {
                var latencies = new double[n];
                for (int u = 0; u < Math.Min(200, n); u++) recommender.RecommendWithSeed(all[u], (ulong)u, buffer); // warm up
                cache.Clear();
                var total = Stopwatch.StartNew();
                for (int u = 0; u < n; u++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    recommender.RecommendWithSeed(all[u], (ulong)u, buffer);
                    latencies[u] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }
                double seconds = total.Elapsed.TotalSeconds;
                Array.Sort(latencies);
                string notes = recommender.Cache is { } c ? string.Create(CultureInfo.InvariantCulture, $"hit rate {c.HitRate:P1}") : "";
                report.AppendLine(CultureInfo.InvariantCulture,
                    $"| {name} | {n:N0} | {n / seconds:N0} | {seconds * 1000 / n:F2} | {latencies[(int)(0.99 * (n - 1))]:F2} | {notes} |");
                Console.WriteLine($"{name}: {n / seconds:N0} requests/s {notes}");
            }

            // Candidate recall of the HNSW path against exact search, same users and seeds.
            long found = 0, wanted = 0;
            var approx = new Recommendation[options.K];
            var truth = new Recommendation[options.K];
            int compared = Math.Min(exactUsers, all.Length);
            for (int u = 0; u < compared; u++)
            {
                int a = runs[0].Recommender.RecommendWithSeed(all[u], (ulong)u, approx).Count;
                int t = runs[2].Recommender.RecommendWithSeed(all[u], (ulong)u, truth).Count;
                var set = new HashSet<int>();
                for (int i = 0; i < a; i++) set.Add(approx[i].Item);
                for (int i = 0; i < t; i++) found += set.Contains(truth[i].Item) ? 1 : 0;
                wanted += t;
            }
            report.AppendLine().AppendLine(CultureInfo.InvariantCulture,
                $"Candidate recall of the HNSW path (ef 64) against exact search over {compared:N0} users: **{(double)found / wanted:F4}** (share of the exact path's candidates also returned).");
            // Engaged items filtered inside the walk vs over-fetched and dropped: both policies, no cache, same users and seeds.
            report.AppendLine().AppendLine("Engaged items excluded inside the HNSW search (filter, the default) vs over-fetched and dropped " +
                                           "(`FilterInSearch = false`), no cache; CPU ms/request is this process's CPU time (robust to other load); " +
                                           $"recall against exact search with the same options over {compared:N0} users.").AppendLine();
            report.AppendLine("| policy | engaged items | users | CPU ms/request | wall requests/s | candidate recall vs exact |").AppendLine("|---|---|---:|---:|---:|---:|");
            foreach (RetrievalPolicy policy in new[] { RetrievalPolicy.Paper, RetrievalPolicy.Mixture })
            foreach (bool filter in new[] { true, false })
            {
                var o = new RecommenderOptions { Policy = policy, FilterInSearch = filter };
                var viaHnsw = new Recommender(hnsw, table, o);
                var viaExact = new Recommender(exact, table, o);
                for (int u = 0; u < Math.Min(200, all.Length); u++) viaHnsw.RecommendWithSeed(all[u], (ulong)u, buffer);
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var wall = Stopwatch.StartNew();
                for (int u = 0; u < all.Length; u++) viaHnsw.RecommendWithSeed(all[u], (ulong)u, buffer);
                double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / all.Length;
                double rps = all.Length / wall.Elapsed.TotalSeconds;
                long hits = 0, total = 0;
                for (int u = 0; u < compared; u++)
                {
                    int a = viaHnsw.RecommendWithSeed(all[u], (ulong)u, approx).Count;
                    int t = viaExact.RecommendWithSeed(all[u], (ulong)u, truth).Count;
                    var set = new HashSet<int>();
                    for (int i = 0; i < a; i++) set.Add(approx[i].Item);
                    for (int i = 0; i < t; i++) hits += set.Contains(truth[i].Item) ? 1 : 0;
                    total += t;
                }
                string row = string.Create(CultureInfo.InvariantCulture,
                    $"| {policy.ToString().ToLowerInvariant()} | {(filter ? "filtered in the search" : "over-fetched, dropped")} | {all.Length:N0} | {cpuMs:F3} | {rps:N0} | {(double)hits / total:F4} |");
                report.AppendLine(row);
                Console.WriteLine(row);
            }
            report.AppendLine().AppendLine("Timings are wall-clock on this machine; other load inflates them.");
            Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            AtomicFile.WriteText(output, w => w.Write(report.ToString()));
            Console.WriteLine(report.ToString());
            Console.WriteLine($"wrote {output}");
            return 0;
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); }
            catch (IOException) { }
        }
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private sealed class ProfileList : IProfileSink
    {
        public List<UserProfile> Items { get; } = [];

        public void Write(UserProfile profile) => Items.Add(profile);
    }
}
