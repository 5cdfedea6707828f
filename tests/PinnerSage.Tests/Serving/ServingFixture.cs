using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using PinnerSage.Serving;
using PinnerSage.Synthetic;

namespace PinnerSage.Tests.Serving;

/// <summary>A small serving workspace built once per test class (xunit class fixture): a synthetic world (300 users,
/// 1,500 items, d = 32) → profiles through the batch job → HNSW index → workspace.json, in a temporary folder.
/// <see cref="StartAsync"/> starts the real server (Kestrel) on <c>http://127.0.0.1:&lt;free port&gt;</c>; tests that
/// post actions use <see cref="CloneWorkspace"/> so they do not see each other's events.</summary>
public sealed class ServingFixture : IDisposable
{
    /// <summary>The world's end (its last action is before it): the fixture's clock stands one hour later.</summary>
    public const long WorldEnd = 1_767_225_600;

    /// <summary>The fixed "now" of servers started by the fixture (one hour after the world's end).</summary>
    public static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(WorldEnd + 3600);

    private readonly TempDir _root = new();
    private int _clones;

    public ServingFixture()
    {
        WorldDirectory = Path.Combine(_root.Path, "world");
        var worldOptions = new SyntheticWorldOptions { Users = 300, Items = 1500, Topics = 30, Dimension = 32, Seed = 7, EndTime = WorldEnd };
        World = SyntheticWorld.Create(worldOptions);
        SyntheticWorldWriter.Write(World, WorldDirectory, maxThreads: 2);
        WorkspaceDirectory = Path.Combine(_root.Path, "workspace");
        Workspace = WorkspaceBuilder.Create(new WorkspaceSources
        {
            Directory = WorkspaceDirectory,
            ActionsPath = Path.Combine(WorldDirectory, SyntheticWorldWriter.ActionsFile),
            EmbeddingsPath = Path.Combine(WorldDirectory, SyntheticWorldWriter.VectorsFile),
            ItemsPath = Path.Combine(WorldDirectory, SyntheticWorldWriter.ItemsFile),
            ActionTypes = SyntheticWorld.ActionLabels,
        }, threads: 2, out _);
    }

    /// <summary>The generated world (ids, titles, topics).</summary>
    public SyntheticWorld World { get; }

    /// <summary>The world's files (actions.tsv, items.tsv, vectors/).</summary>
    public string WorldDirectory { get; }

    /// <summary>The shared workspace: read-only tests only.</summary>
    public string WorkspaceDirectory { get; }

    /// <summary>The shared workspace's manifest.</summary>
    public Workspace Workspace { get; }

    /// <summary>A private copy of the workspace (its own store; embeddings, catalogue and actions shared) for tests that
    /// write.</summary>
    public string CloneWorkspace()
    {
        string dir = Path.Combine(_root.Path, "clone-" + Interlocked.Increment(ref _clones));
        Directory.CreateDirectory(dir);
        string store = Path.Combine(dir, PinnerSage.Serving.Workspace.DefaultStore);
        File.Copy(Workspace.StoreLocation, store);
        string index = Path.Combine(dir, WorkspaceBuilder.IndexFile);
        File.Copy(Workspace.IndexPath, index);
        (Workspace with { Directory = dir, StoreLocation = store, IndexPath = index }).Save();
        return dir;
    }

    /// <summary>Starts the real server over <paramref name="workspace"/> (default: the shared one) on a free loopback
    /// port, with the fixture's fixed clock unless <paramref name="configure"/> changes it.</summary>
    public async Task<RunningServer> StartAsync(string? workspace = null, Func<ServeOptions, ServeOptions>? configure = null)
    {
        var options = new ServeOptions
        {
            Workspace = workspace ?? WorkspaceDirectory,
            Urls = $"http://127.0.0.1:{FreePort()}",
            Clock = new FixedClock(Now),
        };
        if (configure is not null) options = configure(options);
        WebApplication app = ServingApp.Build(options);
        await app.StartAsync();
        return new RunningServer(app, new Uri(options.Urls!));
    }

    /// <summary>A free TCP port on loopback (bound and released: a tiny race with other processes, fine for tests).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose() => _root.Dispose();
}

/// <summary>A started server and a client for it; disposing stops the server (gracefully: acknowledged events are
/// already durable).</summary>
public sealed class RunningServer(WebApplication app, Uri baseAddress) : IAsyncDisposable
{
    public WebApplication App { get; } = app;

    public Uri BaseAddress { get; } = baseAddress;

    public HttpClient Client { get; } = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>A clock that stands still (tests need a known "now" for decay and default timestamps).</summary>
public sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
