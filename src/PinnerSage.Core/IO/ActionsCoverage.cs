namespace PinnerSage.IO;

/// <summary>How many actions refer to items that have an embedding: actions whose item is unknown are what the batch
/// job skips (and counts), or rejects with <c>--strict</c>.</summary>
/// <param name="Actions">Data lines read.</param>
/// <param name="Users">Distinct users.</param>
/// <param name="KnownActions">Actions whose item id has a vector.</param>
/// <param name="UnknownActions">Actions whose item id has no vector.</param>
/// <param name="UnknownItems">Distinct unknown item ids.</param>
/// <param name="UnknownExamples">Up to five unknown item ids, in order of first appearance.</param>
/// <param name="FirstUnknownLine">Line of the first action with an unknown item, or 0.</param>
public sealed record ActionsCoverage(long Actions, long Users, long KnownActions, long UnknownActions, long UnknownItems,
                                     IReadOnlyList<string> UnknownExamples, long FirstUnknownLine)
{
    /// <summary>Reads every action of <paramref name="reader"/> and checks its item against <paramref name="embeddings"/>.</summary>
    /// <exception cref="DataFormatException">A malformed action line.</exception>
    public static ActionsCoverage Measure(ActionsTsvReader reader, ItemEmbeddings embeddings)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(embeddings);
        var users = new HashSet<string>(StringComparer.Ordinal);
        HashSet<string>.AlternateLookup<ReadOnlySpan<char>> userLookup = users.GetAlternateLookup<ReadOnlySpan<char>>();
        var unknown = new HashSet<string>(StringComparer.Ordinal);
        HashSet<string>.AlternateLookup<ReadOnlySpan<char>> unknownLookup = unknown.GetAlternateLookup<ReadOnlySpan<char>>();
        var examples = new List<string>(5);
        long actions = 0, known = 0, firstUnknown = 0;
        while (reader.MoveNext())
        {
            actions++;
            userLookup.Add(reader.UserId);
            if (embeddings.TryGetRow(reader.ItemId, out _))
            {
                known++;
                continue;
            }
            if (firstUnknown == 0) firstUnknown = reader.LineNumber;
            if (unknownLookup.Add(reader.ItemId) && examples.Count < 5) examples.Add(reader.ItemId.ToString());
        }
        return new ActionsCoverage(actions, users.Count, known, actions - known, unknown.Count, examples, firstUnknown);
    }
}
