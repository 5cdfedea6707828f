using PinnerSage.ItemSage.Features;

namespace PinnerSage.Tests.ItemSage.Features;

public sealed class TextVocabularyTests
{
    [Fact]
    public void Keeps_the_most_frequent_tokens_per_kind_with_ordinal_tie_break_in_one_id_space()
    {
        string[] fields = ["b a", "a c", "a b", "d"];
        var v = TextVocabulary.Build(fields, maxUnigrams: 2, maxBigrams: 10, maxTrigrams: 3);
        // Unigram counts: a 3, b 2, c 1, d 1 → keep a, b.
        Assert.Equal(2, v.Counts[0]);
        Assert.Equal(0, v.IdOf(TokenKind.Unigram, "a"));
        Assert.Equal(1, v.IdOf(TokenKind.Unigram, "b"));
        Assert.Equal(-1, v.IdOf(TokenKind.Unigram, "c"));
        // Bigrams: "a b", "a c", "b a" once each → all kept (capped by the corpus), ordinal order, after the unigrams.
        Assert.Equal(3, v.Counts[1]);
        Assert.Equal(2, v.IdOf(TokenKind.Bigram, "a b"));
        Assert.Equal(4, v.IdOf(TokenKind.Bigram, "b a"));
        // Trigrams: "#a#" 3, "#b#" 2, then ties at 1 broken ordinally: "#c#" < "#d#".
        Assert.Equal(3, v.Counts[2]);
        Assert.Equal(["#a#", "#b#", "#c#"], Enumerable.Range(5, 3).Select(v.Token));
        Assert.Equal(TokenKind.Trigram, v.KindOf(7));
        Assert.Equal(8, v.Size);
    }

    [Fact]
    public void Encode_drops_oov_tokens_and_the_vocabulary_round_trips()
    {
        var v = TextVocabulary.Build(["red hat", "red shoe"], 10, 10, 100);
        var ids = new List<int>();
        v.Encode("Red CAR", ids);
        Assert.Equal(["red", "#re", "red", "ed#"], ids.Select(v.Token)); // "car", "red car" and its trigrams are OOV
        using var dir = new TempDir();
        v.Save(dir.File("v.tsv"));
        var loaded = TextVocabulary.Load(dir.File("v.tsv"));
        Assert.Equal(v.Size, loaded.Size);
        Assert.Equal(v.Counts, loaded.Counts);
        for (int i = 0; i < v.Size; i++) Assert.Equal(v.Token(i), loaded.Token(i));
    }
}
