using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace PinnerSage.Tests.Samples;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SamplesCollection
{
    public const string Name = "Samples (packs the library; runs alone)";
}

/// <summary>The two programs in <c>samples/</c>, built against the packed packages as an application would use them
/// (<c>samples/pack-and-run.sh</c>: <c>dotnet pack</c> of the packages they need into a local folder, restored from there
/// through samples/NuGet.config, third-party packages from the machine's cache), run, and their output checked.</summary>
/// <remarks>Slow (a pack and two builds, about a minute on 2 cores) and CPU-heavy, so it is one test, in a collection of
/// its own that runs alone; <c>--filter "Category!=Slow"</c> leaves it out.</remarks>
[Collection(SamplesCollection.Name)]
[Trait("Category", "Slow")]
public sealed partial class SamplesTests
{
    [Fact]
    public void Both_samples_build_against_the_packed_packages_and_print_sensible_results()
    {
        string repo = RepoPaths.FindRepoRoot() ?? throw new InvalidOperationException("repository root not found");
        using var work = new TempDir();
        (int exit, string output) = Run(Path.Combine(repo, "samples", "pack-and-run.sh"), work.Path);
        Assert.True(exit == 0, output);

        // Profiles: every user gets one, and a user's top recommendations come from the topics they engaged with
        // (two of four, so chance alone gives about half).
        Assert.Contains("profiles: 30 users from 360 actions", output);
        Match recommended = TopicShare().Match(output);
        Assert.True(recommended.Success, output);
        Assert.Equal(300, int.Parse(recommended.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.True(int.Parse(recommended.Groups[2].Value, CultureInfo.InvariantCulture) >= 270, recommended.Value);

        // ItemSage: the whole catalogue embedded, and an item's nearest neighbour mostly of its kind (one in five by chance).
        Assert.Contains("embedded 400 items, d = 32", output);
        Match kinds = SameKind().Match(output);
        Assert.True(kinds.Success, output);
        Assert.True(int.Parse(kinds.Groups[1].Value, CultureInfo.InvariantCulture) >= 300, kinds.Value);
    }

    /// <summary>Runs the script with bash; the build tools of the test host are not passed down, so the nested
    /// <c>dotnet</c> commands run as they would from a shell.</summary>
    private static (int Exit, string Output) Run(string script, string work)
    {
        var psi = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(work);
        foreach (string name in (string[])["MSBuildSDKsPath", "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly"])
            psi.Environment.Remove(name);
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("samples/pack-and-run.sh timed out after 15 minutes");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [GeneratedRegex(@"top-10 recommendations: (\d+), from the user's own topics: (\d+)")]
    private static partial Regex TopicShare();

    [GeneratedRegex(@"nearest neighbour of the same kind: (\d+) of 400")]
    private static partial Regex SameKind();
}
