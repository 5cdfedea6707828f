using System.Text;

namespace PinnerSage.Storage;

/// <summary>Turns a user-id prefix into a range of the code-point order (our choice: an index range scan instead of a
/// LIKE pattern the planner cannot use with a parameter).</summary>
internal static class UserIdRange
{
    /// <summary>The least string greater than every string starting with <paramref name="prefix"/> in code-point
    /// order, so that "starts with prefix" ⇔ prefix ≤ s &lt; bound; null when there is none (an empty prefix, or one
    /// made only of U+10FFFF).</summary>
    public static string? PrefixUpperBound(string prefix)
    {
        var runes = new List<Rune>();
        foreach (Rune r in prefix.EnumerateRunes()) runes.Add(r);
        while (runes.Count > 0)
        {
            int last = runes[^1].Value;
            runes.RemoveAt(runes.Count - 1);
            if (last == 0x10FFFF) continue;
            int next = last == 0xD7FF ? 0xE000 : last + 1; // skip the surrogate block
            var sb = new StringBuilder(prefix.Length + 1);
            foreach (Rune r in runes) sb.Append(r.ToString());
            sb.Append(new Rune(next).ToString());
            return sb.ToString();
        }
        return null;
    }
}
