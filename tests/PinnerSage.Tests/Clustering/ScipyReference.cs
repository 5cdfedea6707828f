using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace PinnerSage.Tests.Clustering;

/// <summary>scipy's <c>linkage(method='ward')</c> through Debian's /usr/bin/python3, and the shared datasets; both may be
/// absent, in which case tests pass with a message, except under CI=true where absence is a failure.</summary>
internal static class ScipyReference
{
    private const string Python = "/usr/bin/python3";
    private static readonly Lazy<string?> Missing = new(Probe);

    /// <summary>Null when scipy can be used, else why not (and fails the test under CI=true).</summary>
    public static string? Unavailable(string what = "scipy")
    {
        string? missing = Missing.Value;
        if (missing != null && IsCi) Assert.Fail($"{what} is required under CI=true: {missing}");
        return missing;
    }

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Z of each input (float32 rows, n × d), (n − 1) × 4 row-major.</summary>
    public static List<double[]> Linkage(IReadOnlyList<(float[] X, int D)> inputs)
    {
        string dir = Path.Combine(Path.GetTempPath(), "pinnersage-scipy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            for (int c = 0; c < inputs.Count; c++)
            {
                var sb = new StringBuilder();
                (float[] x, int d) = inputs[c];
                for (int i = 0; i < x.Length / d; i++)
                {
                    for (int k = 0; k < d; k++)
                    {
                        if (k > 0) sb.Append(' ');
                        sb.Append(x[i * d + k].ToString("R", CultureInfo.InvariantCulture));
                    }
                    sb.Append('\n');
                }
                File.WriteAllText(Path.Combine(dir, $"{c}.txt"), sb.ToString());
            }
            string script = $$"""
                import numpy as np, sys
                from scipy.cluster.hierarchy import linkage
                for c in range({{inputs.Count}}):
                    x = np.loadtxt(r'{{dir}}/%d.txt' % c, dtype=np.float32, ndmin=2)
                    z = linkage(x, method='ward')
                    print('Z', c, z.shape[0])
                    for row in z:
                        print(' '.join(repr(float(v)) for v in row))
                """;
            string output = Run(script);
            var result = new List<double[]>();
            string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            for (int l = 0; l < lines.Length;)
            {
                string[] head = lines[l++].Split(' ');
                Assert.Equal("Z", head[0]);
                int rows = int.Parse(head[2], CultureInfo.InvariantCulture);
                var z = new double[rows * 4];
                for (int r = 0; r < rows; r++)
                {
                    string[] v = lines[l++].Split(' ');
                    for (int k = 0; k < 4; k++) z[r * 4 + k] = double.Parse(v[k], CultureInfo.InvariantCulture);
                }
                result.Add(z);
            }
            return result;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The shared datasets folder (a sibling of the repository), or null.</summary>
    public static string? Datasets()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "datasets");
            if (Directory.Exists(candidate)) return candidate;
        }
        if (IsCi) Assert.Fail("../shared/datasets is required under CI=true");
        return null;
    }

    private static string Run(string script)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-");
        using var process = Process.Start(info)!;
        process.StandardInput.Write(script);
        process.StandardInput.Close();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"python failed: {stderr.Result}");
        return stdout;
    }

    private static string? Probe()
    {
        if (!File.Exists(Python)) return $"{Python} not found";
        try
        {
            var info = new ProcessStartInfo(Python, "-c \"import scipy, numpy\"") { RedirectStandardError = true };
            using var process = Process.Start(info)!;
            string err = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : $"scipy not importable: {err.Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return e.Message;
        }
    }
}
