using PinnerSage.Retrieval;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.Evaluation;

/// <summary>`pinnersage tune` end to end through the built CLI: the search table, the written settings (which
/// `recommend`-side commands read back), and bad values.</summary>
public sealed class TuneCommandTests
{
    [Fact]
    public void TunesASyntheticWorldAndWritesSettingsThatLoad()
    {
        using var dir = new TempDir();
        string world = dir.File("world");
        (int exit, string stdout, string stderr) = CliProcess.Run(["synth", "--users", "80", "--items", "600", "--topics", "8",
                                                                   "--dimension", "16", "--days", "60", "--out", world]);
        Assert.True(exit == 0, stderr);
        string settings = dir.File("s.json");
        (exit, stdout, stderr) = CliProcess.Run(["tune", "--dataset", world, "--embeddings", "item", "--taus", "0.3,inf",
                                                 "--lambdas", "0.01", "--alpha-scales", "0.3,1", "--out", settings,
                                                 "--test-share", "0.2", "--validation-share", "0.2"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("validation period", stderr);
        Assert.Equal(4, stdout.Split('\n').Count(l => l.StartsWith("| 0.3 |", StringComparison.Ordinal) || l.StartsWith("| 1 |", StringComparison.Ordinal)));
        RetrievalSettings chosen = RetrievalSettings.Load(settings);
        Assert.Equal(RetrievalPolicy.Mixture, chosen.Policy);
        Assert.Contains(chosen.Tau, new[] { 0.3, double.PositiveInfinity });
        Assert.Contains($"chosen: {chosen}", stdout);

        // eval reads the file back for its default row.
        (exit, _, stderr) = CliProcess.Run(["eval", "--dataset", world, "--embeddings", "item", "--methods", "default",
                                            "--settings", settings, "--bootstrap", "10", "--curve-max", "0", "--test-share", "0.2"]);
        Assert.True(exit == 0, stderr);
    }

    [Theory]
    [InlineData("--taus", "abc")]
    [InlineData("--lambdas", "-1")]
    [InlineData("--test-share", "1.5")]
    public void BadValuesExitThreeNamingTheOption(string option, string value)
    {
        using var dir = new TempDir();
        (int exit, _, string stderr) = CliProcess.Run(["tune", "--dataset", dir.Path, "--embeddings", "x.npy", option, value]);
        Assert.Equal(3, exit);
        Assert.Contains(option, stderr);
    }
}
