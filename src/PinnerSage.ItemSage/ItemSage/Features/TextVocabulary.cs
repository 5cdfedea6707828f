using System.Globalization;
using System.Text;
using PinnerSage.IO;

namespace PinnerSage.ItemSage.Features;

/// <summary>The token vocabularies of ItemSage's text features: the most frequent word unigrams, word bigrams and
/// character trigrams of a catalogue, in one id space (unigrams 0…U−1, then bigrams, then trigrams).</summary>
/// <remarks>ItemSage (Baltescu et al., KDD 2022, §3.2) keeps the 200,000 most frequent unigrams, 1,000,000 bigrams and
/// 64,000 trigrams and drops out-of-vocabulary tokens. Our choices: frequency = number of occurrences over the chosen
/// text fields of every catalogue item; ties are broken by ordinal string order, so the vocabulary is a pure function
/// of the catalogue; a kind keeps fewer tokens when the corpus has fewer distinct ones.</remarks>
internal sealed class TextVocabulary
{
    /// <summary>Default sizes from the paper.</summary>
    public const int DefaultUnigrams = 200_000, DefaultBigrams = 1_000_000, DefaultTrigrams = 64_000;

    private readonly Dictionary<string, int>[] _ids;
    private readonly string[] _tokens;

    private TextVocabulary(string[] unigrams, string[] bigrams, string[] trigrams)
    {
        _tokens = [.. unigrams, .. bigrams, .. trigrams];
        Counts = [unigrams.Length, bigrams.Length, trigrams.Length];
        _ids = new Dictionary<string, int>[3];
        int next = 0;
        string[][] kinds = [unigrams, bigrams, trigrams];
        for (int k = 0; k < 3; k++)
        {
            _ids[k] = new Dictionary<string, int>(kinds[k].Length, StringComparer.Ordinal);
            foreach (string t in kinds[k]) _ids[k].Add(t, next++);
        }
    }

    /// <summary>Number of tokens of each kind (indexed by <see cref="TokenKind"/>).</summary>
    public IReadOnlyList<int> Counts { get; }

    /// <summary>Total number of token ids.</summary>
    public int Size => _tokens.Length;

    /// <summary>The token of an id.</summary>
    public string Token(int id) => _tokens[id];

    /// <summary>The kind of an id.</summary>
    public TokenKind KindOf(int id) => id < Counts[0] ? TokenKind.Unigram : id < Counts[0] + Counts[1] ? TokenKind.Bigram : TokenKind.Trigram;

    /// <summary>The id of a (normalised) token, or −1 when it is out of the vocabulary.</summary>
    public int IdOf(TokenKind kind, string token) => _ids[(int)kind].TryGetValue(token, out int id) ? id : -1;

    /// <summary>Appends the in-vocabulary token ids of a raw field to <paramref name="destination"/> (OOV dropped).</summary>
    public void Encode(string field, List<int> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        TextTokenizer.Tokenize(field, (kind, token) =>
        {
            int id = IdOf(kind, token);
            if (id >= 0) destination.Add(id);
        });
    }

    /// <summary>Builds the vocabularies from raw text fields.</summary>
    public static TextVocabulary Build(IEnumerable<string> fields, int maxUnigrams = DefaultUnigrams,
        int maxBigrams = DefaultBigrams, int maxTrigrams = DefaultTrigrams)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentOutOfRangeException.ThrowIfNegative(maxUnigrams);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBigrams);
        ArgumentOutOfRangeException.ThrowIfNegative(maxTrigrams);
        var counts = new Dictionary<string, long>[] { new(StringComparer.Ordinal), new(StringComparer.Ordinal), new(StringComparer.Ordinal) };
        foreach (string field in fields)
        {
            TextTokenizer.Tokenize(field, (kind, token) =>
            {
                var d = counts[(int)kind];
                d[token] = d.GetValueOrDefault(token) + 1;
            });
        }
        int[] caps = [maxUnigrams, maxBigrams, maxTrigrams];
        var kept = new string[3][];
        for (int k = 0; k < 3; k++)
        {
            kept[k] = counts[k].OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
                .Take(caps[k]).Select(p => p.Key).ToArray();
        }
        return new TextVocabulary(kept[0], kept[1], kept[2]);
    }

    /// <summary>Builds the vocabularies from the given text columns of a catalogue.</summary>
    public static TextVocabulary Build(ItemCatalog catalog, IReadOnlyList<int> columns, int maxUnigrams = DefaultUnigrams,
        int maxBigrams = DefaultBigrams, int maxTrigrams = DefaultTrigrams)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(columns);
        IEnumerable<string> Fields()
        {
            for (int r = 0; r < catalog.Count; r++)
                foreach (int c in columns) yield return catalog.Field(r, c);
        }
        return Build(Fields(), maxUnigrams, maxBigrams, maxTrigrams);
    }

    /// <summary>Writes the vocabulary as UTF-8 lines "kind TAB token" in id order (kind = u, b or t), atomically.</summary>
    public void Save(string path) => AtomicFile.WriteText(path, w =>
    {
        for (int id = 0; id < _tokens.Length; id++)
        {
            char kind = KindOf(id) switch { TokenKind.Unigram => 'u', TokenKind.Bigram => 'b', _ => 't' };
            w.Write(kind);
            w.Write('\t');
            w.Write(_tokens[id]);
            w.Write('\n');
        }
    });

    /// <summary>Reads a vocabulary written by <see cref="Save"/>.</summary>
    /// <exception cref="DataFormatException">A malformed line or kinds out of order.</exception>
    public static TextVocabulary Load(string path)
    {
        var lists = new[] { new List<string>(), new List<string>(), new List<string>() };
        int line = 0, lastKind = 0;
        foreach (string text in File.ReadLines(path, Encoding.UTF8))
        {
            line++;
            int kind = text.Length > 2 && text[1] == '\t' ? text[0] switch { 'u' => 0, 'b' => 1, 't' => 2, _ => -1 } : -1;
            if (kind < 0) throw new DataFormatException(path, line, "kind", "expected 'u', 'b' or 't', a tab and a token");
            if (kind < lastKind) throw new DataFormatException(path, line, "kind", "unigrams, bigrams and trigrams must come in that order");
            lastKind = kind;
            lists[kind].Add(text[2..]);
        }
        return new TextVocabulary([.. lists[0]], [.. lists[1]], [.. lists[2]]);
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Counts[0]:N0} unigrams, {Counts[1]:N0} bigrams, {Counts[2]:N0} trigrams");
}
