using System.Globalization;
using BenchmarkDotNet.Attributes;
using PinnerSage.IO;
using PinnerSage.Tests;

namespace PinnerSage.Benchmarks.IO;

/// <summary>actions.tsv reading throughput: <see cref="ActionsTsvReader"/> against the obvious peer
/// (<c>StreamReader.ReadLine</c> + <c>string.Split</c> + <c>long.Parse</c>) on the same file: amazon-beauty repeated
/// 10× (≈ 2M lines, 87 MB) when ../shared/datasets is found, else a generated file of the same size and shape.
/// Lines/s = 1,985,020 / mean time (amazon-beauty ×10).</summary>
[MemoryDiagnoser]
public class ActionsReaderBenchmarks
{
    private string _path = "";

    /// <summary>Lines in the benchmark file (data lines, without the header).</summary>
    public long Lines { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"pinnersage-bench-actions-{Environment.ProcessId}.tsv");
        string? source = RepoPaths.Dataset("amazon-beauty/actions.tsv");
        using var w = new StreamWriter(_path);
        w.NewLine = "\n";
        w.WriteLine("user_id\titem_id\ttimestamp\taction");
        if (source is not null)
        {
            string[] body = File.ReadLines(source).Skip(1).ToArray();
            for (int rep = 0; rep < 10; rep++)
            {
                foreach (string line in body) w.WriteLine(line);
            }
            Lines = body.Length * 10L;
        }
        else
        {
            var rng = new Random(1);
            for (int i = 0; i < 1_985_020; i++)
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"A{rng.Next(22_363):X12}\tB{rng.Next(12_101):D9}\t{1_300_000_000 + rng.Next(100_000_000)}\treview"));
            Lines = 1_985_020;
        }
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(Baseline = true, Description = "StreamReader.ReadLine + Split (peer)")]
    public long ReadLineSplit()
    {
        long sum = 0;
        using var r = new StreamReader(_path);
        r.ReadLine();
        string? line;
        while ((line = r.ReadLine()) is not null)
        {
            string[] f = line.Split('\t');
            sum += long.Parse(f[2], CultureInfo.InvariantCulture) + f[0].Length + f[1].Length + f[3].Length;
        }
        return sum;
    }

    [Benchmark(Description = "ActionsTsvReader")]
    public long ActionsTsvReader()
    {
        long sum = 0;
        using var r = new ActionsTsvReader(_path);
        while (r.MoveNext()) sum += r.Timestamp + r.UserId.Length + r.ItemId.Length + r.Action.Length;
        return sum;
    }
}
