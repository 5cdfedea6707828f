using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using PinnerSage.Cli.Infrastructure;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Cli;

/// <summary>A generated shop (titles in items.tsv), its profiles and its index, made by the CLI itself once for the
/// conventions tests.</summary>
public sealed class CliConventionsFixture : IDisposable
{
    private readonly TempDir _root = new();

    public CliConventionsFixture()
    {
        foreach (string args in new[]
                 {
                     "synth --users 200 --out w --seed 5",
                     "profiles build --actions w/actions.tsv --embeddings w/vectors/item.npy --store p.db --threads 2",
                     "index build --vectors w/vectors/item.npy --out x.hnsw --threads 2",
                 })
        {
            (int exit, string stdout, string stderr) = CliProcess.Shell($"{CliProcess.ShellCommand} {args}", _root.Path);
            Assert.True(exit == 0, $"{args}: {stdout}{stderr}");
        }
        using var store = PinnerSage.Storage.SqliteProfileStore.Open(File("p.db"));
        // A user with several clusters, so the tables and documents have several rows.
        User = store.ListUsers(null, null, int.MaxValue).First(u => store.Get(u)!.Clusters.Count >= 3);
    }

    public string Root => _root.Path;

    public string User { get; }

    public string File(string name) => _root.File(name);

    public void Dispose() => _root.Dispose();
}

/// <summary>Issue 15's command-line conventions: no escape codes unless a terminal wants them, full-width tables in
/// files, <c>--json</c> documents that say what the tables say, bad values as one sentence with exit 3, and shell
/// completion.</summary>
public sealed partial class CliConventionsTests(CliConventionsFixture fixture, ITestOutputHelper output) : IClassFixture<CliConventionsFixture>
{
    private (int Exit, string Out, string Err) Run(string args, string environment = "")
    {
        (int exit, string stdout, string stderr) = CliProcess.Shell($"{environment} {CliProcess.ShellCommand} {args}", fixture.Root);
        output.WriteLine($"$ pinnersage {args} → {exit}\n{stdout}{stderr}");
        return (exit, stdout, stderr);
    }

    /// <summary>An SGR sequence (colour, bold): what Spectre writes for markup.</summary>
    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex Sgr();

