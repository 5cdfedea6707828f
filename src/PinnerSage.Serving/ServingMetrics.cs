using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using PinnerSage.Retrieval;

namespace PinnerSage.Serving;

/// <summary>Counters of one route, attached to its endpoint as metadata (the timing middleware finds it without a
/// lookup).</summary>
internal sealed class RouteMetrics(string name)
{
    private long _requests, _client, _server;

    public string Name { get; } = name;

    public LatencyHistogram Latency { get; } = new();

    public long Requests => Volatile.Read(ref _requests);

    public void Record(int status, long micros)
    {
        Interlocked.Increment(ref _requests);
        if (status >= 500) Interlocked.Increment(ref _server);
        else if (status >= 400) Interlocked.Increment(ref _client);
        Latency.Record(micros);
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

/// <summary>Process-wide serving counters: per-route requests and latency (lock-free histograms), the medoid
/// neighbour cache, events appended. GET /metrics renders them as JSON.</summary>
internal sealed class ServingMetrics
{
    private readonly ConcurrentDictionary<string, RouteMetrics> _routes = new(StringComparer.Ordinal);
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _events, _appends;

    public RouteMetrics Route(string name) => _routes.GetOrAdd(name, static n => new RouteMetrics(n));

    public long EventsAppended => Volatile.Read(ref _events);

    public void Appended(int events)
    {
        Interlocked.Add(ref _events, events);
        Interlocked.Increment(ref _appends);
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
}
