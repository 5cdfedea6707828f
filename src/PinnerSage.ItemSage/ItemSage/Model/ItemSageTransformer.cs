using System.Numerics.Tensors;

namespace PinnerSage.ItemSage.Model;

/// <summary>The ItemSage product tower (Baltescu et al., "ItemSage", KDD 2022, §3.2–3.3, Fig. 2).</summary>
/// <remarks>
/// Sequence per item, S = 1 + MaxImages + TextFields positions: [CLS], one slot per pretrained vector, one per text
/// field. Image slots hold ImageProjection(vector) and text slots TextProjection(LayerNorm(hash-embedding sum)) —
/// one shared Linear per feature group, as in the paper; with <see cref="ItemSageModelOptions.ProjectionPerVectorSet"/>
/// every vector set is its own group (its own Linear and its own slot). A learned embedding per slot (its field type/position) is
/// added to every present slot (our choice: it tells the encoder which field a text vector came from; initialised at
/// the unit scale of the projected features); [CLS] is a learned vector. Absent slots (missing images, empty fields) are zero rows masked as keys.
/// Then <see cref="ItemSageModelOptions.Layers"/> pre-norm encoder layers (the last computes only the [CLS] query)
/// and the head [CLS] → LayerNorm → Linear → GELU → Linear → L2.
/// Parameter layout (in order): text group (E, W, LN, projection), image projection, [CLS], slot embeddings,
/// layers, head. Cost per item ≈ 2·S·D·(2D + ImageDim·images/S + HashDim·fields/S) + 2·(D² + D·F + D·H + H·Out)
/// multiply-adds forward (one layer), dominated by the K/V projection and the input projections.
/// </remarks>
internal sealed class ItemSageTransformer : IItemTower
{
    private readonly ParameterStore _store;
    private readonly TextFieldEncoder? _text;
    private readonly Linear? _textProj;
    private readonly Linear[] _imageProj;
    private readonly EncoderLayer[] _layers;
    private readonly ProjectionHead _head;
    private readonly int _cls, _slots, _s, _d, _imageSlots;
    private int _capacity, _batch = -1;
    private byte[] _mask = [];
    private int[] _imagePos = [], _textPos = [];
    private int _imageCount;
    private int[] _groupStart = [];
    private float[] _imageIn = [], _imageOut = [], _textOut = [], _dRows = [], _dText = [];
    private float[][] _acts = [];
    private float[][] _dActs = [];

    public ItemSageTransformer(ItemSageModelOptions options)
    {
        options.Validate();
        Options = options;
        _store = new ParameterStore(options.Seed, options.Initialization);
        _d = options.DModel;
        _imageSlots = options.ImageDim > 0 ? options.MaxImages : 0;
        _s = options.SequenceLength;
        if (options.TextFields > 0)
        {
            _text = new TextFieldEncoder(_store, options.VocabularySize, options.HashRows, options.HashDim, options.TextFields);
            _textProj = new Linear(_store, options.HashDim, _d);
        }
        int projections = options.ImageDim == 0 ? 0 : options.ProjectionPerVectorSet ? options.MaxImages : 1;
        _imageProj = new Linear[projections];
        for (int i = 0; i < projections; i++) _imageProj[i] = new Linear(_store, options.ImageDim, _d);
        _groupStart = new int[projections + 1];
        _cls = _store.Reserve(_d, decay: false);
        _slots = _store.Reserve((_s - 1) * _d, decay: false);
        _layers = new EncoderLayer[options.Layers];
        for (int l = 0; l < options.Layers; l++)
            _layers[l] = new EncoderLayer(_store, l, _d, options.Heads, options.FfnDim, _s,
                                          l == options.Layers - 1 ? 1 : _s, options.Dropout);
        _head = new ProjectionHead(_store, _d, options.HeadHidden, options.OutputDim, layerNorm: true);
        _store.Allocate();
        TouchedRows = _text is null ? new SparseRowSet() : new SparseRowSet(_text.Hash.TableE, _text.Hash.TableW);
        Initialize();
    }

    /// <summary>Initial standard deviation of the per-slot embeddings.</summary>
    internal const float SlotEmbeddingStd = 1f;

    public ItemSageModelOptions Options { get; }

    public int Threads
    {
        get => _store.Threads;
        set => _store.Threads = value;
    }