    [Fact]
    public void QuickstartThroughAPipeWritesNoEscapeByteEvenWithTermSet()
    {
        using var dir = new TempDir();
        (int exit, string stdout, string stderr) = CliProcess.Shell(
            $"TERM=xterm-256color {CliProcess.ShellCommand} quickstart --users 200 --out qs | cat", dir.Path);
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, exit);
        Assert.Contains("Recommended for", stdout);
        Assert.DoesNotContain('\x1b', stdout);
    }

    [Fact]
    public void NoColorDropsBoldOnATerminalWhichOtherwiseGetsIt()
    {
        if (!System.IO.File.Exists("/usr/bin/script")) return; // util-linux's script gives the CLI a pseudo-terminal
        string args = $"profiles show --store p.db --user {fixture.User}";
        string command = $"{CliProcess.ShellCommand} {args}".Replace("'", "'\\''", StringComparison.Ordinal);
        (int exit, string colour, _) = CliProcess.Shell($"TERM=xterm-256color script -qec '{command}' /dev/null", fixture.Root);
        Assert.Equal(0, exit);
        Assert.Matches(Sgr(), colour); // the user id is bold on a terminal: the control for the next run
        (exit, string plain, _) = CliProcess.Shell($"TERM=xterm-256color NO_COLOR=1 script -qec '{command}' /dev/null", fixture.Root);
        Assert.Equal(0, exit);
        Assert.Contains(fixture.User, plain);
        Assert.DoesNotMatch(Sgr(), plain);
    }

    [Fact]
    public void TablesInAFileAreNotWrappedAt80Columns()
    {
        (int exit, string stdout, _) = Run($"recommend --store p.db --index x.hnsw --user {fixture.User} --k 10 --items w/items.tsv");
        Assert.Equal(0, exit);
        string[] rows = [.. stdout.Split('\n').Where(l => l.StartsWith('│'))];
        Assert.Equal(11, rows.Length); // the header and 10 items, one line each: no cell wrapped onto a second line
        Assert.Contains(rows, r => r.Length > 80);
        Assert.All(rows, r => Assert.EndsWith("│", r));
    }

    /// <summary>The command's table output, and its <c>--json</c> output parsed (one line, one document); both exit 0.</summary>
    private (string Table, JsonDocument Json) TableAndJson(string args)
    {
        (int exit, string table, _) = Run(args);
        Assert.Equal(0, exit);
        (exit, string json, _) = Run(args + " --json");
        Assert.Equal(0, exit);
        Assert.Single(json.Trim().Split('\n'));
        return (table, JsonDocument.Parse(json));
    }

    /// <summary>The cells of a Spectre table's data rows (header skipped).</summary>
    private static string[][] Cells(string stdout) =>
        [.. stdout.Split('\n').Where(l => l.StartsWith('│')).Skip(1)
            .Select(l => l.Trim('│').Split('│').Select(c => c.Trim()).ToArray())];

    [Fact]
    public void RecommendJsonIsTheApiDocumentWithTheTablesItems()
    {
        (string table, JsonDocument json) = TableAndJson($"recommend --store p.db --index x.hnsw --user {fixture.User} --k 8 --items w/items.tsv");
        using JsonDocument doc = json;
        JsonElement root = doc.RootElement;
        Assert.Equal(fixture.User, root.GetProperty("user_id").GetString());
        Assert.Equal(8, root.GetProperty("k").GetInt32());
        JsonElement[] items = [.. root.GetProperty("items").EnumerateArray()];
        string[][] rows = Cells(table);
        Assert.Equal(rows.Length, items.Length);
        for (int i = 0; i < items.Length; i++)
        {
            Assert.Equal(rows[i][1], items[i].GetProperty("item_id").GetString());
            Assert.StartsWith(rows[i][2].TrimEnd('…'), items[i].GetProperty("title").GetString());
            Assert.Equal(rows[i][3], items[i].GetProperty("score").GetDouble().ToString("F3", CultureInfo.InvariantCulture));
            JsonElement reason = items[i].GetProperty("reason");
            Assert.StartsWith(reason.GetProperty("medoid").GetProperty("item_id").GetString() + " ", rows[i][4]);
            Assert.StartsWith($"#{reason.GetProperty("cluster").GetInt32() + 1} ", rows[i][5]);
        }
        // Every cluster named in a reason is listed once among the medoids.
        string[] medoids = [.. root.GetProperty("medoids").EnumerateArray().Select(m => m.GetProperty("item_id").GetString()!)];
        Assert.Equal(medoids.Distinct().Count(), medoids.Length);
        Assert.All(items, it => Assert.Contains(it.GetProperty("reason").GetProperty("medoid").GetProperty("item_id").GetString(), medoids));
    }

    [Fact]
    public void SimilarJsonListsTheTablesItemsAndScores()
    {
        string item = System.IO.File.ReadLines(fixture.File("w/vectors/item.ids")).Skip(3).First();
        (string table, JsonDocument json) = TableAndJson($"similar --index x.hnsw --item {item} --k 6 --items w/items.tsv");
        using JsonDocument doc = json;
        Assert.Equal(item, doc.RootElement.GetProperty("item_id").GetString());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("title").GetString()));
        JsonElement[] items = [.. doc.RootElement.GetProperty("items").EnumerateArray()];
        string[][] rows = Cells(table);
        Assert.Equal(6, items.Length);
        Assert.Equal(rows.Length, items.Length);
        for (int i = 0; i < items.Length; i++)
        {
            Assert.Equal(rows[i][1], items[i].GetProperty("item_id").GetString());
            Assert.Equal(rows[i][3], items[i].GetProperty("score").GetDouble().ToString("F3", CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void ProfilesShowJsonHasTheTablesClusters()
    {
        (string table, JsonDocument json) = TableAndJson($"profiles show --store p.db --user {fixture.User} --members 2");
        using JsonDocument doc = json;
        JsonElement root = doc.RootElement;
        Assert.Equal(fixture.User, root.GetProperty("user_id").GetString());
        Assert.True(root.GetProperty("batch_now").GetInt64() > 0);
        // Data rows start with the cluster number; a cluster's further members continue on lines with an empty first cell.
        string[][] rows = [.. Cells(table).Where(r => r[0].Length > 0)];
        JsonElement[] clusters = [.. root.GetProperty("clusters").EnumerateArray()];
        Assert.Equal(rows.Length, clusters.Length);
        for (int c = 0; c < clusters.Length; c++)
        {
            Assert.Equal(rows[c][1], clusters[c].GetProperty("medoid").GetProperty("item_id").GetString());
            Assert.Equal(rows[c][2], clusters[c].GetProperty("importance").GetDouble().ToString("F3", CultureInfo.InvariantCulture));
            Assert.Equal(rows[c][3], clusters[c].GetProperty("size").GetInt32().ToString(CultureInfo.InvariantCulture));
            Assert.InRange(clusters[c].GetProperty("members").GetArrayLength(), 1, 2);
        }
    }

    [Fact]
    public void IndexBuildJsonDescribesTheIndexItWrote()
    {
        (int exit, string text, _) = Run("index build --vectors w/vectors/item.npy --out a.hnsw --threads 1 --M 8");
        Assert.Equal(0, exit);
        (exit, string json, string log) = Run("index build --vectors w/vectors/item.npy --out b.hnsw --threads 1 --M 8 --json");
        Assert.Equal(0, exit);
        Assert.Contains("inserted", log); // progress on stderr, the document alone on stdout
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Match built = Regex.Match(text, @"built a\.hnsw: ([\d,]+) items × (\d+) \(cosine, M = 8");
        Assert.True(built.Success, text);
        Assert.Equal(int.Parse(built.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture), root.GetProperty("items").GetInt32());
        Assert.Equal(int.Parse(built.Groups[2].Value, CultureInfo.InvariantCulture), root.GetProperty("dimension").GetInt32());
        Assert.Equal(8, root.GetProperty("m").GetInt32());
        Assert.Equal("cosine", root.GetProperty("metric").GetString());
        Assert.Equal("b.hnsw", root.GetProperty("out").GetString());
        Assert.True(root.GetProperty("has_ids").GetBoolean());
        Assert.Equal(new FileInfo(fixture.File("a.hnsw")).Length, new FileInfo(fixture.File("b.hnsw")).Length);
    }

    /// <summary>Bad values that reach the library's checks (not the parse-time range table): each one sentence that names
    /// the option, without .NET's "(Parameter …)" or "Actual value was" tails.</summary>
    [Theory]
    [InlineData("quickstart --users 5 --out q", "error: --users must be 10 or more, not 5.")]
    [InlineData("eval --dataset w --embeddings item --test-share 0", "error: --test-share must be in (0, 1), not 0.")]
    [InlineData("eval --dataset w --embeddings item --negatives 0", "error: --negatives must be 1 or more, not 0.")]
    [InlineData("eval --dataset w --embeddings item --min-walk-users -3", "error: --min-walk-users must be 0 or more, not -3.")]
    [InlineData("eval --dataset w --embeddings item --relevance-threshold 2", "error: --relevance-threshold must be a cosine in [-1, 1], not 2.")]
    [InlineData("eval --dataset w --embeddings item --bootstrap 0", "error: --bootstrap must be 1 or more, not 0.")]
    [InlineData("completion fish", "error: the shell must be bash or zsh, not 'fish'.")]
    public void ABadValueIsOneSentenceWithExit3(string args, string expected)
    {
        (int exit, string _, string stderr) = Run(args);
        Assert.Equal(ExitCodes.BadUsage, exit);
        Assert.Equal(expected, stderr.TrimEnd('\n'));
    }

    [Fact]
    public void RangeTableValuesStayOneSentence()
    {
        (int exit, _, string stderr) = Run($"recommend --store p.db --index x.hnsw --user {fixture.User} --k 0");
        Assert.Equal(ExitCodes.BadUsage, exit);
        Assert.StartsWith("error: --k: 0 is out of range; expected 1 to 10000.", stderr);
        Assert.DoesNotContain("Parameter", stderr);
    }

    [Fact]
    public void TheBashCompletionScriptCompletesCommandsAndOptions()
    {
        using var dir = new TempDir();
        string wrapper = dir.File("pinnersage");
        System.IO.File.WriteAllText(wrapper, $"#!/bin/bash\nexec {CliProcess.ShellCommand} \"$@\"\n");
        Assert.Equal(0, CliProcess.Shell($"chmod +x {wrapper}").Exit);
        (int exit, string script, _) = Run("completion bash");
        Assert.Equal(0, exit);
        System.IO.File.WriteAllText(dir.File("c.sh"), script);
        string Complete(params string[] words)
        {
            string line = string.Join(' ', words);
            (int code, string stdout, string stderr) = CliProcess.Shell(
                $"source c.sh; COMP_LINE='{line}'; COMP_POINT={line.Length}; COMP_WORDS=({line}); COMP_CWORD={words.Length - 1}; " +
                "_pinnersage_complete; printf '%s\\n' \"${COMPREPLY[@]}\"", dir.Path);
            Assert.True(code == 0, stderr);
            return stdout;
        }
        Assert.Equal("build\n", Complete("./pinnersage", "index", "bui"));
        Assert.Contains("--json\n", Complete("./pinnersage", "recommend", "--j"));
        Assert.Contains("completion\n", Complete("./pinnersage", "comp"));
    }
}
