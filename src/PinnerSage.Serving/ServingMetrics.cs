using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using PinnerSage.Retrieval;

namespace PinnerSage.Serving;

/// <summary>Counters of one route, attached to its endpoint as metadata (the timing middleware finds it without a
/// lookup).</summary>
internal sealed class RouteMetrics(string name, Histogram<double> duration)
{
    private static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];
    private long _requests, _client, _server;

    public string Name { get; } = name;

    /// <summary>The JSON view's percentiles (the Prometheus histogram has fixed buckets and no quantiles).</summary>
    public LatencyHistogram Latency { get; } = new();

    public long Requests => Volatile.Read(ref _requests);

    public void Record(int status, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _requests);
        if (status >= 500) Interlocked.Increment(ref _server);
        else if (status >= 400) Interlocked.Increment(ref _client);
        Latency.Record((long)elapsed.TotalMicroseconds);
        duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("route", Name),
                        new KeyValuePair<string, object?>("status_class", StatusClasses[Math.Clamp(status / 100, 1, 5) - 1]));
    }

    public void Write(Utf8JsonWriter w)
    {
        (long count, double mean, double max, double[] p) = Latency.Snapshot([50, 90, 99, 99.9]);
        w.WriteStartObject(Name);
        w.WriteNumber("requests", Volatile.Read(ref _requests));
        w.WriteNumber("client_errors", Volatile.Read(ref _client));
        w.WriteNumber("server_errors", Volatile.Read(ref _server));
        w.WriteStartObject("latency_ms");
        w.WriteNumber("count", count);
        w.WriteNumber("mean", Math.Round(mean, 3));
        w.WriteNumber("p50", p[0]);
        w.WriteNumber("p90", p[1]);
        w.WriteNumber("p99", p[2]);
        w.WriteNumber("p999", p[3]);
        w.WriteNumber("max", max);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>The service's metrics: per-route requests and latency, the two neighbour caches, events appended.
/// Published through System.Diagnostics.Metrics (meter <see cref="ServingTelemetry.MeterName"/>, exported in the Prometheus format at
/// GET /metrics) and kept as counters for the JSON view at GET /metrics.json (quantiles, uptime), which the page's
/// users and older clients read.</summary>
internal sealed class ServingMetrics : IDisposable
{
    /// <summary>Bucket bounds of the request-duration histogram, seconds: an uncached in-process recommendation takes
    /// about 0.1 ms and a batch-sized POST tens of milliseconds, so the buckets start at 50 µs.</summary>
    internal static readonly double[] DurationBuckets =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ConcurrentDictionary<string, RouteMetrics> _routes = new(StringComparer.Ordinal);
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Meter _meter;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _eventsCounter, _appendsCounter;
    private long _events, _appends;

    /// <param name="meterFactory">The host's factory (its meters are told apart from other hosts' in the same process);
    /// null: a meter of our own.</param>
    /// <param name="caches">The neighbour caches by name (medoid, centre), observed on collection.</param>
    public ServingMetrics(IMeterFactory? meterFactory, IReadOnlyList<(string Name, NeighborCache Cache)> caches)
    {
        _meter = meterFactory?.Create(ServingTelemetry.MeterName) ?? new Meter(ServingTelemetry.MeterName);
        _duration = _meter.CreateHistogram<double>("pinnersage.server.request.duration", "s",
            "Duration of HTTP requests by route and status class.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _eventsCounter = _meter.CreateCounter<long>("pinnersage.events.appended", "{event}", "Online events appended to the store's log.");
        _appendsCounter = _meter.CreateCounter<long>("pinnersage.events.appends", "{request}", "Acknowledged POSTs of actions.");
        _meter.CreateObservableCounter("pinnersage.cache.hits", () => Observe(caches, c => c.Hits), "{lookup}", "Neighbour-cache hits.");
        _meter.CreateObservableCounter("pinnersage.cache.misses", () => Observe(caches, c => c.Misses), "{lookup}", "Neighbour-cache misses.");
        _meter.CreateObservableCounter("pinnersage.cache.evictions", () => Observe(caches, c => c.Evictions), "{list}", "Neighbour lists evicted.");
        _meter.CreateObservableUpDownCounter("pinnersage.cache.lists", () => Observe(caches, c => c.Count), "{list}", "Neighbour lists held.");
    }

    private static IEnumerable<Measurement<long>> Observe(IReadOnlyList<(string Name, NeighborCache Cache)> caches, Func<NeighborCache, long> value)
    {
        foreach ((string name, NeighborCache cache) in caches)
            yield return new Measurement<long>(value(cache), new KeyValuePair<string, object?>("cache", name));
    }

    public RouteMetrics Route(string name) => _routes.GetOrAdd(name, static (n, d) => new RouteMetrics(n, d), _duration);

    public long EventsAppended => Volatile.Read(ref _events);

    public void Appended(int events)
    {
        Interlocked.Add(ref _events, events);
        Interlocked.Increment(ref _appends);
        _eventsCounter.Add(events);
        _appendsCounter.Add(1);
    }

    public byte[] Render(NeighborCache cache)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("uptime_seconds", Math.Round(Stopwatch.GetElapsedTime(_started).TotalSeconds, 3));
            w.WriteStartObject("routes");
            foreach (RouteMetrics r in _routes.Values.OrderBy(r => r.Name, StringComparer.Ordinal)) r.Write(w);
            w.WriteEndObject();
            w.WriteStartObject("cache");
            w.WriteNumber("hits", cache.Hits);
            w.WriteNumber("misses", cache.Misses);
            w.WriteNumber("hit_rate", Math.Round(cache.HitRate, 6));
            w.WriteNumber("evictions", cache.Evictions);
            w.WriteNumber("lists", cache.Count);
            w.WriteNumber("capacity", cache.Capacity);
            w.WriteEndObject();
            w.WriteStartObject("events");
            w.WriteNumber("appended", Volatile.Read(ref _events));
            w.WriteNumber("commits", Volatile.Read(ref _appends));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    public void Dispose() => _meter.Dispose();
}
