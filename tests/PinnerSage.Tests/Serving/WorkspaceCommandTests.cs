using PinnerSage.Serving;
using PinnerSage.Storage;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.Serving;

/// <summary>The CLI side of workspaces: quickstart writes one and ends with the serve command and the page URL;
/// `workspace build` makes one from a dataset; `workspace batch` runs the next batch on it.</summary>
public sealed class WorkspaceCommandTests
{
    [Fact]
    public void Quickstart_writes_a_workspace_and_ends_with_the_serve_command_and_the_page()
    {
        using var tmp = new TempDir();
        string dir = tmp.File("qs");
        (int exit, string stdout, string stderr) = CliProcess.Run(["quickstart", "--out", dir, "--users", "150", "--no-itemsage"]);
        Assert.True(exit == 0, stderr + stdout);
        string[] lines = stdout.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal($"pinnersage serve --workspace {dir} --urls http://127.0.0.1:5000", lines[^2].Trim());
        Assert.Equal("http://127.0.0.1:5000/", lines[^1].Trim());
        Workspace ws = Workspace.Load(dir);
        Assert.True(File.Exists(ws.IndexPath));
        Assert.True(File.Exists(ws.ItemsPath));
        Assert.Contains("click", ws.ActionTypes);
        using IProfileStore store = ProfileStores.Open(ws.StoreLocation);
        Assert.True(store.CountUsers() > 100);
    }

    [Fact]
    public void Workspace_build_then_batch_consumes_the_logged_events()
    {
        using var tmp = new TempDir();
        string world = tmp.File("world");
        Assert.Equal(0, CliProcess.Run(["synth", "--users", "120", "--items", "800", "--dimension", "32", "--out", world]).Exit);
        string dir = tmp.File("ws");
        (int exit, string stdout, string stderr) = CliProcess.Run(["workspace", "build", "--out", dir,
            "--actions", Path.Combine(world, "actions.tsv"), "--embeddings", Path.Combine(world, "vectors", "item.npy"),
            "--items", Path.Combine(world, "items.tsv"), "--action-types", "click,save,add_to_cart,checkout", "--threads", "1"]);
        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("pinnersage serve --workspace", stdout);
        Workspace ws = Workspace.Load(dir);
        Assert.Equal(["add_to_cart", "checkout", "click", "save"], ws.ActionTypes);
        long sequence;
        using (IProfileStore store = ProfileStores.Open(ws.StoreLocation))
        {
            sequence = store.AppendEvents([new ActionEvent("u-online", "i000001", "click", store.GetMetadata()!.Now)])[0];
            Assert.Equal(0, store.GetMetadata()!.ConsumedEventSequence);
        }
        (exit, stdout, stderr) = CliProcess.Run(["workspace", "batch", "--workspace", dir, "--threads", "1"]);
        Assert.True(exit == 0, stderr + stdout);
        using (IProfileStore store = ProfileStores.Open(ws.StoreLocation))
        {
            Assert.Equal(sequence, store.GetMetadata()!.ConsumedEventSequence);
            Assert.Empty(store.GetPendingEvents("u-online", 20));
        }
        Assert.Equal(4, CliProcess.Run(["serve", "--workspace", tmp.File("nothing"), "--urls", "http://127.0.0.1:1"]).Exit); // no workspace.json: an IO error
    }
}
