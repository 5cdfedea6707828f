namespace PinnerSage.ItemSage.Model;

/// <summary>The text group's input: for every non-empty (item, field) of a batch, the hash-embedding sum of its
/// tokens followed by a LayerNorm (our choice: field sums of 1 or 100 tokens differ widely in scale, and the norm puts
/// every field on the same footing before the shared projection). Empty fields are not listed (they are masked
/// positions). The batch's token runs are copied at Forward, so the caller may refill the batch before Backward.</summary>
internal sealed class TextFieldEncoder
{
    private readonly HashEmbedding _hash;
    private readonly LayerNorm _ln;
    private int[] _fields = [], _offsets = [], _tokens = [];
    private float[] _sum = [], _mean = [], _rstd = [], _dSum = [];

    public TextFieldEncoder(ParameterStore store, int vocabulary, int hashRows, int hashDim, int textFields)
    {
        TextFields = textFields;
        _hash = new HashEmbedding(store, vocabulary, hashRows, hashDim);
        _ln = new LayerNorm(store, hashDim);
    }

    public int TextFields { get; }

    public int HashDim => _hash.HashDim;

    public HashEmbedding Hash => _hash;

    /// <summary>Non-empty fields of the last Forward, as b·TextFields + f, ascending.</summary>
    public ReadOnlySpan<int> Fields => _fields.AsSpan(0, Count);

    public int Count { get; private set; }

    /// <summary>LayerNorm(sum of token vectors) per listed field, [Count, HashDim].</summary>
    public float[] Output { get; private set; } = [];

    public void Initialize(ParameterStore store)
    {
        _hash.Initialize(store.NextRandom());
        _ln.Initialize();
    }

    public void Forward(ItemFeatureBatch batch)
    {
        int runs = batch.Count * TextFields;
        if (_offsets.Length < runs + 1)
        {
            _offsets = new int[runs + 1];
            _fields = new int[runs];
        }
        int first = batch.TokenOffsets[0], total = batch.TokenOffsets[runs] - first;
        if (_tokens.Length < total) _tokens = new int[Math.Max(total, 2 * _tokens.Length)];
        batch.Tokens.AsSpan(first, total).CopyTo(_tokens);
        int count = 0;
        for (int i = 0; i <= runs; i++) _offsets[i] = batch.TokenOffsets[i] - first;
        for (int i = 0; i < runs; i++)
            if (_offsets[i + 1] > _offsets[i]) _fields[count++] = i;
        Count = count;
        int dim = HashDim;
        if (_sum.Length < count * dim)
        {
            int cap = Math.Max(count, 2 * _sum.Length / Math.Max(1, dim));
            _sum = new float[cap * dim];
            Output = new float[cap * dim];
            _dSum = new float[cap * dim];
            _mean = new float[cap];
            _rstd = new float[cap];
        }
        _hash.Forward(_tokens, _offsets, Fields, _sum);
        _ln.Forward(_sum, count, Output, _mean, _rstd);
    }

    /// <summary>dOutput [Count, HashDim] → hash-table gradients (sparse).</summary>
    public void Backward(ReadOnlySpan<float> dOutput)
    {
        _ln.Backward(_sum, _mean, _rstd, dOutput, Count, _dSum, accumulate: false);
        _hash.Backward(_tokens, _offsets, Fields, _dSum);
    }
}
