using System.Diagnostics;
using System.Text;
using PinnerSage.Ann;
using PinnerSage.Storage;
using PinnerSage.Tests.Profiles;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Cli;

/// <summary>kill -9 at random points of a batch run and of an index build (issue 12): afterwards every output is the
/// previous one or the complete new one, never a mix or a truncated file. Bounded: a few kills each on a small world,
/// a seeded schedule, well under a minute.</summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int Kills = 6;

    /// <summary>Starts <c>pinnersage args</c> in <paramref name="dir"/> and SIGKILLs it after <paramref name="delay"/>
    /// (or lets it finish, if sooner); returns whether it was still running when killed.</summary>
    private static bool RunAndKill(string args, string dir, TimeSpan delay)
    {
        var psi = new ProcessStartInfo(CliProcess.Host)
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(CliProcess.Dll);
        foreach (string a in args.Split(' ')) psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (p.WaitForExit(delay)) return false;
        p.Kill(); // SIGKILL on Unix: no finally block, no flush, no rollback
        p.WaitForExit();
        return true;
    }

    private static (int Exit, string Err) Run(string args, string dir)
    {
        (int exit, _, string err) = CliProcess.Shell($"{CliProcess.ShellCommand} {args}", dir);
        return (exit, err);
    }

    /// <summary>The store's profiles as JSON lines (the export's exact format), in user order.</summary>
    private static string StoreLines(string path)
    {
        using SqliteProfileStore store = SqliteProfileStore.Open(path);
        var text = new StringBuilder();
        foreach (string user in store.ListUsers(null, null, int.MaxValue)) text.Append(ProfileJson.ToLine(store.Get(user)!)).Append('\n');
        return text.ToString();
    }

    [Fact]
    public void A_killed_batch_run_leaves_the_previous_or_the_new_store_and_export()
    {
        using var dir = new TempDir();
        TestWorld world = TestWorld.Create(400, seed: 3);
        File.WriteAllText(dir.File("actions.tsv"), TestWorld.Tsv(world.Actions.OrderBy(a => a.Time)));
        world.SaveEmbeddings(dir.File("items.npy"));
        const string common = "profiles build --actions actions.tsv --embeddings items.npy --store p.db --jsonl-out p.jsonl --threads 2";

        // The new run's complete outputs, from an uninterrupted run in a second folder.
        using var reference = new TempDir();
        foreach (string f in new[] { "actions.tsv", "items.npy", "items.ids" }) File.Copy(dir.File(f), reference.File(f));
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, Run(common + " --lambda 0.05", reference.Path).Exit);
        TimeSpan duration = clock.Elapsed;
        string newLines = File.ReadAllText(reference.File("p.jsonl"));

        Assert.Equal(0, Run(common + " --lambda 0.01", dir.Path).Exit);
        string oldLines = File.ReadAllText(dir.File("p.jsonl"));
        Assert.NotEqual(oldLines, newLines);
        Assert.Equal(oldLines, StoreLines(dir.File("p.db")));

        var rng = new Random(12);
        int killed = 0, sawNew = 0;
        for (int i = 0; i < Kills; i++)
        {
            var delay = TimeSpan.FromMilliseconds(rng.NextDouble() * duration.TotalMilliseconds);
            if (RunAndKill(common + " --lambda 0.05", dir.Path, delay)) killed++;
            string store = StoreLines(dir.File("p.db")), export = File.ReadAllText(dir.File("p.jsonl"));
            output.WriteLine($"kill after {delay.TotalMilliseconds:F0} ms: store {(store == newLines ? "new" : "old")}, export {(export == newLines ? "new" : "old")}");
            Assert.True(store == oldLines || store == newLines, "the store is neither the previous nor the new run");
            Assert.True(export == oldLines || export == newLines, "the export is neither the previous nor the new run");
            if (store == newLines)
            {
                sawNew++;
                Assert.Equal(0, Run(common + " --lambda 0.01", dir.Path).Exit); // every kill starts from the previous state
            }
        }
        output.WriteLine($"{killed} of {Kills} runs killed, {sawNew} had committed");
        Assert.True(killed > 0, "no run was killed before it finished");
    }

    [Fact]
    public void A_killed_index_build_leaves_the_previous_or_the_new_index()
    {
        using var dir = new TempDir();
        TestWorld world = TestWorld.Create(10, seed: 4, topics: 40, itemsPerTopic: 100, dimension: 32);
        world.SaveEmbeddings(dir.File("items.npy"));
        int count = world.Items.Count;
        Assert.Equal(0, Run("index build --vectors items.npy --out x.hnsw --M 8 --threads 1", dir.Path).Exit);
        byte[] previous = File.ReadAllBytes(dir.File("x.hnsw"));
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, Run("index build --vectors items.npy --out y.hnsw --M 16 --threads 1", dir.Path).Exit);
        TimeSpan duration = clock.Elapsed;

        var rng = new Random(21);
        int killed = 0;
        for (int i = 0; i < Kills; i++)
        {
            File.WriteAllBytes(dir.File("x.hnsw"), previous);
            var delay = TimeSpan.FromMilliseconds(rng.NextDouble() * duration.TotalMilliseconds);
            if (RunAndKill("index build --vectors items.npy --out x.hnsw --M 16 --threads 1", dir.Path, delay)) killed++;
            byte[] now = File.ReadAllBytes(dir.File("x.hnsw"));
            if (now.AsSpan().SequenceEqual(previous)) continue;
            HnswIndex index = HnswIndex.Load(dir.File("x.hnsw")); // checksummed: a partial file would throw
            Assert.Equal(16, index.Options.M);
            Assert.Equal(count, index.Count);
        }
        output.WriteLine($"{killed} of {Kills} builds killed");
        Assert.True(killed > 0, "no build was killed before it finished");
    }
}
