using System.CommandLine;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.IO;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage embeddings import|info|export|cooccurrence`: convert text vectors to the .npy + .ids exchange
/// format, inspect and validate a table, write one back out as text, or fit engagement-based embeddings.</summary>
internal static partial class EmbeddingsCommand
{
    public static Command Create()
    {
        var cmd = new Command("embeddings", "Import, inspect and export item embeddings (.npy float32 [n, d] + .ids in row order).");
        cmd.Subcommands.Add(CreateImport());
        cmd.Subcommands.Add(CreateInfo());
        cmd.Subcommands.Add(CreateExport());
        cmd.Subcommands.Add(CreateCooccurrence());
        cmd.Subcommands.Add(CreateGeometry());
        return cmd;
    }

    private static Command CreateImport()
    {
        var text = new Option<string>("--text") { Description = "Text vectors: 'id<SEP>v1<SEP>v2…' per line, TSV or CSV, optional header.", Required = true };
        var output = new Option<string>("--out") { Description = "Output .npy (float32 [n, d]); ids go beside it as .ids.", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Output ids file (default: --out with extension .ids)." };
        var allowZero = new Option<bool>("--allow-zero") { Description = "Accept all-zero vectors (an error by default)." };
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise every vector before writing." };
        var dim = new Option<int?>("--dim") { Description = "Expected dimension; another dimension is an error." };
        var cmd = new Command("import", "Convert a TSV/CSV text vector table into .npy + .ids (written atomically).")
        {
            text, output, ids, allowZero, normalize, dim,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var options = new EmbeddingsLoadOptions
            {
                AllowZeroVectors = pr.GetValue(allowZero),
                Normalize = pr.GetValue(normalize),
                ExpectedDimension = pr.GetValue(dim),
            };
            string outPath = pr.GetValue(output)!;
            if (!outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--out must name a .npy file, got '{outPath}'.");
            string textPath = pr.GetValue(text)!;
            string idsPath = pr.GetValue(ids) ?? ItemEmbeddings.DefaultIdsPath(outPath);
            OutputPaths.Check("--out", outPath, ("--text", textPath));
            OutputPaths.Check("--ids", idsPath, ("--text", textPath), ("--out", outPath));
            using ItemEmbeddings e = TextVectors.Read(textPath, options);
            e.Save(outPath, idsPath);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {outPath} ({e.Count:N0} × {e.Dimension} float32{(options.Normalize ? ", L2-normalised" : "")}) and {idsPath}"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateInfo()
    {
        var vectors = new Option<string>("--vectors") { Description = "The .npy table to inspect.", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Ids file (default: beside the .npy; row numbers when absent)." };
        var allowZero = new Option<bool>("--allow-zero") { Description = "Do not count zero vectors as a validation failure." };
        var actions = new Option<string?>("--actions") { Description = "Also report how many actions of this actions.tsv have a vector (unknown items are skipped by the batch job)." };
        var noHeader = new Option<bool>("--no-header") { Description = "The --actions file has no header line." };
        var cmd = new Command("info", "Print rows, dimension, norms and the validation result; exit code 2 when invalid.")
        {
            vectors, ids, allowZero, actions, noHeader,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            string npy = pr.GetValue(vectors)!;
            string? idsArg = pr.GetValue(ids);
            NpyHeader header = Npy.ReadHeader(npy);
            using ItemEmbeddings e = ItemEmbeddings.Load(npy, idsArg, new EmbeddingsLoadOptions { ValidateValues = false });
            EmbeddingsSummary s = e.Summarize();
            string idsSource = idsArg ?? (File.Exists(ItemEmbeddings.DefaultIdsPath(npy)) ? ItemEmbeddings.DefaultIdsPath(npy) : "(none: ids are row numbers)");
            var o = Console.Out;
            var c = CultureInfo.InvariantCulture;
            o.WriteLine($"file:        {npy} (.npy v{header.MajorVersion}.0, {header.Descr}, shape {header.ShapeText}{(e.IsMemoryMapped ? ", memory-mapped" : "")})");
            o.WriteLine($"ids:         {idsSource}");
            o.WriteLine(string.Create(c, $"rows:        {s.Rows:N0}"));
            o.WriteLine(string.Create(c, $"dimension:   {s.Dimension}"));
            o.WriteLine(string.Create(c, $"L2 norms:    min {s.NormMin:G6}, mean {s.NormMean:G6}, max {s.NormMax:G6}{(s.AllUnitNorm ? " (unit-norm)" : "")}"));
            o.WriteLine(string.Create(c, $"non-finite:  {s.NonFiniteRows:N0} rows"));
            o.WriteLine(string.Create(c, $"zero:        {s.ZeroRows:N0} rows"));
            if (pr.GetValue(actions) is string actionsPath)
            {
                using var reader = new ActionsTsvReader(actionsPath, hasHeader: !pr.GetValue(noHeader));
                ActionsCoverage cov = ActionsCoverage.Measure(reader, e);
                double share = cov.Actions == 0 ? 0 : 100.0 * cov.KnownActions / cov.Actions;
                o.WriteLine(string.Create(c, $"actions:     {cov.Actions:N0} from {cov.Users:N0} users in {actionsPath}; {cov.KnownActions:N0} ({share:F1}%) have a vector"));
                if (cov.UnknownActions > 0)
                    o.WriteLine(string.Create(c,
                        $"unknown:     {cov.UnknownActions:N0} actions on {cov.UnknownItems:N0} item ids without a vector (first on line {cov.FirstUnknownLine}; e.g. {string.Join(", ", cov.UnknownExamples)})"));
            }
            bool zeroFails = s.ZeroRows > 0 && !pr.GetValue(allowZero);
            if (s.NonFiniteRows == 0 && !zeroFails)
            {
                o.WriteLine("validation:  ok");
                return ExitCodes.Ok;
            }
            o.WriteLine("validation:  FAILED");
            // Summarize reports the first non-finite row before the first zero row, matching Load's checks.
            Console.Error.WriteLine($"error: {s.FirstProblem!.Message}");
            return ExitCodes.BadData;
        }));
        return cmd;
    }

    private static Command CreateExport()
    {
        var vectors = new Option<string>("--vectors") { Description = "The .npy table to export.", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Ids file (default: beside the .npy)." };
        var text = new Option<string>("--text") { Description = "Output text table (.tsv: tab-separated, .csv: comma-separated), with a header.", Required = true };
        var cmd = new Command("export", "Write a .npy + .ids table as a TSV/CSV text table (round-trip float precision).")
        {
            vectors, ids, text,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            string vectorsPath = pr.GetValue(vectors)!, outPath = pr.GetValue(text)!;
            OutputPaths.Check("--text", outPath, ("--vectors", vectorsPath), ("--ids", pr.GetValue(ids) ?? ItemEmbeddings.DefaultIdsPath(vectorsPath)));
            using ItemEmbeddings e = ItemEmbeddings.Load(vectorsPath, pr.GetValue(ids),
                                                         new EmbeddingsLoadOptions { AllowZeroVectors = true });
            TextVectors.Write(outPath, e);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {outPath} ({e.Count:N0} × {e.Dimension})"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
