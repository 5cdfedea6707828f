using System.Net.Http.Json;
using System.Text.Json;
using PinnerSage.Batch;
using PinnerSage.Serving;
using PinnerSage.Storage;
using PinnerSage.Tests.Storage;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Serving;

/// <summary>Several server instances sharing one PostgreSQL store (env PINNERSAGE_TEST_POSTGRES; passes with a message
/// without it, except under CI=true): an action acknowledged by one instance is served at once by the other, concurrent
/// posts to both lose nothing, and a batch run is seen by both.</summary>
public sealed class SharedPostgresTests(ServingFixture fixture, ITestOutputHelper output) : IClassFixture<ServingFixture>, IDisposable
{
    private readonly TestPostgres _postgres = new();

    [Fact]
    public async Task Two_instances_share_the_online_state()
    {
        if (!TestPostgres.Require(output)) return;
        string dir = Path.Combine(Path.GetDirectoryName(fixture.WorkspaceDirectory)!, "pg-" + Guid.NewGuid().ToString("N")[..8]);
        Workspace ws = fixture.Workspace with { Directory = dir, StoreLocation = _postgres.NewLocation() };
        ws.Save();
        WorkspaceBuilder.RunBatch(ws, new BatchOptions { Threads = 1 });
        string user;
        using (IProfileStore store = ProfileStores.Open(ws.StoreLocation))
            user = store.ListUsers(null, null, 50).First(u => store.Get(u)!.Clusters.Count >= 2);

        Func<ServeOptions, ServeOptions> strict = o => o with { RunCheckInterval = TimeSpan.Zero };
        await using RunningServer a = await fixture.StartAsync(dir, strict);
        await using RunningServer b = await fixture.StartAsync(dir, strict);
        string item = fixture.World.ItemId(42);
        (await a.Client.PostAsJsonAsync($"/v1/users/{user}/actions", new { item_id = item, action = "save" })).EnsureSuccessStatusCode();
        JsonElement seen = JsonDocument.Parse(await b.Client.GetStringAsync($"/v1/users/{user}/interests")).RootElement;
        Assert.Equal(1, seen.GetProperty("pending_events").GetInt32());
        Assert.Contains(seen.GetProperty("clusters").EnumerateArray(),
                        c => c.GetProperty("members")[0].GetProperty("item_id").GetString() == item && c.GetProperty("source").GetString() != "batch");

        // Concurrent posts to both instances for the same user: every acknowledged event is in the log, once.
        var acknowledged = (await Task.WhenAll(Enumerable.Range(0, 60).Select(async i =>
        {
            HttpClient client = i % 2 == 0 ? a.Client : b.Client;
            HttpResponseMessage r = await client.PostAsJsonAsync($"/v1/users/{user}/actions",
                new { item_id = fixture.World.ItemId(100 + i), action = "click", timestamp = ServingFixture.Now.ToUnixTimeSeconds() - 100 + i });
            r.EnsureSuccessStatusCode();
            return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("sequences")[0].GetInt64();
        }))).ToHashSet();
        Assert.Equal(60, acknowledged.Count);
        using (IProfileStore store = ProfileStores.Open(ws.StoreLocation))
        {
            var logged = store.ReadEvents(0, store.LastEventSequence()).Where(e => e.Event.UserId == user).Select(e => e.Sequence).ToHashSet();
            Assert.Superset(acknowledged, logged);
            Assert.Equal(61, logged.Count);
        }

        // The next batch run (from a third process's point of view) replaces the online state on both instances.
        WorkspaceBuilder.RunBatch(ws, new BatchOptions { Threads = 1 });
        foreach (RunningServer server in new[] { a, b })
        {
            JsonElement after = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/users/{user}/interests")).RootElement;
            Assert.Equal(0, after.GetProperty("pending_events").GetInt32());
        }
    }

    public void Dispose() => _postgres.Dispose();
}
