using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests;

namespace PinnerSage.Benchmarks;

/// <summary>`stores`: the profile stores side by side — durable event appends per second (one event per call on one
/// thread and on several, and batches of 100), pending-event reads, a whole batch run written into the store (profiles
/// of a synthetic user base, committed in one swap) and random profile reads. SQLite in a temporary file; PostgreSQL
/// when a connection string is given (--postgres, default env PINNERSAGE_TEST_POSTGRES), in a schema dropped after.
/// Writes bench/results/stores.md.</summary>
public static class StoresBenchmark
{
    public static int Run(string[] args)
    {
        int users = int.Parse(Arg(args, "--users") ?? "100000", CultureInfo.InvariantCulture);
        int appends = int.Parse(Arg(args, "--appends") ?? "2000", CultureInfo.InvariantCulture);
        int threads = int.Parse(Arg(args, "--threads") ?? "8", CultureInfo.InvariantCulture);
        string? postgres = Arg(args, "--postgres") ?? Environment.GetEnvironmentVariable("PINNERSAGE_TEST_POSTGRES");
        string repo = RepoPaths.FindRepoRoot() ?? Directory.GetCurrentDirectory();
        string output = Arg(args, "--out") ?? Path.Combine(repo, "bench/results/stores.md");
        string scratch = Path.Combine(Path.GetTempPath(), $"pinnersage-stores-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(scratch);
        string schema = $"pinnersage_bench_{Environment.ProcessId}";
        List<UserProfile> profiles = Profiles(users, seed: 1);
        var rows = new List<string[]>();
        try
        {
            var stores = new List<(string Name, string Location)> { ("SQLite (file, WAL, synchronous=FULL)", Path.Combine(scratch, "profiles.db")) };
            if (postgres is not null)
                stores.Add(("PostgreSQL (Npgsql, local server)",
                            ProfileStores.PostgresPrefix + new NpgsqlConnectionStringBuilder(postgres) { SearchPath = schema }.ConnectionString));
            else
                Console.WriteLine("PostgreSQL skipped: pass --postgres CONNSTRING or set PINNERSAGE_TEST_POSTGRES");
            foreach ((string name, string location) in stores)
            {
                Console.WriteLine(name);
                rows.Add([name, .. Measure(location, profiles, appends, threads)]);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(scratch, recursive: true);
            if (postgres is not null)
            {
                NpgsqlConnection.ClearAllPools();
                using var c = new NpgsqlConnection(postgres);
                c.Open();
                using var cmd = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", c);
                cmd.ExecuteNonQuery();
            }
        }

        var report = new StringBuilder();
        report.AppendLine("# Profile store benchmark").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Every append is durable before it returns (SQLite: WAL + synchronous=FULL; PostgreSQL: commit with synchronous_commit on). {appends:N0} calls per append row; the concurrent row runs {threads} threads on one store instance. Batch run: {users:N0} synthetic profiles (mean {profiles.Average(p => p.Clusters.Count):F1} clusters, {profiles.Average(p => p.Clusters.Sum(c => c.Members.Count)):F0} members) written through a replace session and committed. {Environment.ProcessorCount} cores.");
        report.AppendLine(CultureInfo.InvariantCulture, $"Command: `dotnet run -c Release --project bench/PinnerSage.Benchmarks -- stores --users {users} --appends {appends} --threads {threads}` (PostgreSQL from env PINNERSAGE_TEST_POSTGRES or --postgres).").AppendLine();
        report.AppendLine("| store | appends/s, 1 event per call, 1 thread | appends/s, 1 per call, " + threads + " threads | events/s, 100 per call | pending reads/s (1 thread) | batch write " + users.ToString("N0", CultureInfo.InvariantCulture) + " users | profile reads/s (1 thread) |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        foreach (string[] r in rows) report.AppendLine("| " + string.Join(" | ", r) + " |");
        AtomicFile.WriteText(output, w => w.Write(report.ToString()));
        Console.WriteLine(report.ToString());
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static string[] Measure(string location, List<UserProfile> profiles, int appends, int threads)
    {
        using IProfileStore store = ProfileStores.Open(location);
        string item = profiles.First(p => p.Clusters.Count > 0).Clusters[0].Medoid;
        ActionEvent Event(int i) => new($"user-{i % 5000:D6}", item, "click", 1_700_000_000 + i);

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < appends; i++) store.AppendEvents([Event(i)]);
        double single = appends / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  single appends: {single:N0}/s");

        clock.Restart();
        int next = -1;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            for (int i = Interlocked.Increment(ref next); i < appends; i = Interlocked.Increment(ref next)) store.AppendEvents([Event(i)]);
        });
        double concurrent = appends / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  concurrent appends ({threads} threads): {concurrent:N0}/s");

        clock.Restart();
        int batches = Math.Max(1, appends / 10);
        for (int b = 0; b < batches; b++) store.AppendEvents([.. Enumerable.Range(b * 100, 100).Select(Event)]);
        double batched = batches * 100 / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  batched appends: {batched:N0} events/s");

        clock.Restart();
        int reads = 0;
        for (int i = 0; i < appends; i++) reads += store.GetPendingEvents($"user-{i * 7 % 5000:D6}", 20).Count;
        double pending = appends / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  pending reads: {pending:N0}/s ({reads / (double)appends:F1} events each)");

        clock.Restart();
        using (IProfileReplaceSession session = store.BeginReplaceAll())
        {
            foreach (UserProfile p in profiles) session.Write(p);
            session.Commit(new ProfileRunMetadata(SqliteProfileStore.SchemaVersion, 1_700_000_000, DateTimeOffset.UtcNow, "{}", profiles.Count, "bench"));
        }
        double write = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  batch write: {write:F1} s");

        var rng = new Random(3);
        clock.Restart();
        int gets = Math.Min(profiles.Count, 5 * appends);
        for (int i = 0; i < gets; i++)
            if (store.Get(profiles[rng.Next(profiles.Count)].UserId) is null) throw new InvalidOperationException("missing profile");
        double get = gets / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  profile reads: {get:N0}/s");

        return [N(single), N(concurrent), N(batched), N(pending),
                string.Create(CultureInfo.InvariantCulture, $"{write:F1} s ({profiles.Count / write:N0} users/s)"), N(get)];
    }

    private static string N(double v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Profiles shaped like the batch job's on the synthetic world: 1–8 clusters of 1–30 members out of 100k
    /// items, in user-id order.</summary>
    private static List<UserProfile> Profiles(int users, int seed)
    {
        var rng = new Random(seed);
        var result = new List<UserProfile>(users);
        for (int u = 0; u < users; u++)
        {
            var clusters = new List<ProfileCluster>();
            int k = rng.Next(1, 9);
            for (int c = 0; c < k; c++)
            {
                string[] members = [.. Enumerable.Range(0, 1 + rng.Next(30)).Select(_ => $"i{rng.Next(100_000):D6}").Distinct()];
                clusters.Add(new ProfileCluster(members[0], rng.NextDouble() * 20, members.Length + rng.Next(3), members));
            }
            result.Add(new UserProfile($"u{u:D7}", clusters));
        }
        return result;
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
