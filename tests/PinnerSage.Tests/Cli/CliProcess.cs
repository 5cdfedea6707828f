using System.Diagnostics;

namespace PinnerSage.Tests.Cli;

/// <summary>Child processes for tests: the built CLI (<c>dotnet pinnersage.dll …</c>, copied beside the tests), bash
/// pipelines around it, and other programs (Debian's python3), with both streams captured and a time limit, so exit
/// codes and standard streams are exactly what a user or a Hadoop task sees.</summary>
internal static class CliProcess
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    /// <summary>The CLI assembly beside the test assembly.</summary>
    public static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "pinnersage.dll");

    /// <summary>The dotnet host running the tests (DOTNET_HOST_PATH under <c>dotnet test</c>), else <c>dotnet</c>.</summary>
    public static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";

    /// <summary>The CLI as the start of a bash command line (quoted), for pipelines.</summary>
    public static string ShellCommand => $"\"{Host}\" \"{Dll}\"";

    /// <summary>Runs <c>pinnersage <paramref name="args"/></c> (each argument passed as is, no shell).</summary>
    public static (int Exit, string Out, string Err) Run(IEnumerable<string> args, string? workingDirectory = null) =>
        Start(Host, [Dll, .. args], workingDirectory);

    /// <summary>Runs <paramref name="command"/> with <c>bash -c</c> (pipes, redirections).</summary>
    public static (int Exit, string Out, string Err) Shell(string command, string? workingDirectory = null) =>
        Start("/bin/bash", ["-c", command], workingDirectory);

    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/> in <paramref name="workingDirectory"/>
    /// (default: the test assembly's folder); fails the test when it runs longer than three minutes.</summary>
    public static (int Exit, string Out, string Err) Start(string program, IEnumerable<string> args, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Limit))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"timed out after {Limit.TotalMinutes} minutes: {program} {string.Join(' ', psi.ArgumentList)}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
