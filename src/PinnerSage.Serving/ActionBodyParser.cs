using System.Buffers;
using System.Text.Json;
using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>Parses and validates the body of POST /v1/users/{id}/actions: one object
/// <c>{"item_id","action","timestamp"}</c> or an array of them; timestamp optional (default now). Hand-written over
/// <see cref="Utf8JsonReader"/> so every defect becomes a 400 with a precise detail (never an exception page).</summary>
internal static class ActionBodyParser
{
    /// <summary>Largest accepted timestamp: 2100-01-01 (as the actions.tsv reader).</summary>
    public const long MaxTimestamp = 4_102_444_800;

    /// <summary>Returns the events, or null with the problem's detail in <paramref name="error"/>.</summary>
    /// <param name="body">The request body.</param>
    /// <param name="userId">The user of the route.</param>
    /// <param name="defaultTimestamp">The timestamp of an event without one: the service clock (<see cref="ServiceClock"/>).</param>
    /// <param name="now">The wall clock: timestamps up to now + <paramref name="maxFutureSeconds"/> are accepted.</param>
    /// <param name="maxEvents">Most events in one body.</param>
    /// <param name="actionTypes">Accepted action types; null or empty: any token.</param>
    /// <param name="maxFutureSeconds">Tolerated clock skew.</param>
    /// <param name="error">The problem's detail when null is returned.</param>
    public static List<ActionEvent>? Parse(ReadOnlySequence<byte> body, string userId, long defaultTimestamp, long now, int maxEvents,
                                           IReadOnlySet<string>? actionTypes, long maxFutureSeconds, out string? error)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 8 });
        var events = new List<ActionEvent>();
        try
        {
            if (!reader.Read())
            {
                error = "The body is empty: expected a JSON object {\"item_id\",\"action\",\"timestamp\"} or an array of them.";
                return null;
            }
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                if (!ReadEvent(ref reader, userId, defaultTimestamp, now, actionTypes, maxFutureSeconds, 0, events, out error)) return null;
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                int index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (index >= maxEvents)
                    {
                        error = $"Too many events in one request: at most {maxEvents}.";
                        return null;
                    }
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        error = $"[{index}]: expected an object, got {reader.TokenType}.";
                        return null;
                    }
                    if (!ReadEvent(ref reader, userId, defaultTimestamp, now, actionTypes, maxFutureSeconds, index, events, out error)) return null;
                    index++;
                }
                if (index == 0)
                {
                    error = "The array is empty: expected at least one event.";
                    return null;
                }
            }
            else
            {
                error = $"Expected a JSON object or array, got {reader.TokenType}.";
                return null;
            }
            if (reader.Read())
            {
                error = "Unexpected data after the JSON value.";
                return null;
            }
        }
        catch (JsonException e)
        {
            error = $"Malformed JSON: {e.Message}";
            return null;
        }
        error = null;
        return events;
    }

    private static bool ReadEvent(ref Utf8JsonReader reader, string userId, long defaultTimestamp, long now, IReadOnlySet<string>? actionTypes,
                                  long maxFutureSeconds, int index, List<ActionEvent> events, out string? error)
    {
        string? item = null, action = null;
        long? timestamp = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "item_id":
                    if (reader.TokenType != JsonTokenType.String) return Fail(index, "item_id", "must be a string", out error);
                    item = reader.GetString();
                    break;
                case "action":
                    if (reader.TokenType != JsonTokenType.String) return Fail(index, "action", "must be a string", out error);
                    action = reader.GetString();
                    break;
                case "timestamp":
                    if (reader.TokenType == JsonTokenType.Null) break;
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long t))
                        return Fail(index, "timestamp", "must be an integer number of Unix seconds", out error);
                    timestamp = t;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (string.IsNullOrEmpty(item)) return Fail(index, "item_id", "is required", out error);
        if (IO.IdRules.Problem(item) is string problem) return Fail(index, "item_id", problem, out error);
        if (string.IsNullOrEmpty(action)) return Fail(index, "action", "is required", out error);
        if (!IsToken(action)) return Fail(index, "action", "must be 1–64 letters, digits, '_', '-' or '.'", out error);
        if (actionTypes is { Count: > 0 } && !actionTypes.Contains(action))
            return Fail(index, "action", $"unknown action type '{action}' (accepted: {string.Join(", ", actionTypes.Order(StringComparer.Ordinal))})", out error);
        long ts = timestamp ?? defaultTimestamp;
        if (ts < 0) return Fail(index, "timestamp", "must be ≥ 0", out error);
        if (ts > MaxTimestamp)
            return Fail(index, "timestamp", $"{ts} is after 2100-01-01; Unix seconds are expected (milliseconds?)", out error);
        if (ts > now + maxFutureSeconds) return Fail(index, "timestamp", $"{ts} is in the future (now is {now})", out error);
        events.Add(new ActionEvent(userId, item, action, ts));
        error = null;
        return true;
    }

    private static bool IsToken(string s)
    {
        if (s.Length is 0 or > 64) return false;
        foreach (char c in s)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')) return false;
        return true;
    }

    private static bool Fail(int index, string field, string problem, out string? error)
    {
        error = $"event [{index}]: {field} {problem}.";
        return false;
    }
}
