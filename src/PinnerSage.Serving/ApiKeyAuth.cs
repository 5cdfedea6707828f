using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace PinnerSage.Serving;

/// <summary>The write endpoints' API key check (<see cref="ServeOptions.ApiKey"/>): the key comes as
/// <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c> and is compared in constant time (SHA-256 of both sides,
/// then <see cref="CryptographicOperations.FixedTimeEquals"/>, so neither content nor length leaks through timing).</summary>
internal sealed class ApiKeyAuth(string? apiKey)
{
    public const string HeaderName = "X-Api-Key";

    private readonly byte[]? _keyHash = apiKey is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));

    /// <summary>True when writes need a key.</summary>
    public bool Required => _keyHash is not null;

    /// <summary>The endpoint filter: 401 problem details unless the request carries the key.</summary>
    public async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (_keyHash is null || Matches(context.HttpContext.Request)) return await next(context);
        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer realm=\"pinnersage\"";
        return TypedResults.Problem(statusCode: 401, title: "API key required",
            detail: $"Writes need the server's API key, sent as 'Authorization: Bearer KEY' or '{HeaderName}: KEY'.");
    }

    private bool Matches(HttpRequest request)
    {
        string? presented = request.Headers[HeaderName].ToString() is { Length: > 0 } header ? header : null;
        string authorization = request.Headers.Authorization.ToString();
        if (presented is null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            presented = authorization["Bearer ".Length..].Trim();
        if (presented is null) return false;
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        return CryptographicOperations.FixedTimeEquals(hash, _keyHash);
    }
}
