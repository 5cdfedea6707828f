using System.Net;
using System.Text.Json;
using PinnerSage.Serving;
using PinnerSage.Storage;

namespace PinnerSage.Tests.Serving;

/// <summary>The read endpoints against the store and the library they wrap, through the real server.</summary>
public sealed class ReadEndpointTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private static async Task<JsonElement> GetJson(HttpClient client, string url)
    {
        using HttpResponseMessage response = await client.GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Users_are_paged_in_ordinal_order_with_next_and_prefix()
    {
        await using RunningServer server = await fixture.StartAsync();
        List<string> expected;
        long count;
        using (IProfileStore store = ProfileStores.Open(fixture.Workspace.StoreLocation))
        {
            expected = [.. store.ListUsers(null, null, 10_000)];
            count = store.CountUsers();
        }
        Assert.Equal(count, expected.Count);
        Assert.True(count > 250);
        var seen = new List<string>();
        string? after = null;
        do
        {
            JsonElement page = await GetJson(server.Client, "/v1/users?limit=70" + (after is null ? "" : "&after=" + after));
            seen.AddRange(page.GetProperty("users").EnumerateArray().Select(u => u.GetString()!));
            after = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        } while (after is not null);
        Assert.Equal(expected, seen);
        Assert.Equal(expected.OrderBy(u => u, StringComparer.Ordinal), seen);

        string prefix = expected[0][..^1];
        JsonElement filtered = await GetJson(server.Client, "/v1/users?limit=1000&prefix=" + prefix);
        Assert.Equal(expected.Where(u => u.StartsWith(prefix, StringComparison.Ordinal)),
                     filtered.GetProperty("users").EnumerateArray().Select(u => u.GetString()!));
    }

    [Fact]
    public async Task Interests_are_the_stored_profile_with_titles_when_nothing_is_pending()
    {
        await using RunningServer server = await fixture.StartAsync();
        using IProfileStore store = ProfileStores.Open(fixture.Workspace.StoreLocation);
        string user = store.ListUsers(null, null, 50).First(u => store.Get(u)!.Clusters.Count >= 2);
        var profile = store.Get(user)!;
        long batchNow = store.GetMetadata()!.Now;
        double decay = Math.Exp(-fixture.Workspace.ProfileOptions.DecayLambda * ((ServingFixture.Now.ToUnixTimeSeconds() - batchNow) / 86400.0));

        JsonElement json = await GetJson(server.Client, $"/v1/users/{user}/interests");
        Assert.Equal(user, json.GetProperty("user_id").GetString());
        Assert.Equal(batchNow, json.GetProperty("batch_now").GetInt64());
        Assert.Equal(0, json.GetProperty("pending_events").GetInt32());
        JsonElement[] clusters = [.. json.GetProperty("clusters").EnumerateArray()];
        Assert.Equal(profile.Clusters.Count, clusters.Length);
        for (int c = 0; c < clusters.Length; c++)
        {
            var expected = profile.Clusters[c];
            JsonElement medoid = clusters[c].GetProperty("medoid");
            Assert.Equal(expected.Medoid, medoid.GetProperty("item_id").GetString());
            Assert.Equal(fixture.World.ItemTitle(ItemIndex(expected.Medoid)), medoid.GetProperty("title").GetString());
            Assert.Equal(expected.Importance * decay, clusters[c].GetProperty("importance").GetDouble(), 1e-9);
            Assert.Equal(expected.Size, clusters[c].GetProperty("size").GetInt32());
            Assert.Equal("batch", clusters[c].GetProperty("source").GetString());
            Assert.Equal(expected.Members.Take(ServingApp.MembersShown),
                         clusters[c].GetProperty("members").EnumerateArray().Select(m => m.GetProperty("item_id").GetString()!));
        }
    }

    [Fact]
    public async Task Recommendations_match_the_library_and_carry_reasons()
    {
        await using RunningServer server = await fixture.StartAsync();
        using IProfileStore store = ProfileStores.Open(fixture.Workspace.StoreLocation);
        string user = store.ListUsers(null, null, 50).First(u => store.Get(u)!.Clusters.Count >= 4);
        JsonElement json = await GetJson(server.Client, $"/v1/users/{user}/recommendations?k=30&medoids=2&policy=paper");
        Assert.Equal(30, json.GetProperty("k").GetInt32());
        JsonElement[] items = [.. json.GetProperty("items").EnumerateArray()];
        Assert.Equal(30, items.Length);
        var engaged = store.Get(user)!.Clusters.SelectMany(c => c.Members).ToHashSet();
        var medoids = json.GetProperty("medoids").EnumerateArray().Select(m => m.GetProperty("item_id").GetString()!).ToHashSet();
        Assert.InRange(medoids.Count, 1, 2);
        Assert.Equal(items.Length, items.Select(i => i.GetProperty("item_id").GetString()).Distinct().Count());
        foreach (JsonElement item in items)
        {
            Assert.DoesNotContain(item.GetProperty("item_id").GetString()!, engaged);
            Assert.Contains(item.GetProperty("reason").GetProperty("medoid").GetProperty("item_id").GetString()!, medoids);
            Assert.InRange(item.GetProperty("score").GetDouble(), -1.0001, 1.0001);
            Assert.NotNull(item.GetProperty("title").GetString());
        }
        // Same request twice (same day): same answer, the second from the medoid cache.
        JsonElement again = await GetJson(server.Client, $"/v1/users/{user}/recommendations?k=30&medoids=2&policy=paper");
        Assert.Equal(json.GetProperty("items").GetRawText(), again.GetProperty("items").GetRawText());
        JsonElement metrics = await GetJson(server.Client, "/metrics.json");
        Assert.True(metrics.GetProperty("cache").GetProperty("hits").GetInt64() >= 1);
        Assert.True(metrics.GetProperty("routes").GetProperty("recommendations").GetProperty("requests").GetInt64() >= 2);
    }

    [Fact]
    public async Task An_int8_index_serves_the_same_endpoints()
    {
        // The workspace's index replaced by its int8 copy (`index build --quantization int8` writes the same format).
        string workspace = fixture.CloneWorkspace();
        Workspace ws = Workspace.Load(workspace);
        using (PinnerSage.Ann.QuantizedHnswIndex q = PinnerSage.Ann.HnswIndex.Load(ws.IndexPath).Quantize()) q.Save(ws.IndexPath);
        Assert.True(PinnerSage.Ann.QuantizedHnswIndex.IsQuantizedFile(ws.IndexPath));
        await using RunningServer int8 = await fixture.StartAsync(workspace);
        await using RunningServer plain = await fixture.StartAsync();
        using IProfileStore store = ProfileStores.Open(fixture.Workspace.StoreLocation);
        long shared = 0, total = 0;
        foreach (string user in store.ListUsers(null, null, 40).Where(u => store.Get(u)!.Clusters.Count >= 2).Take(10))
        {
            var engaged = store.Get(user)!.Clusters.SelectMany(c => c.Members).ToHashSet();
            foreach (string policy in new[] { "paper", "mixture" })
            {
                string url = $"/v1/users/{user}/recommendations?k=25&policy={policy}";
                string[] got = [.. (await GetJson(int8.Client, url)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()!)];
                string[] reference = [.. (await GetJson(plain.Client, url)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()!)];
                Assert.Equal(25, got.Length);
                Assert.Equal(25, got.Distinct().Count());
                Assert.DoesNotContain(got, engaged.Contains);
                shared += got.Intersect(reference).Count();
                total += reference.Length;
            }
        }
        // Re-ranked on the float rows: nearly the float index's answers.
        Assert.True(shared >= 0.9 * total, $"{shared} of {total} shared with the float index");
        string item = fixture.World.ItemId(5);
        JsonElement similar = await GetJson(int8.Client, $"/v1/items/{item}/similar?k=15");
        Assert.Equal(15, similar.GetProperty("items").GetArrayLength());
        Assert.DoesNotContain(item, similar.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()));
    }

    [Fact]
    public async Task Similar_items_exclude_the_item_and_are_sorted_by_score()
    {
        await using RunningServer server = await fixture.StartAsync();
        string item = fixture.World.ItemId(5);
        JsonElement json = await GetJson(server.Client, $"/v1/items/{item}/similar?k=15");
        Assert.Equal(item, json.GetProperty("item_id").GetString());
        Assert.Equal(fixture.World.ItemTitle(5), json.GetProperty("title").GetString());
        double[] scores = [.. json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("score").GetDouble())];
        Assert.Equal(15, scores.Length);
        Assert.DoesNotContain(item, json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("item_id").GetString()));
        for (int i = 1; i < scores.Length; i++) Assert.True(scores[i] <= scores[i - 1] + 1e-6);
    }

    [Fact]
    public async Task Health_openapi_and_page_are_served()
    {
        await using RunningServer server = await fixture.StartAsync();
        JsonElement health = await GetJson(server.Client, "/health");
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(1500, health.GetProperty("items").GetInt32());
        JsonElement openapi = await GetJson(server.Client, "/openapi/v1.json");
        JsonElement paths = openapi.GetProperty("paths");
        foreach (string path in new[] { "/v1/users", "/v1/users/{id}/interests", "/v1/users/{id}/recommendations",
                                        "/v1/items/{id}/similar", "/v1/users/{id}/actions", "/health", "/metrics.json" })
            Assert.True(paths.TryGetProperty(path, out _), path);
        using HttpResponseMessage page = await server.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync());
        using HttpResponseMessage script = await server.Client.GetAsync("/assets/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    private static int ItemIndex(string itemId) => int.Parse(itemId.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture) - 1;
}
