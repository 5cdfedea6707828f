namespace PinnerSage.IO;

/// <summary>What a user or item id may be, one rule for every reader and the HTTP API (our choice): 1 to
/// <see cref="MaxLength"/> characters, not whitespace only, and no control characters (C0, DEL, C1), which would
/// break the tab-separated and JSON-lines outputs, terminals and logs.</summary>
public static class IdRules
{
    /// <summary>Longest accepted id, in UTF-16 characters.</summary>
    public const int MaxLength = 256;

    /// <summary>Null when <paramref name="id"/> is acceptable, else what is wrong with it, in words
    /// ("contains a control character (U+0000)").</summary>
    public static string? Problem(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty) return "is empty";
        if (id.Length > MaxLength) return $"is longer than {MaxLength} characters ({id.Length})";
        int control = id.IndexOfAnyInRange('\0', '\u001f');
        if (control < 0) control = id.IndexOfAnyInRange('\u007f', '\u009f');
        if (control >= 0) return $"contains a control character (U+{(int)id[control]:X4}) at position {control + 1}";
        if (id.IsWhiteSpace()) return "is whitespace only";
        return null;
    }

    /// <summary>Null when <paramref name="id"/> is acceptable, else an error text such as
    /// <c>user id 'a\u0000b' contains a control character (U+0000) at position 2</c>: the id is shortened to 40
    /// characters and its control characters escaped, so the message stays one harmless line.</summary>
    /// <param name="kind">"user id" or "item id".</param>
    /// <param name="id">The id.</param>
    public static string? Describe(string kind, ReadOnlySpan<char> id)
    {
        if (Problem(id) is not string problem) return null;
        var shown = new System.Text.StringBuilder(48);
        foreach (char c in id.Length > 40 ? id[..40] : id)
        {
            if (c < ' ' || c is >= '\u007f' and <= '\u009f') shown.Append($"\\u{(int)c:X4}");
            else shown.Append(c);
        }
        if (id.Length > 40) shown.Append('…');
        return $"{kind} '{shown}' {problem}";
    }
}
