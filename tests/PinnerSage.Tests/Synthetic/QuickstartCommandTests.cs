using System.CommandLine;
using System.Text.Json;
using PinnerSage.Cli.Commands;
using PinnerSage.Storage;
using PinnerSage.Synthetic;
using Spectre.Console;

namespace PinnerSage.Tests.Synthetic;

public sealed class QuickstartCommandTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("pinnersage-quickstart-tests-");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public void RunsEndToEndAndWritesEveryFile()
    {
        string dir = Path.Combine(_root.FullName, "qs");
        var text = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(text),
        });
        int exit = QuickstartCommand.Run(dir, userCount: 300, seed: 7, alpha: null, console);
        Assert.Equal(0, exit);

        foreach (string file in new[]
                 {
                     SyntheticWorldWriter.ActionsFile, SyntheticWorldWriter.ItemsFile, SyntheticWorldWriter.TruthFile,
                     SyntheticWorldWriter.TopicsFile, SyntheticWorldWriter.ManifestFile, SyntheticWorldWriter.VectorsFile,
                     SyntheticWorldWriter.IdsFile, "profiles.db", "profiles.jsonl", QuickstartCommand.IndexFile,
                 })
            Assert.True(File.Exists(Path.Combine(dir, file)), $"{file} is missing");

        string[] jsonl = File.ReadAllLines(Path.Combine(dir, "profiles.jsonl"));
        Assert.InRange(jsonl.Length, 250, 300);
        using (JsonDocument first = JsonDocument.Parse(jsonl[0]))
            Assert.StartsWith("u", first.RootElement.GetProperty("user_id").GetString());
        using (SqliteProfileStore store = SqliteProfileStore.Open(Path.Combine(dir, "profiles.db")))
        {
            Assert.Equal(jsonl.Length, store.CountUsers());
            Assert.Contains("\"alpha_auto\":true", store.GetMetadata()!.OptionsJson);
        }

        string printed = text.ToString();
        Assert.Contains("(auto)", printed); // the resolved α is printed
        Assert.Contains("mean ARI", printed);
        Assert.Contains("true interest", printed);
        Assert.Contains("pinnersage profiles show", printed);
        Assert.Contains("Recommended for", printed);
        Assert.Contains("from medoid", printed);
        Assert.Contains("pinnersage recommend", printed);
        // The held-out comparison: one line per compared method, each with its measured metrics.
        Assert.Contains("Held-out days", printed);
        foreach (string method in QuickstartCommand.ComparedMethods)
            Assert.Matches($@"\n  {System.Text.RegularExpressions.Regex.Escape(method)} +relevance [01]\.\d{{3}} \[", printed);
    }

    [Fact]
    public void CommandLineParsesItsOptions()
    {
        string dir = Path.Combine(_root.FullName, "cli");
        var root = new RootCommand { QuickstartCommand.Create() };
        int exit = root.Parse(["quickstart", "--out", dir, "--users", "120", "--seed", "3"]).Invoke();
        Assert.Equal(0, exit);
        Assert.True(File.Exists(Path.Combine(dir, "profiles.db")));
    }

    [Fact]
    public void SynthCommandWritesTheLayout()
    {
        string dir = Path.Combine(_root.FullName, "synth");
        var root = new RootCommand { SynthCommand.Create() };
        int exit = root.Parse(["synth", "--users", "100", "--out", dir, "--items", "600", "--topics", "12", "--dimension", "32"]).Invoke();
        Assert.Equal(0, exit);
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, SyntheticWorldWriter.ManifestFile)));
        Assert.Equal(600, manifest.RootElement.GetProperty("counts").GetProperty("items").GetInt32());
        Assert.Equal(12, manifest.RootElement.GetProperty("counts").GetProperty("topics").GetInt32());
        Assert.Equal(3, root.Parse(["synth", "--users", "0", "--out", dir]).Invoke()); // bad usage
    }
}
