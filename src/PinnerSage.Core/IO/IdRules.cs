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
}
