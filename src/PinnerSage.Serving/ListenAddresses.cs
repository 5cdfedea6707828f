using System.Net;

namespace PinnerSage.Serving;

/// <summary>Whether the service's listen URLs stay on this machine (loopback), for the rule that an exposed service
/// needs an API key for writes.</summary>
internal static class ListenAddresses
{
    /// <summary>The first of <paramref name="urls"/> (';'-separated; null: ASPNETCORE_URLS or Kestrel's default
    /// localhost) that listens beyond loopback, or null when all stay local.</summary>
    public static string? FirstNonLoopback(string? urls)
    {
        urls ??= Environment.GetEnvironmentVariable("ASPNETCORE_URLS") ?? "http://localhost:5000";
        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (!IsLoopback(url)) return url;
        return null;
    }

    private static bool IsLoopback(string url)
    {
        if (url.StartsWith("unix:", StringComparison.OrdinalIgnoreCase)) return true;
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        string rest = scheme < 0 ? url : url[(scheme + 3)..];
        int end = rest.IndexOf('/');
        if (end >= 0) rest = rest[..end];
        string host = rest.StartsWith('[') ? rest[1..Math.Max(1, rest.IndexOf(']'))] // [::1]:5000
            : rest.LastIndexOf(':') is int colon and >= 0 ? rest[..colon] : rest;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out IPAddress? address) && IPAddress.IsLoopback(address);
    }
}
