using PinnerSage.Tests.Cli;
using Xunit.Abstractions;

namespace PinnerSage.Tests;

/// <summary>Locates the shared real datasets and Debian's python3 (numpy/scipy) for tests, and implements the skip
/// rule: when a resource is absent a test passes with a clear message, except under CI=true where absence fails.</summary>
public static class TestData
{
    private static readonly Dictionary<string, bool> PythonModules = new(StringComparer.Ordinal);

    /// <summary>Debian's interpreter (the <c>python3</c> on PATH may be a pyenv build without numpy).</summary>
    public const string DebianPython = "/usr/bin/python3";

    /// <inheritdoc cref="RepoPaths.DatasetsRoot"/>
    public static string? DatasetsRoot => RepoPaths.DatasetsRoot;

    /// <summary>True when running under CI (env CI=true), where missing resources are failures.</summary>
    public static bool IsCI => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc cref="RepoPaths.Dataset"/>
    public static string? Dataset(string relativePath) => RepoPaths.Dataset(relativePath);

    /// <summary>Returns true when <paramref name="available"/>; otherwise fails the test under CI, or writes
    /// "skipped: …" to <paramref name="output"/> (and stderr) and returns false so the test can return early.</summary>
    public static bool RequireOrSkip(bool available, string what, ITestOutputHelper? output = null)
    {
        if (available) return true;
        string message = $"skipped: {what} is not available";
        if (IsCI) Assert.Fail($"{what} is required when CI=true but is not available");
        output?.WriteLine(message);
        Console.Error.WriteLine(message);
        return false;
    }

    /// <summary>Path of a dataset entry, or null after <see cref="RequireOrSkip"/> (fails under CI when absent).</summary>
    public static string? RequireDataset(string relativePath, ITestOutputHelper? output = null)
    {
        string? path = Dataset(relativePath);
        return RequireOrSkip(path is not null, $"dataset file ../shared/datasets/{relativePath}", output) ? path : null;
    }

    /// <summary>True when Debian's python3 can import all <paramref name="modules"/> (cached per module set).</summary>
    public static bool HasPython(params string[] modules)
    {
        string key = string.Join(",", modules);
        lock (PythonModules)
        {
            if (PythonModules.TryGetValue(key, out bool ok)) return ok;
            ok = File.Exists(DebianPython) && RunPython($"import {key}", []).ExitCode == 0;
            PythonModules[key] = ok;
            return ok;
        }
    }

    /// <summary>Like <see cref="RequireOrSkip"/> for Debian's python3 with <paramref name="modules"/>.</summary>
    public static bool RequirePython(ITestOutputHelper? output, params string[] modules) =>
        RequireOrSkip(HasPython(modules), $"{DebianPython} with {string.Join(", ", modules)} (apt-get install python3-numpy python3-scipy)", output);

    /// <summary>Runs a Python script with Debian's python3 (script via -c, then <paramref name="args"/>); returns the
    /// exit code, stdout and stderr.</summary>
    public static (int ExitCode, string StdOut, string StdErr) RunPython(string script, IEnumerable<string> args) =>
        CliProcess.Start(DebianPython, ["-c", script, .. args]);
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates a fresh folder under the system temp path.</summary>
    public TempDir() => Directory.CreateDirectory(Path);

    /// <summary>The folder.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pinnersage-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc/>
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
