using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Clustering;
using PinnerSage.IO;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage cluster`: Ward-cluster one set of vectors, write scipy's linkage matrix, print the α-cut
/// clusters with their medoids (papers/PINNERSAGE.md, Model steps 1–2, for inspection and checking against scipy).</summary>
internal static class ClusterCommand
{
    private const int MembersShown = 12;
    private const int TopMerges = 10;

    /// <summary>Most vectors `cluster` accepts: the condensed distance matrix of 20,000 is 1.5 GiB (our limit).</summary>
    internal const int MaxVectors = 20_000;

    public static Command Create()
    {
        var vectors = new Option<string>("--vectors") { Description = "Vectors to cluster: .npy float32 [n, d].", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Item ids, one per line in row order (default: beside the .npy; row numbers when absent)." };
        var linkageOut = new Option<string>("--linkage-out")
        {
            Description = "Output .npy float64 [n−1, 4]: scipy's linkage matrix Z (left id, right id, height = √Ward distance, size).",
            Required = true,
        };
        var alpha = new Option<double>("--alpha")
        {
            Description = "Cut level α on the squared Ward scale (scipy height √α); merged sets at distance ≤ α are kept.",
            DefaultValueFactory = _ => WardClustering.DefaultAlphaUnitNorm,
        };
        var keepSingletons = new Option<bool>("--keep-singletons") { Description = "Make items whose first merge is above α clusters of their own." };
        var cmd = new Command("cluster", "Ward-cluster one set of vectors (NN-chain), write scipy's linkage matrix, print the α-cut clusters and medoids.")
        {
            vectors, ids, linkageOut, alpha, keepSingletons,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            string zPath = pr.GetValue(linkageOut)!;
            if (!zPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--linkage-out must name a .npy file, got '{zPath}'.");
            var options = new WardOptions { Alpha = pr.GetValue(alpha), KeepSingletons = pr.GetValue(keepSingletons) };
            options.Validate();
            string vectorsPath = pr.GetValue(vectors)!;
            OutputPaths.Check("--linkage-out", zPath, ("--vectors", vectorsPath), ("--ids", pr.GetValue(ids) ?? ItemEmbeddings.DefaultIdsPath(vectorsPath)));
            using ItemEmbeddings e = ItemEmbeddings.Load(vectorsPath, pr.GetValue(ids), new EmbeddingsLoadOptions { AllowZeroVectors = true });
            if (e.Count == 0) throw new ArgumentException("--vectors has no rows.");
            if (e.Count > MaxVectors)
                throw new DataFormatException(vectorsPath, 0, "shape", string.Create(CultureInfo.InvariantCulture,
                    $"{e.Count:N0} rows; cluster takes at most {MaxVectors:N0} (Ward keeps n(n−1)/2 distances: {8.0 * e.Count * (e.Count - 1) / 2 / (1 << 30):F1} GiB)"));
            long start = Stopwatch.GetTimestamp();
            WardDendrogram dendrogram = WardClustering.Linkage(e.Matrix, e.Dimension);
            WardClusters clusters = dendrogram.Cut(options.Alpha, options.KeepSingletons);
            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            double[] z = dendrogram.ToScipyLinkage();
            Npy.Write(zPath, z, e.Count - 1, 4);
            Print(e, dendrogram, clusters, options, zPath, elapsed);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static void Print(ItemEmbeddings e, WardDendrogram dendrogram, WardClusters clusters, WardOptions options,
                              string zPath, TimeSpan elapsed)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        double lowest = double.PositiveInfinity, highest = 0;
        foreach (WardMerge merge in dendrogram.Merges)
        {
            lowest = Math.Min(lowest, merge.Height);
            highest = Math.Max(highest, merge.Height);
        }
        int unclustered = 0;
        foreach (int label in clusters.Labels)
            if (label < 0) unclustered++;
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn("cluster").RightAligned())
            .AddColumn(new TableColumn("size").RightAligned())
            .AddColumn("medoid (row)")
            .AddColumn("members");
        for (int k = 0; k < clusters.Count; k++)
        {
            int[] members = clusters.Members(k);
            var text = new StringBuilder();
            for (int m = 0; m < Math.Min(members.Length, MembersShown); m++)
            {
                if (m > 0) text.Append(", ");
                text.Append(e.Id(members[m]));
            }
            if (members.Length > MembersShown) text.Append(c, $", … (+{members.Length - MembersShown})");
            int medoid = clusters.Medoids[k];
            table.AddRow(k.ToString(c), members.Length.ToString(c), Markup.Escape($"{e.Id(medoid)} ({medoid})"), Markup.Escape(text.ToString()));
        }
        AnsiConsole.Write(table);
        string heights = dendrogram.Merges.Count == 0 ? "no merges" : string.Create(c, $"merge heights {lowest:G6} … {highest:G6}");
        Console.Out.WriteLine(string.Create(c,
            $"{e.Count:N0} items × {e.Dimension}; {heights}; α = {options.Alpha:G6} (height {Math.Sqrt(options.Alpha):G6}): " +
            $"{clusters.Count:N0} clusters, {unclustered:N0} items in none{(options.KeepSingletons ? "" : " (use --keep-singletons to keep them)")}; " +
            $"clustered in {elapsed.TotalMilliseconds:F1} ms"));
        if (dendrogram.Merges.Count > 0)
        {
            // The top of the dendrogram is where α decides the number of clusters: cutting just below the k-th largest
            // distance gives at most k + 1 clusters (with singletons kept).
            double[] top = dendrogram.Merges.Select(m => m.Distance).OrderDescending().Take(TopMerges).ToArray();
            Console.Out.WriteLine("largest merge distances (α scale): " + string.Join(", ", top.Select(d => d.ToString("G4", c))));
        }
        Console.Out.WriteLine($"wrote {zPath} (scipy linkage matrix, float64 [{Math.Max(0, e.Count - 1)}, 4])");
    }
}
