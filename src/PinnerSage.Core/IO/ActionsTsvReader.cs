namespace PinnerSage.IO;

/// <summary>CONTRACT STUB (owned by the data-formats work): streams <c>actions.tsv</c>
/// (<c>user_id TAB item_id TAB timestamp TAB action [TAB value]</c>, header line first) without allocating per line.
/// After <see cref="MoveNext"/> returns true the current line's fields are exposed as spans valid until the next call.</summary>
public sealed class ActionsTsvReader : IDisposable
{
    /// <summary>Opens a file; "-" means standard input. <paramref name="hasHeader"/> = false for headerless streams
    /// (the Hadoop-streaming mapper reads <c>user TAB item TAB timestamp …</c> lines without header).</summary>
    public ActionsTsvReader(string path, bool hasHeader = true) => throw new NotImplementedException();

    /// <summary>Reads from an already open text reader; <paramref name="displayName"/> is used in errors.</summary>
    public ActionsTsvReader(TextReader reader, string displayName, bool hasHeader = true) => throw new NotImplementedException();

    /// <summary>1-based line number of the current line.</summary>
    public long LineNumber => throw new NotImplementedException();

    /// <summary>Current user id.</summary>
    public ReadOnlySpan<char> UserId => throw new NotImplementedException();

    /// <summary>Current item id.</summary>
    public ReadOnlySpan<char> ItemId => throw new NotImplementedException();

    /// <summary>Current timestamp, Unix seconds (UTC), validated to a plausible range.</summary>
    public long Timestamp => throw new NotImplementedException();

    /// <summary>Current action label; empty when the column is absent.</summary>
    public ReadOnlySpan<char> Action => throw new NotImplementedException();

    /// <summary>Current optional value, NaN when absent.</summary>
    public double Value => throw new NotImplementedException();

    /// <summary>Advances to the next data line; false at end of input.</summary>
    /// <exception cref="DataFormatException">A malformed line (naming file, line and field).</exception>
    public bool MoveNext() => throw new NotImplementedException();

    /// <inheritdoc/>
    public void Dispose() { }
}
