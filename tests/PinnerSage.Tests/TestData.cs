using System.Diagnostics;
using Xunit.Abstractions;

namespace PinnerSage.Tests;

/// <summary>Locates the shared real datasets and Debian's python3 (numpy/scipy) for tests, and implements the skip
/// rule: when a resource is absent a test passes with a clear message, except under CI=true where absence fails.</summary>
public static class TestData
{
    private static readonly Lazy<string?> Root = new(FindDatasetsRoot);
    private static readonly Dictionary<string, bool> PythonModules = new(StringComparer.Ordinal);

    /// <summary>Debian's interpreter (the <c>python3</c> on PATH may be a pyenv build without numpy).</summary>
    public const string DebianPython = "/usr/bin/python3";

    /// <summary>The <c>shared/datasets</c> folder beside the repository (found by walking up from the test assembly),
    /// or null when absent. The environment variable PINNERSAGE_DATASETS overrides the search.</summary>
    public static string? DatasetsRoot => Root.Value;

    /// <summary>True when running under CI (env CI=true), where missing resources are failures.</summary>
    public static bool IsCI => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Path of a file or folder inside the datasets root (e.g. "amazon-beauty/actions.tsv"), or null when the
    /// root or that entry is absent.</summary>
    public static string? Dataset(string relativePath)
    {
        if (DatasetsRoot is not string root) return null;
        string path = Path.Combine(root, relativePath);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

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
    public static (int ExitCode, string StdOut, string StdErr) RunPython(string script, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(DebianPython)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, err.Result);
    }

    private static string? FindDatasetsRoot()
    {
        string? env = Environment.GetEnvironmentVariable("PINNERSAGE_DATASETS");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            // The repository folder's sibling "shared" holds the datasets: <parent>/shared/datasets.
            string candidate = Path.Combine(dir.FullName, "shared", "datasets");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
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