    public float[] Parameters => _store.Parameters;

    public float[] Gradients => _store.Gradients;

    public SparseRowSet TouchedRows { get; }

    internal ParameterStore Store => _store;

    private void Initialize()
    {
        _text?.Initialize(_store);
        _textProj?.Initialize(_store.NextRandom());
        foreach (Linear proj in _imageProj) proj.Initialize(_store.NextRandom());
        var random = _store.NextRandom();
        // [CLS] starts small (LN₁ rescales its row anyway). The slot embeddings start at the unit scale of the projected
        // features (our choice; 0.02 before): every text field and vector set shares its group's projection, so its
        // slot embedding is the only thing that tells attention which field a row is, and at 0.02 attention starts out
        // field-blind and learns that slowly (bench/results/itemsage-eval.md, tuning table).
        Span<float> p = _store.P(_cls, _d + (_s - 1) * _d);
        for (int i = 0; i < p.Length; i++) p[i] = (float)random.NextGaussian() * (i < _d ? 0.02f : SlotEmbeddingStd);
        foreach (EncoderLayer layer in _layers) layer.Initialize(_store);
        _head.Initialize(_store);
    }

    private void Ensure(int batch)
    {
        _batch = batch;
        if (batch <= _capacity) return;
        _capacity = batch;
        int d = _d;
        _mask = new byte[batch * _s];
        _imagePos = new int[batch * _imageSlots];
        _textPos = new int[batch * Options.TextFields];
        _imageIn = new float[(long)batch * _imageSlots * Options.ImageDim];
        _imageOut = new float[batch * _imageSlots * d];
        _textOut = new float[batch * Options.TextFields * d];
        _dRows = new float[batch * Math.Max(_imageSlots, Options.TextFields) * d];
        _dText = new float[batch * Options.TextFields * Options.HashDim];
        _acts = new float[_layers.Length + 1][];
        _dActs = new float[_layers.Length + 1][];
        _acts[0] = new float[batch * _s * d];
        _dActs[0] = new float[batch * _s * d];
        for (int l = 0; l < _layers.Length; l++)
        {
            _acts[l + 1] = new float[batch * _layers[l].QueryPositions * d];
            _dActs[l + 1] = new float[batch * _layers[l].QueryPositions * d];
        }
    }

