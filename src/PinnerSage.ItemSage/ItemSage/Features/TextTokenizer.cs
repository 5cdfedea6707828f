using System.Text;

namespace PinnerSage.ItemSage.Features;

/// <summary>The three token kinds of ItemSage's text features.</summary>
public enum TokenKind
{
    /// <summary>A word.</summary>
    Unigram = 0,

    /// <summary>Two consecutive words of one value, joined by a space.</summary>
    Bigram = 1,

    /// <summary>Three consecutive characters of a word padded with <see cref="TextTokenizer.BoundaryMarker"/>.</summary>
    Trigram = 2,
}

/// <summary>Text normalisation and tokenisation into word unigrams, word bigrams and character trigrams.</summary>
/// <remarks>ItemSage (Baltescu et al., KDD 2022, §3.2) tokenises text into word unigrams, word bigrams and character
/// trigrams; how is our choice, fixed here:
/// <list type="number">
/// <item>Normalisation: Unicode NFKC, then <see cref="string.ToLowerInvariant"/> (case folding; the project runs with
/// invariant globalisation).</item>
/// <item>Values: a field is split on <see cref="ValueSeparator"/> (the generic layout's multi-value separator), and no
/// bigram crosses two values ("Beauty | Makeup" gives no bigram "beauty makeup").</item>
/// <item>Words: maximal runs of letters, digits and combining marks (<see cref="char.IsLetterOrDigit(char)"/> or a
/// non-spacing/spacing mark); every other character (spaces, punctuation, symbols) is a boundary and is dropped.</item>
/// <item>Bigrams: "w1 w2" for consecutive words of one value.</item>
/// <item>Trigrams: each word is padded as "#word#" (<see cref="BoundaryMarker"/> cannot occur inside a word) and every
/// window of three UTF-16 code units is a trigram; a one-letter word "a" gives the single trigram "#a#".</item>
/// </list>
/// Repeated tokens are kept (a field's vector is the sum of its token vectors, so repeats weigh more).</remarks>
public static class TextTokenizer
{
    /// <summary>Pads words for character trigrams.</summary>
    public const char BoundaryMarker = '#';

    /// <summary>Separates the values of a multi-valued field.</summary>
    public const string ValueSeparator = " | ";

    private static readonly Dictionary<char, string> NfkcMap = BuildMap();
    private static readonly Dictionary<int, char> Compositions = BuildCompositions();

    /// <summary>NFKC + invariant lower case.</summary>
    /// <remarks>The project runs with invariant globalisation, where <see cref="string.Normalize()"/> leaves non-ASCII
    /// text unchanged, so NFKC comes from our own tables (<c>NfkcTables</c>, generated from Unicode 14 by
    /// tools/gen-nfkc-tables.py): each BMP code point is replaced by its NFKC form (ligatures, full-width forms,
    /// compatibility spaces, super/subscripts, …), then a combining mark is composed with the preceding character when
    /// Unicode defines a precomposed form (e + U+0301 → é). Not covered (rare in catalogues): canonical reordering of
    /// several marks, supplementary-plane compatibility characters and Hangul jamo composition. The result is the same
    /// on every machine, which the saved vocabulary needs.</remarks>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = 0;
        while (i < text.Length && text[i] < 0xA0) i++;
        if (i == text.Length) return text.ToLowerInvariant();
        var sb = new StringBuilder(text.Length + 8);
        sb.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (NfkcMap.TryGetValue(c, out string? mapped))
            {
                foreach (char m in mapped) AppendComposed(sb, m);
            }
            else
            {
                AppendComposed(sb, c);
            }
        }
        return sb.ToString().ToLowerInvariant();
    }

    private static void AppendComposed(StringBuilder sb, char c)
    {
        if (sb.Length > 0 && Compositions.TryGetValue((sb[^1] << 16) | c, out char composed))
            sb[^1] = composed;
        else
            sb.Append(c);
    }

    private static Dictionary<char, string> BuildMap()
    {
        var map = new Dictionary<char, string>(NfkcTables.MapFrom.Length);
        int pos = 0;
        foreach (char from in NfkcTables.MapFrom)
        {
            int end = NfkcTables.MapTo.IndexOf('\uffff', pos);
            map[from] = NfkcTables.MapTo[pos..end];
            pos = end + 1;
        }
        return map;
    }

    private static Dictionary<int, char> BuildCompositions()
    {
        string t = NfkcTables.Compose;
        var map = new Dictionary<int, char>(t.Length / 3);
        for (int i = 0; i + 2 < t.Length; i += 3) map[(t[i] << 16) | t[i + 1]] = t[i + 2];
        return map;
    }

    /// <summary>Calls <paramref name="emit"/> for every token of a raw field, in order: per value, its unigrams, then
    /// its bigrams, then its trigrams.</summary>
    public static void Tokenize(string field, Action<TokenKind, string> emit)
    {
        ArgumentNullException.ThrowIfNull(emit);
        string text = Normalize(field);
        var words = new List<string>();
        var padded = new StringBuilder();
        foreach (string value in text.Split(ValueSeparator))
        {
            words.Clear();
            int i = 0;
            while (i < value.Length)
            {
                while (i < value.Length && !IsWordChar(value[i])) i++;
                int start = i;
                while (i < value.Length && IsWordChar(value[i])) i++;
                if (i > start) words.Add(value[start..i]);
            }
            foreach (string w in words) emit(TokenKind.Unigram, w);
            for (int k = 1; k < words.Count; k++) emit(TokenKind.Bigram, words[k - 1] + " " + words[k]);
            foreach (string w in words)
            {
                padded.Clear().Append(BoundaryMarker).Append(w).Append(BoundaryMarker);
                for (int k = 0; k + 3 <= padded.Length; k++) emit(TokenKind.Trigram, padded.ToString(k, 3));
            }
        }
    }

    /// <summary>All tokens of a field as (kind, text) pairs (for tests and inspection).</summary>
    public static List<(TokenKind Kind, string Text)> Tokens(string field)
    {
        var list = new List<(TokenKind, string)>();
        Tokenize(field, (k, t) => list.Add((k, t)));
        return list;
    }

    private static bool IsWordChar(char c) =>
        char.IsLetterOrDigit(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark
            or System.Globalization.UnicodeCategory.SpacingCombiningMark;
}
