using PinnerSage.Evaluation;
using PinnerSage.IO;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.Evaluation;

/// <summary>Issue 13: engagement-trained embeddings record their training cut (E.meta.json) and `eval` refuses to
/// test them on actions inside their training period.</summary>
public sealed class TrainingCutTests
{
    private const long Day = 86_400;

    [Fact]
    public void MetaRoundTripsAndBadFilesAreDataErrors()
    {
        using var dir = new TempDir();
        Assert.Null(EmbeddingsMeta.TryRead(dir.File("none.meta.json")));
        Assert.Equal(dir.File("e.meta.json"), EmbeddingsMeta.PathFor(dir.File("e.npy")));
        foreach (EmbeddingsMeta meta in new[] { new EmbeddingsMeta("cooccurrence", 1_388_534_400), new EmbeddingsMeta("itemsage", null) })
        {
            meta.Write(dir.File("m.meta.json"));
            Assert.Equal(meta, EmbeddingsMeta.TryRead(dir.File("m.meta.json")));
        }
        new EmbeddingsMeta("cooccurrence", 1_388_534_400).Write(dir.File("m.meta.json"));
        Assert.Contains("\"trained_until_utc\": \"2014-01-01\"", File.ReadAllText(dir.File("m.meta.json")), StringComparison.Ordinal);
        foreach (string bad in new[] { "{", "[]", "{\"kind\": 3}", "{\"kind\": \"x\", \"trained_until\": \"2014\"}", "{\"kind\": \"x\", \"trained_until\": 1.5}" })
        {
            File.WriteAllText(dir.File("bad.meta.json"), bad);
            Assert.Throws<DataFormatException>(() => EmbeddingsMeta.TryRead(dir.File("bad.meta.json")));
        }
    }

    [Fact]
    public void LeaveLastOutTestStartIsTheEarliestLastActionOfAUserWithHistory()
    {
        using var dir = new TempDir();
        string world = dir.File("w");
        (int exit, _, string stderr) = CliProcess.Run(["synth", "--users", "60", "--items", "300", "--topics", "6", "--dimension", "8", "--days", "40", "--out", world]);
        Assert.True(exit == 0, stderr);
        using ItemEmbeddings items = ItemEmbeddings.Load(Path.Combine(world, "vectors", "item.npy"));
        EvalActions actions = EvalActions.Load(Path.Combine(world, "actions.tsv"), items);
        // Independent reference: per user, the last timestamp, for users with an action before it within 90 days.
        long expected = File.ReadLines(Path.Combine(world, "actions.tsv")).Skip(1).Select(l => l.Split('\t'))
            .GroupBy(f => f[0], f => long.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture))
            .Where(g => g.Any(t => t < g.Max() && t >= g.Max() - 90 * Day))
            .Min(g => g.Max());
        Assert.Equal(expected, TrainingOverlap.TestPeriodStart(actions, new OfflineEvalOptions { Protocol = EvalProtocol.LeaveLastOut }));
        Assert.Equal(12_345, TrainingOverlap.TestPeriodStart(actions, new OfflineEvalOptions { Protocol = EvalProtocol.WalkForward, TestFrom = 12_345 }));
        Assert.Equal(Math.Min(expected, 12_345L * Day),
                     TrainingOverlap.TestPeriodStart(actions, new OfflineEvalOptions { TestFrom = 12_345L * Day }));
    }

    [Fact]
    public void EvalRefusesCooccurrenceEmbeddingsTrainedIntoTheTestPeriod()
    {
        using var dir = new TempDir();
        string world = dir.File("w");
        (int exit, string stdout, string stderr) = CliProcess.Run(["synth", "--users", "80", "--items", "400", "--topics", "6", "--dimension", "8", "--days", "60", "--out", world]);
        Assert.True(exit == 0, stderr);
        long first = File.ReadLines(Path.Combine(world, "actions.tsv")).Skip(1)
            .Min(l => long.Parse(l.Split('\t')[2], System.Globalization.CultureInfo.InvariantCulture));
        long early = (first / Day + 40) * Day, late = (first / Day + 50) * Day;
        string npy = dir.File("co.npy");
        (exit, stdout, stderr) = CliProcess.Run(["embeddings", "cooccurrence", "--dataset", world, "--until", late.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", npy, "--dim", "8"]);
        Assert.True(exit == 0, stderr);
        Assert.Equal(new EmbeddingsMeta("cooccurrence", late), EmbeddingsMeta.TryRead(dir.File("co.meta.json")));
        Assert.Empty(Directory.GetFiles(dir.Path, ".*.tmp"));

        string[] eval = ["eval", "--dataset", world, "--embeddings", npy, "--methods", "last-item", "--bootstrap", "10", "--curve-max", "0"];
        string Date(long t) => EmbeddingsMeta.FormatTime(t);
        (exit, stdout, stderr) = CliProcess.Run([.. eval, "--protocol", "walk", "--test-from", Date(early)]);
        Assert.Equal(3, exit);
        Assert.Contains(Date(late), stderr, StringComparison.Ordinal);
        Assert.Contains(Date(early), stderr, StringComparison.Ordinal);
        Assert.Contains("--allow-training-overlap", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);

        (exit, stdout, stderr) = CliProcess.Run([.. eval, "--protocol", "walk", "--test-from", Date(early), "--allow-training-overlap"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("warning:", stderr, StringComparison.Ordinal);
        Assert.Contains($"walk-forward in 1-day steps from {Date(early)}", stdout, StringComparison.Ordinal); // nothing moved

        // Auto with a recorded cut: walk-forward (never leave-last-out), accepted when the test starts at the cut.
        (exit, stdout, stderr) = CliProcess.Run([.. eval, "--test-from", Date(late)]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("walk-forward (auto)", stderr, StringComparison.Ordinal);
        Assert.Contains($"walk-forward in 1-day steps from {Date(late)}", stdout, StringComparison.Ordinal);
        (exit, _, stderr) = CliProcess.Run([.. eval, "--protocol", "leave-last-out"]);
        Assert.Equal(3, exit);
        Assert.Contains("inside the training period", stderr, StringComparison.Ordinal);

        // Without the sidecar (content vectors, older files) nothing is checked.
        File.Delete(dir.File("co.meta.json"));
        (exit, _, stderr) = CliProcess.Run([.. eval, "--protocol", "walk", "--test-from", Date(early)]);
        Assert.True(exit == 0, stderr);
    }
}
