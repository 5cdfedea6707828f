using System.Reflection;
using System.Xml.Linq;

namespace PinnerSage.Tests.Architecture;

/// <summary>The packages' dependencies point one way (README, "Architecture"): the algorithms reference no database
/// driver, no web stack and no reporting; stores, evaluation and ItemSage build on the core only; hosting, serving
/// and the CLI on top. Checked on the project files and on the compiled assemblies' references.</summary>
public sealed class PackageDependencyTests
{
    /// <summary>Each package's layer: a project may reference only projects of a lower layer.</summary>
    private static readonly Dictionary<string, int> Layers = new(StringComparer.Ordinal)
    {
        ["PinnerSage.Core"] = 0,
        ["PinnerSage.Storage.Sqlite"] = 1,
        ["PinnerSage.Storage.Postgres"] = 1,
        ["PinnerSage.Evaluation"] = 1,
        ["PinnerSage.Parquet"] = 1,
        ["PinnerSage.ItemSage"] = 2,
        ["PinnerSage.Hosting"] = 2,
        ["PinnerSage.Serving"] = 3,
        ["PinnerSage.Cli"] = 4,
    };

    private static readonly string[] StorageOrReporting =
        ["PinnerSage.Storage.Sqlite", "PinnerSage.Storage.Postgres", "PinnerSage.Hosting", "PinnerSage.Evaluation", "PinnerSage.Serving", "PinnerSage.Cli"];

    private static readonly string[] DatabaseOrWebPackages = ["Microsoft.Data.Sqlite", "SQLitePCLRaw", "Npgsql", "Microsoft.AspNetCore"];

    private static string Src => Path.Combine(RepoPaths.FindRepoRoot() ?? throw new InvalidOperationException("repository root not found"), "src");

    private static (string[] Projects, string[] Packages) References(string project)
    {
        XDocument doc = XDocument.Load(Path.Combine(Src, project, project + ".csproj"));
        string[] projects = [.. doc.Descendants("ProjectReference").Select(e => Path.GetFileNameWithoutExtension((string)e.Attribute("Include")!))];
        string[] packages = [.. doc.Descendants("PackageReference").Select(e => (string)e.Attribute("Include")!)
                                 .Concat(doc.Descendants("FrameworkReference").Select(e => (string)e.Attribute("Include")!))];
        return (projects, packages);
    }

    [Fact]
    public void EveryPackageIsLayeredAndEveryProjectReferencePointsDown()
    {
        string[] found = [.. Directory.GetDirectories(Src).Select(Path.GetFileName).Where(d => File.Exists(Path.Combine(Src, d!, d + ".csproj")))!];
        Assert.Equal(Layers.Keys.Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        foreach (string project in found)
            foreach (string reference in References(project).Projects)
                Assert.True(Layers[reference] < Layers[project], $"{project} (layer {Layers[project]}) references {reference} (layer {Layers[reference]})");
    }

    [Theory]
    [InlineData("PinnerSage.Core")]
    [InlineData("PinnerSage.Evaluation")]
    [InlineData("PinnerSage.ItemSage")]
    public void AlgorithmPackagesReferenceNoStoreNoDatabaseAndNoWebStack(string project)
    {
        (string[] projects, string[] packages) = References(project);
        Assert.DoesNotContain(projects, p => StorageOrReporting.Contains(p, StringComparer.Ordinal) && !(project == "PinnerSage.ItemSage" && p == "PinnerSage.Evaluation"));
        Assert.DoesNotContain(packages, p => DatabaseOrWebPackages.Any(d => p.StartsWith(d, StringComparison.Ordinal)));
    }

    [Fact]
    public void TheCoreTakesOnlyBaseLibraryPackages()
    {
        // Observability stays abstract in the algorithms: a logger interface and BCL meters, no telemetry SDK or exporter.
        Assert.Equal(["Microsoft.Extensions.Logging.Abstractions", "System.IO.Hashing", "System.Numerics.Tensors"],
                     References("PinnerSage.Core").Packages.Order(StringComparer.Ordinal));
        foreach (string project in new[] { "PinnerSage.Evaluation", "PinnerSage.ItemSage", "PinnerSage.Hosting" })
            Assert.DoesNotContain(References(project).Packages, p => p.StartsWith("OpenTelemetry", StringComparison.Ordinal));
    }

    [Fact]
    public void TheCompiledCoreReferencesNoStoreReportOrDriverAssembly()
    {
        Assembly core = typeof(PinnerSage.Ann.HnswIndex).Assembly;
        Assert.Equal("PinnerSage.Core", core.GetName().Name);
        string[] referenced = [.. core.GetReferencedAssemblies().Select(a => a.Name!)];
        Assert.Contains("System.Numerics.Tensors", referenced);
        Assert.DoesNotContain(referenced, r => r.StartsWith("PinnerSage.", StringComparison.Ordinal));
        Assert.DoesNotContain(referenced, r => DatabaseOrWebPackages.Any(d => r.StartsWith(d, StringComparison.Ordinal)));
        // The types that moved out live in their own packages now.
        Assert.Equal("PinnerSage.Storage.Sqlite", typeof(PinnerSage.Storage.SqliteProfileStore).Assembly.GetName().Name);
        Assert.Equal("PinnerSage.Storage.Postgres", typeof(PinnerSage.Storage.PostgresProfileStore).Assembly.GetName().Name);
        Assert.Equal("PinnerSage.Evaluation", typeof(PinnerSage.Evaluation.OfflineEvalHtmlReport).Assembly.GetName().Name);
        Assert.Equal("PinnerSage.Evaluation", typeof(PinnerSage.Synthetic.SyntheticWorld).Assembly.GetName().Name);
    }

    [Fact]
    public void EveryPackageHasItsMetadataAndReadme()
    {
        XDocument props = XDocument.Load(Path.Combine(Src, "..", "Directory.Build.props"));
        Assert.Equal("MIT", props.Descendants("PackageLicenseExpression").Single().Value);
        Assert.True(File.Exists(Path.Combine(Src, "..", "LICENSE")));
        foreach (string project in Layers.Keys)
        {
            XDocument doc = XDocument.Load(Path.Combine(Src, project, project + ".csproj"));
            Assert.True(doc.Descendants("Description").SingleOrDefault()?.Value.Length > 40, $"{project} has no real Description");
            Assert.True(File.Exists(Path.Combine(Src, project, "README.md")), $"{project} has no README.md");
        }
    }
}
