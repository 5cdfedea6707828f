using PinnerSage.Profiles;

namespace PinnerSage.Batch;

/// <summary>Maps action labels to small codes whose weights are fixed up front, so an action is stored as an int
/// and its label is never allocated. Code 0 = weight 1 (types without an explicit weight); −1 = excluded.
/// Not thread-safe (used by the reader thread only); <see cref="Weights"/> is immutable and shared.</summary>
internal sealed class ActionTypeTable
{
    private readonly Dictionary<string, int> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly bool _trivial;
    private readonly int _unlisted;
    private readonly string[] _recent = new string[16];
    private readonly int[] _recentCodes = new int[16];
    private int _recentCount;

    public ActionTypeTable(ProfileOptions options)
    {
        var weights = new List<double> { 1 };
        if (options.ActionWeights is not null)
        {
            foreach ((string label, double w) in options.ActionWeights.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                bool included = options.IncludeActions is null || options.IncludeActions.Contains(label);
                _codes[label] = included ? weights.Count : -1;
                if (included) weights.Add(w);
            }
        }
        if (options.IncludeActions is not null)
        {
            foreach (string label in options.IncludeActions) _codes.TryAdd(label, 0);
        }
        _unlisted = options.IncludeActions is null ? 0 : -1;
        _trivial = options.ActionWeights is null && options.IncludeActions is null;
        Weights = weights.ToArray();
        _lookup = _codes.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>True when every action type has code 0 (no weights, no filter): codes need not be stored.</summary>
    public bool IsTrivial => _trivial;

    /// <summary>Weight of each code.</summary>
    public double[] Weights { get; }

    /// <summary>Code of <paramref name="label"/>, −1 when excluded.</summary>
    public int Code(ReadOnlySpan<char> label)
    {
        if (_trivial) return 0;
        // Datasets have a handful of action types: a short list of the labels seen avoids hashing every line.
        for (int i = 0; i < _recentCount; i++)
        {
            if (label.SequenceEqual(_recent[i])) return _recentCodes[i];
        }
        int code = Lookup(label);
        if (_recentCount < _recent.Length)
        {
            _recent[_recentCount] = label.ToString();
            _recentCodes[_recentCount++] = code;
        }
        return code;
    }

    private int Lookup(ReadOnlySpan<char> label) => _lookup.TryGetValue(label, out int code) ? code : _unlisted;
}
