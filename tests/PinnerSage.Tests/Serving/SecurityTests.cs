using System.Net;
using System.Text;
using System.Text.Json;
using PinnerSage.Batch;
using PinnerSage.Serving;
using PinnerSage.Storage;

namespace PinnerSage.Tests.Serving;

/// <summary>Issue 12 over HTTP: the API key on writes, the id rules, the security headers, the write rate limit, the
/// loopback rule, and the clock rule that lets the quickstart's old world survive its own demo.</summary>
public sealed class SecurityTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private const string Key = "k3y-0123456789abcdef";

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static HttpRequestMessage Post(string user, string item, string? bearer = null, string? header = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/users/{user}/actions")
        {
            Content = Body($"{{\"item_id\":\"{item}\",\"action\":\"click\"}}"),
        };
        if (bearer is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        if (header is not null) request.Headers.Add(ApiKeyAuth.HeaderName, header);
        return request;
    }

    private static long LoggedEvents(string workspace)
    {
        using IProfileStore store = ProfileStores.Open(Workspace.Load(workspace).StoreLocation);
        return store.LastEventSequence();
    }

    [Fact]
    public async Task With_a_key_writes_need_it_and_reads_do_not()
    {
        string ws = fixture.CloneWorkspace();
        string user = fixture.World.UserId(5), item = fixture.World.ItemId(10);
        await using RunningServer server = await fixture.StartAsync(ws, o => o with { ApiKey = Key });

        foreach (HttpRequestMessage refused in new[]
                 {
                     Post(user, item),
                     Post(user, item, bearer: "k3y-0123456789abcdeX"), // same length, last character differs
                     Post(user, item, bearer: Key[..^1]),
                     Post(user, item, header: Key + "0"),
                     Post(user, item, bearer: ""),
                 })
        {
            HttpResponseMessage r = await server.Client.SendAsync(refused);
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Bearer", r.Headers.WwwAuthenticate.ToString());
            Assert.Equal("API key required", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
        }
        Assert.Equal(0, LoggedEvents(ws)); // nothing refused was logged

        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(Post(user, item, bearer: Key))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(Post(user, item, header: Key))).StatusCode);
        Assert.Equal(2, LoggedEvents(ws));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/users/{user}/interests")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/items/{item}/similar")).StatusCode);
    }

    [Theory]
    [InlineData("%20", "whitespace")]
    [InlineData("%20%20%20", "whitespace")]
    [InlineData("a%09b", "control character")]
    [InlineData("a%0Ab", "control character")]
    [InlineData("%00", "")] // Kestrel itself refuses a NUL in the path, before routing
    [InlineData("u%1B%5B31m", "control character")]
    [InlineData("u%C2%85", "control character")]
    public async Task User_ids_break_the_rules_get_400_and_nothing_is_logged(string encodedUser, string problem)
    {
        string ws = fixture.CloneWorkspace();
        await using RunningServer server = await fixture.StartAsync(ws);
        HttpResponseMessage r = await server.Client.SendAsync(Post(encodedUser, fixture.World.ItemId(1)));
        string body = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains(problem, body);
        Assert.Equal(0, LoggedEvents(ws));
    }

    [Fact]
    public async Task User_and_item_ids_over_the_length_limit_are_refused()
    {
        string ws = fixture.CloneWorkspace();
        await using RunningServer server = await fixture.StartAsync(ws);
        HttpResponseMessage user = await server.Client.SendAsync(Post(new string('u', 257), fixture.World.ItemId(1)));
        Assert.Equal(HttpStatusCode.BadRequest, user.StatusCode);
        Assert.Contains("longer than 256", await user.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(Post(new string('u', 256), fixture.World.ItemId(1)))).StatusCode);
    }

    [Theory]
    [InlineData("\"  \"", "whitespace")]
    [InlineData("\"a\\tb\"", "control character")]
    [InlineData("\"a\\u0000\"", "control character")]
    [InlineData("\"a\\u007f\"", "control character")]
    public async Task Item_ids_in_the_body_follow_the_rules(string itemJson, string problem)
    {
        string ws = fixture.CloneWorkspace();
        await using RunningServer server = await fixture.StartAsync(ws);
        HttpResponseMessage r = await server.Client.PostAsync($"/v1/users/{fixture.World.UserId(1)}/actions",
            Body($"{{\"item_id\":{itemJson},\"action\":\"click\"}}"));
        string body = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("item_id", body);
        Assert.Contains(problem, body);
        Assert.Equal(0, LoggedEvents(ws));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/assets/app.js")]
    [InlineData("/v1/users?limit=2")]
    [InlineData("/v1/users/nobody/interests")]
    public async Task Every_response_carries_the_security_headers(string path)
    {
        await using RunningServer server = await fixture.StartAsync();
        HttpResponseMessage r = await server.Client.GetAsync(path);
        string csp = string.Join(";", r.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("nosniff", Assert.Single(r.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(r.Headers.GetValues("X-Frame-Options")));
    }

    [Fact]
    public async Task The_page_has_no_inline_script_or_style_that_the_policy_would_block()
    {
        await using RunningServer server = await fixture.StartAsync();
        string html = await server.Client.GetStringAsync("/");
        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("style=", html);
        Assert.DoesNotContain(" onclick=", html);
    }

    [Fact]
    public async Task Writes_beyond_the_rate_limit_get_429_and_reads_are_not_limited()
    {
        string ws = fixture.CloneWorkspace();
        await using RunningServer server = await fixture.StartAsync(ws, o => o with { WritesPerSecond = 2 });
        int accepted = 0, limited = 0;
        for (int i = 0; i < 20; i++)
        {
            HttpResponseMessage r = await server.Client.SendAsync(Post(fixture.World.UserId(2), fixture.World.ItemId(i)));
            if (r.StatusCode == HttpStatusCode.OK) accepted++;
            else
            {
                Assert.Equal((HttpStatusCode)429, r.StatusCode);
                Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
                Assert.True(r.Headers.Contains("Retry-After"));
                limited++;
            }
        }
        Assert.True(limited > 0, "no request was limited");
        Assert.Equal(accepted, LoggedEvents(ws));
        for (int i = 0; i < 20; i++)
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
    }

    [Theory]
    [InlineData("http://0.0.0.0:5000", null, false, false)]
    [InlineData("http://*:5000", null, false, false)]
    [InlineData("http://+:5000", null, false, false)]
    [InlineData("http://[::]:5000", null, false, false)]
    [InlineData("http://192.168.1.20:5000", null, false, false)]
    [InlineData("http://example.com:80", null, false, false)]
    [InlineData("http://127.0.0.1:5000;http://0.0.0.0:5001", null, false, false)]
    [InlineData("http://0.0.0.0:5000", Key, false, true)]
    [InlineData("http://0.0.0.0:5000", null, true, true)]
    [InlineData("http://127.0.0.1:5000", null, false, true)]
    [InlineData("http://127.9.9.9:5000", null, false, true)]
    [InlineData("http://localhost:5000", null, false, true)]
    [InlineData("http://[::1]:5000", null, false, true)]
    public void A_public_address_needs_a_key_or_an_explicit_opt_out(string urls, string? key, bool anonymous, bool valid)
    {
        var options = new ServeOptions { Workspace = "ws", Urls = urls, ApiKey = key, AllowAnonymous = anonymous };
        if (valid) options.Validate();
        else Assert.Contains("--allow-anonymous", Assert.Throws<ArgumentException>(options.Validate).Message);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("sixteen chars ok")] // a space
    [InlineData("0123456789abcde\n")]
    public void Weak_or_malformed_keys_are_refused(string key) =>
        Assert.Throws<ArgumentException>(new ServeOptions { Workspace = "ws", ApiKey = key }.Validate);

    [Fact]
    public async Task A_corrupted_stored_profile_is_a_problem_for_that_user_only()
    {
        string ws = fixture.CloneWorkspace();
        string broken = fixture.World.UserId(4), intact = fixture.World.UserId(6);
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Workspace.Load(ws).StoreLocation};Pooling=False"))
        {
            c.Open();
            using Microsoft.Data.Sqlite.SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = $"UPDATE profiles SET data = x'FFFFFFFF0F00' WHERE user_id = '{broken}'";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        await using RunningServer server = await fixture.StartAsync(ws);
        HttpResponseMessage r = await server.Client.GetAsync($"/v1/users/{broken}/interests");
        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("   at ", await r.Content.ReadAsStringAsync()); // no stack trace to the client
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/users/{intact}/interests")).StatusCode);
    }

    [Fact]
    public void The_service_clock_is_the_wall_clock_for_live_data_and_the_data_clock_for_old_data()
    {
        DateTimeOffset built = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var live = new ProfileRunMetadata(2, 1_800_000_000 - 3600, built, "{}", 10, "a.tsv");
        var old = live with { Now = 1_800_000_000 - 200 * 86_400L };
        DateTimeOffset wall = built.AddMinutes(30);
        Assert.Equal(wall.ToUnixTimeSeconds(), ServiceClock.Now(wall, live, 90));
        Assert.Equal(wall.ToUnixTimeSeconds(), ServiceClock.Now(wall, null, 90));
        Assert.Equal(old.Now + 1800, ServiceClock.Now(wall, old, 90));
        // A wall clock behind the build time (a clock set back) never moves the data clock before the run's now.
        Assert.Equal(old.Now, ServiceClock.Now(built.AddDays(-1), old, 90));
    }

    [Fact]
    public async Task The_quickstart_world_survives_its_own_demo_post_then_batch()
    {
        // The world ended at WorldEnd; the wall clock is now (about a year later): the data is old.
        string ws = fixture.CloneWorkspace();
        Workspace workspace = Workspace.Load(ws);
        long before;
        ProfileRunMetadata run;
        using (IProfileStore store = ProfileStores.Open(workspace.StoreLocation))
        {
            before = store.CountUsers();
            run = store.GetMetadata()!;
        }
        Assert.True(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - run.Now > 90 * 86_400L, "the test needs data older than the window");
        string user = fixture.World.UserId(7), item = fixture.World.ItemId(42);
        await using (RunningServer server = await fixture.StartAsync(ws, o => o with { Clock = TimeProvider.System }))
            Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(Post(user, item))).StatusCode);

        long stamped;
        using (IProfileStore store = ProfileStores.Open(workspace.StoreLocation))
        {
            stamped = Assert.Single(store.GetPendingEvents(user, 20)).Event.Timestamp;
            long sinceBuilt = (long)(DateTimeOffset.UtcNow - run.BuiltAtUtc).TotalSeconds;
            Assert.InRange(stamped, run.Now, run.Now + sinceBuilt + 5); // the data clock, not the wall clock
        }
        BatchSummary summary = WorkspaceBuilder.RunBatch(workspace, new BatchOptions { Threads = 2 });
        Assert.Equal(1, summary.LoggedEventsRead);
        Assert.Equal(stamped, summary.Now); // the next batch's now moved by minutes, not by a year
        Assert.True(summary.UsersWritten >= before, $"{summary.UsersWritten} profiles after the demo, {before} before");
        using (IProfileStore store = ProfileStores.Open(workspace.StoreLocation)) Assert.Equal(summary.UsersWritten, store.CountUsers());
    }

    [Fact]
    public async Task A_wall_clock_event_into_old_data_is_accepted_but_its_batch_is_refused_unless_allowed()
    {
        string ws = fixture.CloneWorkspace();
        Workspace workspace = Workspace.Load(ws);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await using (RunningServer server = await fixture.StartAsync(ws, o => o with { Clock = TimeProvider.System }))
        {
            HttpResponseMessage r = await server.Client.PostAsync($"/v1/users/{fixture.World.UserId(3)}/actions",
                Body($"{{\"item_id\":\"{fixture.World.ItemId(3)}\",\"action\":\"click\",\"timestamp\":{now}}}"));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            JsonElement interests = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/users/{fixture.World.UserId(3)}/interests")).RootElement;
            Assert.Equal(1, interests.GetProperty("pending_events").GetInt32()); // not in its profile's future
        }
        long users;
        using (IProfileStore store = ProfileStores.Open(workspace.StoreLocation)) users = store.CountUsers();
        var refused = Assert.Throws<ShrinkRefusedException>(() => WorkspaceBuilder.RunBatch(workspace, new BatchOptions { Threads = 2 }));
        Assert.Contains("--allow-shrink", refused.Message);
        using (IProfileStore store = ProfileStores.Open(workspace.StoreLocation)) Assert.Equal(users, store.CountUsers());
        BatchSummary forced = WorkspaceBuilder.RunBatch(workspace, new BatchOptions { Threads = 2, AllowShrink = true });
        Assert.True(forced.UsersWritten < users / 2);
    }
}
