using System.Net;
using System.Text;
using System.Text.Json;

namespace PinnerSage.Tests.Serving;

/// <summary>Bad input never yields a 500: a table of bad requests through the real server, each with its status and a
/// problem-details body (RFC 7807: application/problem+json with status, title, detail).</summary>
public sealed class BadRequestTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    public static TheoryData<string, string, string?, int> Cases()
    {
        string ok = "u0001"; // replaced by a real user id at run time
        var data = new TheoryData<string, string, string?, int>
        {
            { "GET", "/v1/users/nobody-here/interests", null, 404 },
            { "GET", "/v1/users/nobody-here/recommendations", null, 404 },
            { "GET", "/v1/items/no-such-item/similar", null, 404 },
            { "GET", $"/v1/users/{ok}/recommendations?k=0", null, 400 },
            { "GET", $"/v1/users/{ok}/recommendations?k=401", null, 400 },
            { "GET", $"/v1/users/{ok}/recommendations?k=abc", null, 400 },
            { "GET", $"/v1/users/{ok}/recommendations?k=-5", null, 400 },
            { "GET", $"/v1/users/{ok}/recommendations?k=99999999999999999999", null, 400 },
            { "GET", $"/v1/users/{ok}/recommendations?medoids=0", null, 400 },
            { "GET", $"/v1/users/{ok}/recommendations?medoids=21", null, 400 },
            { "GET", "/v1/items/ITEM/similar?k=1000", null, 400 },
            { "GET", "/v1/users?limit=0", null, 400 },
            { "GET", "/v1/users?limit=1001", null, 400 },
            { "GET", "/v1/users?limit=ten", null, 400 },
            { "GET", "/no/such/route", null, 404 },
            { "GET", "/assets/missing.js", null, 404 },
            { "POST", $"/v1/users/{ok}/actions", "", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"click\"", 400 },
            { "POST", $"/v1/users/{ok}/actions", "not json", 400 },
            { "POST", $"/v1/users/{ok}/actions", "42", 400 },
            { "POST", $"/v1/users/{ok}/actions", "[]", 400 },
            { "POST", $"/v1/users/{ok}/actions", "[1,2]", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"action\":\"click\"}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\"}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":7,\"action\":\"click\"}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"teleport\"}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"cl ick\"}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"click\",\"timestamp\":\"yesterday\"}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"click\",\"timestamp\":1.5}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"click\",\"timestamp\":-1}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"click\",\"timestamp\":1767225600000}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"click\",\"timestamp\":4000000000}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"ITEM\",\"action\":\"click\"} {}", 400 },
            { "POST", $"/v1/users/{ok}/actions", "{\"item_id\":\"no-such-item\",\"action\":\"click\"}", 404 },
            { "POST", $"/v1/users/{ok}/actions", "[{\"item_id\":\"ITEM\",\"action\":\"click\"},{\"item_id\":\"nope\",\"action\":\"click\"}]", 404 },
            { "POST", $"/v1/users/{ok}/actions", "OVERSIZE_BATCH", 400 },
            { "POST", $"/v1/users/{ok}/actions", "OVERSIZE_BODY", 413 },
            { "POST", $"/v1/users/{new string('u', 300)}/actions", "{\"item_id\":\"ITEM\",\"action\":\"click\"}", 400 },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_requests_get_problem_details_never_a_500(string method, string path, string? body, int status)
    {
        string ws = fixture.CloneWorkspace();
        await using RunningServer server = await fixture.StartAsync(ws, o => o with { MaxRequestBodyBytes = 64 * 1024 });
        string item = fixture.World.ItemId(10);
        path = path.Replace("u0001", fixture.World.UserId(0), StringComparison.Ordinal).Replace("ITEM", item, StringComparison.Ordinal);
        if (body == "OVERSIZE_BATCH")
            body = "[" + string.Join(",", Enumerable.Repeat($"{{\"item_id\":\"{item}\",\"action\":\"click\"}}", 1001)) + "]";
        else if (body == "OVERSIZE_BODY")
            body = "[" + string.Join(",", Enumerable.Repeat($"{{\"item_id\":\"{item}\",\"action\":\"click\",\"pad\":\"{new string('x', 200)}\"}}", 400)) + "]";
        body = body?.Replace("ITEM", item, StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await server.Client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{method} {path} {body?[..Math.Min(body.Length, 80)]}: got {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        if (status != 404 || !path.StartsWith("/no/", StringComparison.Ordinal))
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()), text);

        // Nothing of a rejected POST was logged.
        JsonElement metrics = JsonDocument.Parse(await server.Client.GetStringAsync("/metrics.json")).RootElement;
        Assert.Equal(0, metrics.GetProperty("events").GetProperty("appended").GetInt64());
        Assert.Equal(0, metrics.GetProperty("routes").EnumerateObject().Sum(r => r.Value.GetProperty("server_errors").GetInt64()));
    }
}
