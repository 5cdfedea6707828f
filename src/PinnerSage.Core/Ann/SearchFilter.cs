using System.Runtime.CompilerServices;

namespace PinnerSage.Ann;

/// <summary>Which labels a filtered search may return: a bitset of excluded or of allowed labels, or a predicate.</summary>
/// <remarks>Evaluated inside the graph walk as hnswlib's <c>BaseFilterFunctor</c> and FAISS's <c>IDSelector</c>:
/// a filtered-out element is still expanded (it routes the walk through its neighbourhood) but never enters the result
/// list W of SEARCH-LAYER (Malkov &amp; Yashunin 2018, Alg. 2), so k results come back without over-fetching. The
/// walk stops only when W holds ef allowed elements, so a filter that rejects most labels makes the search visit more
/// of the graph (at worst all of it). A bitset costs one load per evaluated element; a predicate a delegate call.</remarks>
public sealed class SearchFilter
{
    private SearchFilter(ulong[]? bits, bool allowSet, Func<int, bool>? predicate)
    {
        Bits = bits;
        AllowSet = allowSet;
        Predicate = predicate;
    }

    internal ulong[]? Bits { get; }

    internal bool AllowSet { get; }

    internal Func<int, bool>? Predicate { get; }

    /// <summary>Every label except <paramref name="labels"/> (e.g. the items a user already engaged with).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative label.</exception>
    public static SearchFilter Excluding(ReadOnlySpan<int> labels) => new(ToBits(labels), allowSet: false, null);

    /// <summary>Only <paramref name="labels"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative label.</exception>
    public static SearchFilter Only(ReadOnlySpan<int> labels) => new(ToBits(labels), allowSet: true, null);

    /// <summary>A filter over a caller-owned bitset (bit set = excluded, or allowed when <paramref name="allowSet"/>),
    /// read at each search, so the caller may change the bits between searches (the recommender's per-thread exclusion
    /// set: nothing allocated per request).</summary>
    internal static SearchFilter OverBits(ulong[] bits, bool allowSet) => new(bits, allowSet, null);

    /// <summary>The labels for which <paramref name="allows"/> returns true; it is called from the searching thread(s).</summary>
    public static SearchFilter Where(Func<int, bool> allows)
    {
        ArgumentNullException.ThrowIfNull(allows);
        return new SearchFilter(null, false, allows);
    }

    /// <summary>Whether a search with this filter may return <paramref name="label"/>.</summary>
    public bool Allows(int label) => Bits is { } bits ? new BitsetFilter(bits, AllowSet).Allows(label) : Predicate!(label);

    private static ulong[] ToBits(ReadOnlySpan<int> labels)
    {
        int max = -1;
        foreach (int label in labels)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(label, nameof(labels));
            max = Math.Max(max, label);
        }
        var bits = new ulong[(max >> 6) + 1];
        foreach (int label in labels) bits[label >> 6] |= 1UL << label;
        return bits;
    }
}

/// <summary>An index whose search is specialised per filter struct (the float and the quantized HNSW index).</summary>
internal interface IFilterSpecialisedSearch
{
    int SearchWith<TFilter>(ReadOnlySpan<float> query, int k, int ef, TFilter filter, Span<Neighbor> destination) where TFilter : struct, ILabelFilter;
}

/// <summary>From a <see cref="SearchFilter"/> to the struct operator the walk is compiled for: one branch per search.</summary>
internal static class FilterDispatch
{
    public static int Search<TIndex>(TIndex index, ReadOnlySpan<float> query, int k, int ef, SearchFilter? filter, Span<Neighbor> destination)
        where TIndex : IFilterSpecialisedSearch
    {
        if (filter is null) return index.SearchWith(query, k, ef, default(NoFilter), destination);
        return filter.Bits is { } bits
            ? index.SearchWith(query, k, ef, new BitsetFilter(bits, filter.AllowSet), destination)
            : index.SearchWith(query, k, ef, new PredicateFilter(filter.Predicate!), destination);
    }
}

/// <summary>A label filter as a generic struct operator, so the unfiltered walk compiles to the same code as before.</summary>
internal interface ILabelFilter
{
    bool Allows(int label);
}

internal readonly struct NoFilter : ILabelFilter
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Allows(int label) => true;
}

/// <summary>Labels whose bit is set are the allowed ones (<c>allowSet</c>) or the excluded ones; labels past the bitset
/// are unset.</summary>
internal readonly struct BitsetFilter(ulong[] bits, bool allowSet) : ILabelFilter
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Allows(int label)
    {
        int word = label >> 6;
        bool set = (uint)word < (uint)bits.Length && (bits[word] & (1UL << label)) != 0;
        return set == allowSet;
    }
}

internal readonly struct PredicateFilter(Func<int, bool> allows) : ILabelFilter
{
    public bool Allows(int label) => allows(label);
}
