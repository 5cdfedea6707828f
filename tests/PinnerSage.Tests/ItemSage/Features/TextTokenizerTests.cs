using PinnerSage.ItemSage.Features;

namespace PinnerSage.Tests.ItemSage.Features;

public sealed class TextTokenizerTests
{
    [Fact]
    public void Tokens_are_unigrams_then_bigrams_then_padded_trigrams_per_value()
    {
        var tokens = TextTokenizer.Tokens("Red Hat | a");
        Assert.Equal(
            [
                (TokenKind.Unigram, "red"), (TokenKind.Unigram, "hat"), (TokenKind.Bigram, "red hat"),
                (TokenKind.Trigram, "#re"), (TokenKind.Trigram, "red"), (TokenKind.Trigram, "ed#"),
                (TokenKind.Trigram, "#ha"), (TokenKind.Trigram, "hat"), (TokenKind.Trigram, "at#"),
                (TokenKind.Unigram, "a"), (TokenKind.Trigram, "#a#"),
            ], tokens);
    }

    [Fact]
    public void Normalisation_is_nfkc_and_case_folding_and_punctuation_splits_words()
    {
        // U+FB01 (ﬁ ligature) → "fi" under NFKC; full-width digits → ASCII; "É" lower-cased.
        Assert.Equal("fine 12 école", TextTokenizer.Normalize("ﬁne １２ ÉCOLE"));
        Assert.Equal("é", TextTokenizer.Normalize("E\u0301")); // decomposed input composes
        Assert.Equal("a b", TextTokenizer.Normalize("A\u00A0B")); // no-break space → space
        var words = TextTokenizer.Tokens("Hello,World!! ﬁne").Where(t => t.Kind == TokenKind.Unigram).Select(t => t.Text);
        Assert.Equal(["hello", "world", "fine"], words);
    }

    [Fact]
    public void Bigrams_do_not_cross_values_and_empty_fields_give_nothing()
    {
        var bigrams = TextTokenizer.Tokens("Beauty | Makeup Face").Where(t => t.Kind == TokenKind.Bigram).Select(t => t.Text);
        Assert.Equal(["makeup face"], bigrams);
        Assert.Empty(TextTokenizer.Tokens(""));
        Assert.Empty(TextTokenizer.Tokens(" ,;| - "));
    }
}
