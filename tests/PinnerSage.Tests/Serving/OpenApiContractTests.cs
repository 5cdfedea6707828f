using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PinnerSage.Tests.Serving;

/// <summary>The OpenAPI document describes the wire exactly: requests generated from its schemas (parameter names,
/// integer types, bounds, defaults; body property names) get 2xx when valid and 400 when out of bounds, and every
/// response's JSON property names are its schema's.</summary>
public sealed class OpenApiContractTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private static JsonElement Resolve(JsonElement root, JsonElement schema)
    {
        while (schema.TryGetProperty("$ref", out JsonElement r))
        {
            string[] parts = r.GetString()!.TrimStart('#', '/').Split('/');
            schema = root;
            foreach (string p in parts) schema = schema.GetProperty(p);
        }
        return schema;
    }

    private static bool IsInteger(JsonElement schema) =>
        schema.TryGetProperty("type", out JsonElement t) &&
        (t.ValueKind == JsonValueKind.String ? t.GetString() == "integer" : t.EnumerateArray().Any(x => x.GetString() == "integer"));

    private static string[] PropertyNames(JsonElement root, JsonElement schema) =>
        [.. Resolve(root, schema).GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    private static async Task<(HttpStatusCode Status, string Body)> Send(HttpClient client, HttpMethod method, string url, string? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Requests_generated_from_the_document_get_2xx_when_valid_and_400_out_of_bounds()
    {
        string ws = fixture.CloneWorkspace();
        await using RunningServer server = await fixture.StartAsync(ws);
        string text = await server.Client.GetStringAsync("/openapi/v1.json");
        JsonElement root = JsonDocument.Parse(text).RootElement;
        Assert.StartsWith("3.", root.GetProperty("openapi").GetString());
        // The document validates (Microsoft.OpenApi's reader and its validation rules).
        Microsoft.OpenApi.Reader.ReadResult read = Microsoft.OpenApi.OpenApiDocument.Parse(text, "json");
        Assert.True(read.Diagnostic is null || read.Diagnostic.Errors.Count == 0,
                    string.Join("; ", read.Diagnostic?.Errors.Select(e => e.ToString()) ?? []));
        Assert.NotNull(read.Document);
        string user = fixture.World.UserId(0), item = fixture.World.ItemId(10);

        int operations = 0, boundedParameters = 0;
        foreach (JsonProperty path in root.GetProperty("paths").EnumerateObject())
        {
            if (!path.Value.TryGetProperty("get", out JsonElement get)) continue;
            string url = path.Name.Replace("{id}", path.Name.StartsWith("/v1/items", StringComparison.Ordinal) ? item : user, StringComparison.Ordinal);
            var integers = new List<(string Name, long Min, long Max, long? Default)>();
            if (get.TryGetProperty("parameters", out JsonElement parameters))
            {
                foreach (JsonElement p in parameters.EnumerateArray())
                {
                    JsonElement schema = Resolve(root, p.GetProperty("schema"));
                    string name = p.GetProperty("name").GetString()!;
                    Assert.True(name.All(c => char.IsLower(c) || c == '_'), $"{path.Name}: parameter '{name}' is not snake_case");
                    if (p.GetProperty("in").GetString() != "query") continue;
                    Assert.False(schema.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String
                                 && type.GetString() == "string" && name is "k" or "limit" or "medoids",
                                 $"{path.Name}: '{name}' is typed string");
                    if (!IsInteger(schema)) continue;
                    Assert.True(schema.TryGetProperty("minimum", out JsonElement min), $"{path.Name}?{name}: no minimum");
                    Assert.True(schema.TryGetProperty("maximum", out JsonElement max), $"{path.Name}?{name}: no maximum");
                    long? dflt = schema.TryGetProperty("default", out JsonElement d) ? d.GetInt64() : null;
                    Assert.True(dflt is not null, $"{path.Name}?{name}: no default");
                    integers.Add((name, (long)min.GetDouble(), (long)max.GetDouble(), dflt));
                }
            }
            operations++;
            (HttpStatusCode status, string body) = await Send(server.Client, HttpMethod.Get, url);
            Assert.True((int)status is >= 200 and < 300, $"GET {url}: {(int)status} {body}");
            CheckResponseNames(root, get, url, body);
            foreach ((string name, long min, long max, long? dflt) in integers)
            {
                boundedParameters++;
                Assert.InRange(dflt!.Value, min, max);
                foreach (long valid in new[] { min, max, dflt.Value })
                {
                    (status, body) = await Send(server.Client, HttpMethod.Get, $"{url}?{name}={valid.ToString(CultureInfo.InvariantCulture)}");
                    Assert.True((int)status is >= 200 and < 300, $"GET {url}?{name}={valid}: {(int)status} {body}");
                    CheckResponseNames(root, get, url, body);
                }
                foreach (string invalid in new[] { (min - 1).ToString(CultureInfo.InvariantCulture), (max + 1).ToString(CultureInfo.InvariantCulture), "x" })
                {
                    (status, body) = await Send(server.Client, HttpMethod.Get, $"{url}?{name}={invalid}");
                    Assert.True(status == HttpStatusCode.BadRequest, $"GET {url}?{name}={invalid}: {(int)status} {body}");
                    JsonElement problem = JsonDocument.Parse(body).RootElement;
                    Assert.True(problem.TryGetProperty("title", out _) && problem.TryGetProperty("detail", out JsonElement detail)
                                && detail.GetString()!.Contains(name, StringComparison.Ordinal), $"GET {url}?{name}={invalid}: {body}");
                }
            }
        }
        Assert.True(operations >= 6, $"{operations} GET operations");
        Assert.Equal(4, boundedParameters); // limit; k and medoids of recommendations; k of similar

        // The POST body: an array of objects with the schema's property names is accepted; the same with camelCase is not.
        JsonElement post = root.GetProperty("paths").GetProperty("/v1/users/{id}/actions").GetProperty("post");
        JsonElement bodySchema = Resolve(root, post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        string[] names = PropertyNames(root, bodySchema.GetProperty("items"));
        Assert.Equal(["action", "item_id", "timestamp"], names);
        var valid1 = new JsonObject { ["item_id"] = item, ["action"] = "click", ["timestamp"] = ServingFixture.WorldEnd };
        (HttpStatusCode s1, string b1) = await Send(server.Client, HttpMethod.Post, $"/v1/users/{user}/actions", new JsonArray(valid1).ToJsonString());
        Assert.True(s1 == HttpStatusCode.OK, $"{(int)s1} {b1}");
        CheckResponseNames(root, post, "POST actions", b1);
        var camel = new JsonObject { ["itemId"] = item, ["action"] = "click" };
        (HttpStatusCode s2, _) = await Send(server.Client, HttpMethod.Post, $"/v1/users/{user}/actions", new JsonArray(camel).ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, s2);
    }

    /// <summary>The 200 response's JSON object has exactly its schema's property names, recursively into objects.</summary>
    private static void CheckResponseNames(JsonElement root, JsonElement operation, string what, string body)
    {
        JsonElement ok = operation.GetProperty("responses").GetProperty("200");
        if (!ok.TryGetProperty("content", out JsonElement content) || !content.TryGetProperty("application/json", out JsonElement json)) return;
        Compare(root, Resolve(root, json.GetProperty("schema")), JsonDocument.Parse(body).RootElement, what);
    }

    private static void Compare(JsonElement root, JsonElement schema, JsonElement value, string what)
    {
        schema = Resolve(root, schema);
        if (value.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out JsonElement properties))
        {
            string[] expected = [.. properties.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];
            string[] actual = [.. value.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];
            Assert.True(expected.SequenceEqual(actual), $"{what}: schema {string.Join(",", expected)} vs wire {string.Join(",", actual)}");
            foreach (JsonProperty p in value.EnumerateObject()) Compare(root, properties.GetProperty(p.Name), p.Value, what);
        }
        else if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out JsonElement items))
        {
            foreach (JsonElement element in value.EnumerateArray()) Compare(root, items, element, what);
        }
    }
}
