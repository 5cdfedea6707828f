using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PinnerSage.Batch;
using PinnerSage.Serving;
using PinnerSage.Storage;

namespace PinnerSage.Tests.Serving;

/// <summary>Online actions through the real server: durable append before the acknowledgement, the served profile
/// changing at once, the 20-event cap, no lost update under concurrent POSTs, restart, and the next batch run.</summary>
public sealed class ActionsTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private static long Now => ServingFixture.Now.ToUnixTimeSeconds();

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private string UserWithClusters(string workspace, int min)
    {
        using IProfileStore store = ProfileStores.Open(PinnerSage.Serving.Workspace.Load(workspace).StoreLocation);
        return store.ListUsers(null, null, 100).First(u => store.Get(u)!.Clusters.Count >= min);
    }

    [Fact]
    public async Task An_acknowledged_action_changes_the_interests_at_once()
    {
        string ws = fixture.CloneWorkspace();
        string user = UserWithClusters(ws, 2);
        await using RunningServer server = await fixture.StartAsync(ws);
        JsonElement before = await Json(await server.Client.GetAsync($"/v1/users/{user}/interests"));
        string item = fixture.World.ItemId(1234);

        JsonElement ack = await Json(await server.Client.PostAsync($"/v1/users/{user}/actions",
            Body($"{{\"item_id\":\"{item}\",\"action\":\"click\"}}")));
        Assert.Equal(1, ack.GetProperty("accepted").GetInt32());
        long sequence = ack.GetProperty("sequences")[0].GetInt64();
        Assert.True(sequence > 0);

        // Durable before the acknowledgement: another connection to the store sees it.
        using (IProfileStore store = ProfileStores.Open(PinnerSage.Serving.Workspace.Load(ws).StoreLocation))
        {
            LoggedEvent logged = Assert.Single(store.GetPendingEvents(user, 20));
            Assert.Equal(sequence, logged.Sequence);
            Assert.Equal(new ActionEvent(user, item, "click", Now), logged.Event); // timestamp defaults to now
        }
        JsonElement after = await Json(await server.Client.GetAsync($"/v1/users/{user}/interests"));
        Assert.Equal(1, after.GetProperty("pending_events").GetInt32());
        JsonElement changed = after.GetProperty("clusters").EnumerateArray()
            .Single(c => c.GetProperty("members")[0].GetProperty("item_id").GetString() == item && c.GetProperty("source").GetString() != "batch");
        Assert.NotEqual(before.GetProperty("clusters").GetRawText(), after.GetProperty("clusters").GetRawText());
        // Fresh (importance 1 at now) against batch clusters decayed over an hour: the new interest is among the served ones
        // and the recommendations can draw on it.
        Assert.True(changed.GetProperty("importance").GetDouble() >= 1 - 1e-9);
        JsonElement recs = await Json(await server.Client.GetAsync($"/v1/users/{user}/recommendations?k=20&medoids=20"));
        Assert.DoesNotContain(item, recs.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()));
    }

    [Fact]
    public async Task Only_the_twenty_most_recent_events_are_served_and_a_new_user_appears()
    {
        string ws = fixture.CloneWorkspace();
        await using RunningServer server = await fixture.StartAsync(ws);
        var events = Enumerable.Range(0, 21).Select(i => new { item_id = fixture.World.ItemId(i * 7), action = "click", timestamp = Now - 1000 + i });
        JsonElement ack = await Json(await server.Client.PostAsJsonAsync("/v1/users/newcomer/actions", events));
        Assert.Equal(21, ack.GetProperty("accepted").GetInt32());
        long[] sequences = [.. ack.GetProperty("sequences").EnumerateArray().Select(s => s.GetInt64())];
        Assert.Equal(sequences.Order(), sequences);
        JsonElement interests = await Json(await server.Client.GetAsync("/v1/users/newcomer/interests"));
        Assert.Equal(20, interests.GetProperty("pending_events").GetInt32());
        var members = interests.GetProperty("clusters").EnumerateArray()
            .SelectMany(c => c.GetProperty("members").EnumerateArray()).Select(m => m.GetProperty("item_id").GetString()).ToHashSet();
        Assert.DoesNotContain(fixture.World.ItemId(0), members); // the oldest of the 21
        Assert.All(interests.GetProperty("clusters").EnumerateArray(), c => Assert.Equal("online", c.GetProperty("source").GetString()));
        JsonElement users = await Json(await server.Client.GetAsync("/v1/users?prefix=newc"));
        Assert.Equal("newcomer", Assert.Single(users.GetProperty("users").EnumerateArray()).GetString());
        JsonElement recs = await Json(await server.Client.GetAsync("/v1/users/newcomer/recommendations?k=10"));
        Assert.Equal(10, recs.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Concurrent_posts_for_one_user_lose_no_update_and_a_restart_sees_every_acknowledged_event()
    {
        string ws = fixture.CloneWorkspace();
        string user = UserWithClusters(ws, 1);
        const int clients = 8, perClient = 25;
        var sequences = new List<long>();
        await using (RunningServer server = await fixture.StartAsync(ws))
        {
            long[][] results = await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
            {
                var mine = new List<long>();
                for (int i = 0; i < perClient; i++)
                {
                    string body = $"{{\"item_id\":\"{fixture.World.ItemId(c * 100 + i)}\",\"action\":\"click\",\"timestamp\":{Now - 5000 + c * perClient + i}}}";
                    JsonElement ack = await Json(await server.Client.PostAsync($"/v1/users/{user}/actions", Body(body)));
                    mine.Add(ack.GetProperty("sequences")[0].GetInt64());
                }
                return mine.ToArray();
            }));
            foreach (long[] r in results) sequences.AddRange(r);
            JsonElement metrics = await Json(await server.Client.GetAsync("/metrics.json"));
            Assert.Equal(clients * perClient, metrics.GetProperty("events").GetProperty("appended").GetInt64());
        }
        Assert.Equal(clients * perClient, sequences.Distinct().Count());

        using (IProfileStore store = ProfileStores.Open(PinnerSage.Serving.Workspace.Load(ws).StoreLocation))
        {
            var logged = store.ReadEvents(0, store.LastEventSequence()).Where(e => e.Event.UserId == user).ToList();
            Assert.Equal(sequences.Order(), logged.Select(e => e.Sequence).Order());
        }
        // A new server process state on the same workspace serves them (the 20 most recent).
        await using (RunningServer again = await fixture.StartAsync(ws))
        {
            JsonElement interests = await Json(await again.Client.GetAsync($"/v1/users/{user}/interests"));
            Assert.Equal(20, interests.GetProperty("pending_events").GetInt32());
            var first = interests.GetProperty("clusters").EnumerateArray()
                .SelectMany(c => c.GetProperty("members").EnumerateArray()).Select(m => m.GetProperty("item_id").GetString()).ToHashSet();
            Assert.Contains(fixture.World.ItemId((clients - 1) * 100 + perClient - 1), first); // the most recent one
        }
    }

    [Fact]
    public async Task The_next_batch_run_consumes_the_log_and_replaces_the_online_state()
    {
        string ws = fixture.CloneWorkspace();
        string user = UserWithClusters(ws, 2);
        string item = fixture.World.ItemId(777);
        // Strict run checks: the new run is seen by the very next request (the default notices it within a second).
        await using RunningServer server = await fixture.StartAsync(ws, o => o with { RunCheckInterval = TimeSpan.Zero });
        await Json(await server.Client.PostAsync($"/v1/users/{user}/actions",
            Body($"[{{\"item_id\":\"{item}\",\"action\":\"click\",\"timestamp\":{Now - 60}}},{{\"item_id\":\"{item}\",\"action\":\"click\",\"timestamp\":{Now - 30}}}]")));
        JsonElement online = await Json(await server.Client.GetAsync($"/v1/users/{user}/interests"));
        Assert.Equal(2, online.GetProperty("pending_events").GetInt32());

        BatchSummary summary = WorkspaceBuilder.RunBatch(PinnerSage.Serving.Workspace.Load(ws), new BatchOptions { Threads = 1 });
        Assert.Equal(2, summary.LoggedEventsRead); // folded into the user's action stream

        JsonElement after = await Json(await server.Client.GetAsync($"/v1/users/{user}/interests"));
        Assert.Equal(0, after.GetProperty("pending_events").GetInt32());
        Assert.All(after.GetProperty("clusters").EnumerateArray(), c => Assert.Equal("batch", c.GetProperty("source").GetString()));
        using IProfileStore store = ProfileStores.Open(PinnerSage.Serving.Workspace.Load(ws).StoreLocation);
        Assert.Equal(store.LastEventSequence(), store.GetMetadata()!.ConsumedEventSequence);
        Assert.Empty(store.GetPendingEvents(user, 20));
    }
}