    public void Forward(ItemFeatureBatch batch, Span<float> output, bool training, ulong dropoutSeed)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Validate(Options);
        int n = batch.Count, d = _d, s = _s;
        if (output.Length < n * Options.OutputDim)
            throw new ArgumentException($"output needs {n * Options.OutputDim} floats", nameof(output));
        Ensure(n);
        if (n == 0) return;
        Span<float> x = _acts[0].AsSpan(0, n * s * d);
        x.Clear();
        Span<byte> mask = _mask.AsSpan(0, n * s);
        mask.Clear();
        ReadOnlySpan<float> cls = _store.P(_cls, d), slots = _store.P(_slots, (s - 1) * d);
        for (int b = 0; b < n; b++)
        {
            mask[b * s] = 1;
            cls.CopyTo(x.Slice(b * s * d, d));
        }
        if (_imageProj.Length > 0)
        {
            // Rows grouped by projection (one group when shared: item-major order), so each projection is one GEMM.
            // With one projection per set, slot 1 + set holds that set's vector; shared, vectors fill slots in order.
            int dim = Options.ImageDim, count = 0, max = Options.MaxImages;
            bool perSet = _imageProj.Length > 1;
            for (int g = 0; g < _imageProj.Length; g++)
            {
                _groupStart[g] = count;
                for (int b = 0; b < n; b++)
                {
                    for (int j = 0; j < batch.ImageCount[b]; j++)
                    {
                        int set = batch.ImageSet[b * max + j];
                        if (perSet && set != g) continue;
                        batch.Images.AsSpan((b * max + j) * dim, dim).CopyTo(_imageIn.AsSpan(count * dim, dim));
                        _imagePos[count++] = b * s + 1 + (perSet ? set : j);
                    }
                }
            }
            _groupStart[_imageProj.Length] = count;
            _imageCount = count;
            for (int g = 0; g < _imageProj.Length; g++)
            {
                int start = _groupStart[g], rows = _groupStart[g + 1] - start;
                _imageProj[g].Forward(_imageIn.AsSpan(start * dim), rows, _imageOut.AsSpan(start * d));
            }
            Scatter(_imageOut, _imagePos.AsSpan(0, count), x, mask, slots);
        }
        if (_text is not null && _textProj is not null)
        {
            _text.Forward(batch);
            int tf = Options.TextFields;
            ReadOnlySpan<int> fields = _text.Fields;
            for (int i = 0; i < fields.Length; i++)
                _textPos[i] = fields[i] / tf * s + 1 + _imageSlots + fields[i] % tf;
            _textProj.Forward(_text.Output, fields.Length, _textOut);
            Scatter(_textOut, _textPos.AsSpan(0, fields.Length), x, mask, slots);
        }
        for (int l = 0; l < _layers.Length; l++)
            _layers[l].Forward(_acts[l], mask, n, _acts[l + 1], training, dropoutSeed);
        // The last layer outputs only the [CLS] rows: [B, 1, D].
        _head.Forward(_acts[^1].AsSpan(0, n * d), n, output);
    }

    /// <summary>x[pos] = rows[i] + slot embedding of pos, and marks pos present.</summary>
    private void Scatter(ReadOnlySpan<float> rows, ReadOnlySpan<int> positions, Span<float> x, Span<byte> mask, ReadOnlySpan<float> slots)
    {
        int d = _d;
        for (int i = 0; i < positions.Length; i++)
        {
            int pos = positions[i], slot = pos % _s;
            TensorPrimitives.Add(rows.Slice(i * d, d), slots.Slice((slot - 1) * d, d), x.Slice(pos * d, d));
            mask[pos] = 1;
        }
    }

    public void Backward(ReadOnlySpan<float> dOutput)
    {
        int n = _batch, d = _d, s = _s;
        if (n < 0) throw new InvalidOperationException("Backward needs a Forward first");
        if (dOutput.Length < n * Options.OutputDim)
            throw new ArgumentException($"dOutput needs {n * Options.OutputDim} floats", nameof(dOutput));
        if (n == 0) return;
        Span<float> dx = _dActs[0].AsSpan(0, n * s * d);
        _head.Backward(_acts[^1].AsSpan(0, n * d), dOutput, _dActs[^1]);
        for (int l = _layers.Length - 1; l >= 0; l--) _layers[l].Backward(_acts[l], _dActs[l + 1], _dActs[l]);
        Span<float> dCls = _store.G(_cls, d), dSlots = _store.G(_slots, (s - 1) * d);
        for (int b = 0; b < n; b++) TensorPrimitives.Add(dCls, dx.Slice(b * s * d, d), dCls);
        if (_imageProj.Length > 0)
        {
            Gather(dx, _imagePos.AsSpan(0, _imageCount), dSlots, _dRows);
            int dim = Options.ImageDim;
            for (int g = 0; g < _imageProj.Length; g++)
            {
                int start = _groupStart[g], rows = _groupStart[g + 1] - start;
                _imageProj[g].Backward(_imageIn.AsSpan(start * dim), _dRows.AsSpan(start * d), rows, []);
            }
        }
        if (_text is not null && _textProj is not null)
        {
            int count = _text.Count;
            Gather(dx, _textPos.AsSpan(0, count), dSlots, _dRows);
            _textProj.Backward(_text.Output, _dRows, count, _dText);
            _text.Backward(_dText);
        }
    }

    /// <summary>rows[i] = dx[pos_i]; the slot embedding gradients accumulate the same rows.</summary>
    private void Gather(ReadOnlySpan<float> dx, ReadOnlySpan<int> positions, Span<float> dSlots, Span<float> rows)
    {
        int d = _d;
        for (int i = 0; i < positions.Length; i++)
        {
            int pos = positions[i], slot = pos % _s;
            ReadOnlySpan<float> g = dx.Slice(pos * d, d);
            g.CopyTo(rows.Slice(i * d, d));
            Span<float> ds = dSlots.Slice((slot - 1) * d, d);
            TensorPrimitives.Add(ds, g, ds);
        }
    }

    public void ZeroGradients() => ItemSageTower.ZeroGradients(_store, TouchedRows);

    public void Save(string path) => ItemSageTower.Save(path, ItemSageTower.TransformerKind, Options, Parameters);
}
