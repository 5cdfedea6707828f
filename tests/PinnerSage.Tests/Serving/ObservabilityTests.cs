using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using PinnerSage.Serving;
using PinnerSage.Storage;

namespace PinnerSage.Tests.Serving;

/// <summary>The service's observability from the outside: the Prometheus scrape at /metrics parsed as text (names,
/// types, a histogram's buckets, count and sum against the requests this test made), the liveness and readiness probes,
/// and the spans of a recommendation and an action ingest.</summary>
public sealed class ObservabilityTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    /// <summary>One sample line: metric name, labels, value.</summary>
    private sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    /// <summary>Parses the Prometheus text exposition format (version 0.0.4): <c># TYPE name type</c> lines and
    /// <c>name{label="value",…} number</c> samples (escapes \\, \" and \n in label values).</summary>
    private static (Dictionary<string, string> Types, List<Sample> Samples) ParsePrometheus(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                Assert.Equal(4, parts.Length);
                Assert.Contains(parts[3], new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                types.Add(parts[2], parts[3]);
                continue;
            }
            if (line[0] == '#') continue;
            int i = 0;
            while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':')) i++;
            string name = line[..i];
            Assert.Matches("^[a-zA-Z_:][a-zA-Z0-9_:]*$", name);
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (line[i] == '{')
            {
                i++;
                while (line[i] != '}')
                {
                    int eq = line.IndexOf('=', i);
                    string key = line[i..eq];
                    Assert.Equal('"', line[eq + 1]);
                    var value = new StringBuilder();
                    int j = eq + 2;
                    for (; line[j] != '"'; j++)
                    {
                        if (line[j] == '\\') value.Append(line[++j] switch { 'n' => '\n', char c => c });
                        else value.Append(line[j]);
                    }
                    labels.Add(key, value.ToString());
                    i = j + 1;
                    if (line[i] == ',') i++;
                }
                i++;
            }
            Assert.Equal(' ', line[i]);
            string[] rest = line[(i + 1)..].Split(' '); // value [timestamp]
            double number = rest[0] switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                string v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(name, labels, number));
        }
        return (types, samples);
    }

    [Fact]
    public async Task The_Prometheus_scrape_counts_exactly_the_requests_made()
    {
        await using RunningServer server = await fixture.StartAsync(fixture.CloneWorkspace());
        // Another server in the same process: its meter comes from its own host's factory, so its requests stay out.
        await using RunningServer other = await fixture.StartAsync();
        for (int i = 0; i < 4; i++) await other.Client.GetAsync($"/v1/users/{fixture.World.UserId(i)}/recommendations?k=5");
        const int ok = 7, bad = 3;
        var timer = Stopwatch.StartNew();
        for (int i = 0; i < ok; i++)
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/users/{fixture.World.UserId(i)}/recommendations?k=5")).StatusCode);
        for (int i = 0; i < bad; i++)
            Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.GetAsync($"/v1/users/{fixture.World.UserId(i)}/recommendations?k=0")).StatusCode);
        double wall = timer.Elapsed.TotalSeconds;
        string body = $$"""[{"item_id":"{{fixture.World.ItemId(3)}}","action":"click"},{"item_id":"{{fixture.World.ItemId(4)}}","action":"click"}]""";
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync($"/v1/users/{fixture.World.UserId(1)}/actions",
                                                                       new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode);

        using HttpResponseMessage scrape = await server.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Equal("text/plain", scrape.Content.Headers.ContentType?.MediaType);
        (Dictionary<string, string> types, List<Sample> samples) = ParsePrometheus(await scrape.Content.ReadAsStringAsync());

        const string duration = "pinnersage_server_request_duration_seconds";
        Assert.Equal("histogram", types[duration]);
        Assert.Equal("counter", types["pinnersage_events_appended_total"]);
        Assert.Equal("counter", types["pinnersage_cache_hits_total"]);
        Assert.Equal("counter", types["pinnersage_cache_misses_total"]);
        foreach (string cache in new[] { "medoid", "centre" })
            Assert.Contains(samples, s => s.Name == "pinnersage_cache_misses_total" && s.Labels["cache"] == cache);
        Assert.Equal(2, samples.Single(s => s.Name == "pinnersage_events_appended_total").Value);
        Assert.Contains(samples, s => s.Name == "dotnet_gc_collections_total"); // the runtime's own meter

        foreach ((string status, int count) in new[] { ("2xx", ok), ("4xx", bad) })
        {
            bool Series(Sample s) => s.Labels.TryGetValue("route", out string? r) && r == "recommendations" && s.Labels["status_class"] == status;
            Sample[] buckets = [.. samples.Where(s => s.Name == duration + "_bucket" && Series(s))];
            // The buckets are the advised bounds plus +Inf, cumulative, and the last one is the count.
            Assert.Equal([.. ServingMetrics.DurationBuckets, double.PositiveInfinity],
                         buckets.Select(b => b.Labels["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(b.Labels["le"], CultureInfo.InvariantCulture)));
            for (int b = 1; b < buckets.Length; b++) Assert.True(buckets[b].Value >= buckets[b - 1].Value);
            Assert.Equal(count, buckets[^1].Value);
            Assert.Equal(count, samples.Single(s => s.Name == duration + "_count" && Series(s)).Value);
            double sum = samples.Single(s => s.Name == duration + "_sum" && Series(s)).Value;
            Assert.InRange(sum, 1e-7 * count, wall); // each request took some time, all of them less than the loop
        }
        // The POST is timed under its own route.
        Assert.Equal(1, samples.Single(s => s.Name == duration + "_count" && s.Labels.GetValueOrDefault("route") == "actions").Value);
    }

    [Fact]
    public async Task Liveness_and_readiness_follow_the_store()
    {
        await using (RunningServer server = await fixture.StartAsync())
        {
            using HttpResponseMessage live = await server.Client.GetAsync("/health/live");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal("Healthy", JsonDocument.Parse(await live.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
            using HttpResponseMessage ready = await server.Client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            JsonElement checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
            Assert.Equal("Healthy", checks.GetProperty("store").GetProperty("status").GetString());
            Assert.Equal("Healthy", checks.GetProperty("run").GetProperty("status").GetString());
        }

        // A store without a batch run: alive, reachable, not ready.
        string ws = fixture.CloneWorkspace();
        string store = PinnerSage.Serving.Workspace.Load(ws).StoreLocation;
        File.Delete(store);
        ProfileStores.Open(store).Dispose();
        await using (RunningServer empty = await fixture.StartAsync(ws))
        {
            Assert.Equal(HttpStatusCode.OK, (await empty.Client.GetAsync("/health/live")).StatusCode);
            using HttpResponseMessage ready = await empty.Client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            JsonElement report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("Unhealthy", report.GetProperty("status").GetString());
            Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("store").GetProperty("status").GetString());
            Assert.Equal("Unhealthy", report.GetProperty("checks").GetProperty("run").GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, (await empty.Client.GetAsync("/health")).StatusCode); // the summary stays for old clients
        }
    }

    [Fact]
    public async Task Recommendations_and_ingests_are_traced_with_their_store_calls()
    {
        string user = fixture.World.UserId(11);
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is ServingTelemetry.SourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) spans.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        await using RunningServer server = await fixture.StartAsync(fixture.CloneWorkspace());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"/v1/users/{user}/recommendations?k=5")).StatusCode);
        string body = $$"""[{"item_id":"{{fixture.World.ItemId(9)}}","action":"click"}]""";
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync($"/v1/users/{user}/actions",
                                                                       new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode);
        Activity[] mine;
        lock (spans) mine = [.. spans.Where(a => a.Source.Name == ServingTelemetry.SourceName && (string?)a.GetTagItem("pinnersage.user_id") == user)];

        Activity recommend = Assert.Single(mine, a => a.OperationName == "recommend");
        Assert.Equal(5, (int)recommend.GetTagItem("pinnersage.k")!);
        Activity pending = mine.First(a => a.OperationName == "store.get_pending_events");
        Assert.Equal(ActivityKind.Client, pending.Kind);
        // Store reads and the ranking are steps of one request: one trace, under ASP.NET Core's request span.
        Assert.Equal(recommend.TraceId, pending.TraceId);
        Assert.Equal(recommend.ParentSpanId, pending.ParentSpanId);
        Assert.NotEqual(default, recommend.ParentSpanId);

        Activity ingest = Assert.Single(mine, a => a.OperationName == "actions.ingest");
        Activity append = Assert.Single(mine, a => a.OperationName == "store.append_events");
        Assert.Equal(ingest.SpanId, append.ParentSpanId);
        Assert.Equal(1, (int)append.GetTagItem("pinnersage.events")!);
    }
}
