namespace PinnerSage.Batch;

/// <summary>The order of user ids in every output of the batch job: Unicode code-point order, which is also UTF-8
/// byte order, so it equals `LC_ALL=C sort` (the documented shuffle of the streaming mapper) and SQLite's BINARY
/// collation. (.NET's ordinal order compares UTF-16 code units and differs only when a surrogate pair meets a
/// character in U+E000…U+FFFF.)</summary>
internal static class UserIdOrder
{
    public static int Compare(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        int i = a.CommonPrefixLength(b);
        if (i == a.Length || i == b.Length) return a.Length.CompareTo(b.Length);
        int x = a[i], y = b[i];
        if (x >= 0xD800 && y >= 0xD800)
        {
            // Move surrogates (D800–DFFF, i.e. code points ≥ U+10000) above U+E000–U+FFFF.
            x = x >= 0xE000 ? x - 0x800 : x + 0x2000;
            y = y >= 0xE000 ? y - 0x800 : y + 0x2000;
        }
        return x.CompareTo(y);
    }

    public static int Compare(string? a, string? b) => Compare(a.AsSpan(), b.AsSpan());
}
