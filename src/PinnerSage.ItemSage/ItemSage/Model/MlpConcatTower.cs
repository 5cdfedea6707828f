using System.Numerics.Tensors;

namespace PinnerSage.ItemSage.Model;

/// <summary>The baseline ItemSage compares against (Baltescu et al. 2022, §5.2 "MLP over concatenated features"):
/// x = mean of the item's present pretrained vectors ⊕ the per-field text vectors (LayerNorm of the hash-embedding
/// sum, zero for an empty field) → Linear(HeadHidden) → GELU → Linear(OutputDim) → L2. With
/// <see cref="ItemSageModelOptions.ProjectionPerVectorSet"/> the vector sets are concatenated (a missing one is zero)
/// instead of averaged, as the transformer then projects each set on its own.</summary>
/// <remarks>Shapes: x [B, ImageDim (MaxImages·ImageDim per set) + TextFields·HashDim]. The text features are the transformer's (same hash
/// embedding and LayerNorm), so the comparison isolates the encoder. An item without pretrained vectors has a zero
/// image part (our choice). Cost ≈ 2·B·(In·HeadHidden + HeadHidden·OutputDim) multiply-adds per pass.</remarks>
internal sealed class MlpConcatTower : IItemTower
{
    private readonly ParameterStore _store;
    private readonly TextFieldEncoder? _text;
    private readonly ProjectionHead _head;
    private readonly int _in, _imageIn;
    private int _capacity, _batch = -1;
    private float[] _x = [], _dx = [], _dText = [];

    public MlpConcatTower(ItemSageModelOptions options)
    {
        options.Validate();
        Options = options;
        _store = new ParameterStore(options.Seed, options.Initialization);
        if (options.TextFields > 0)
            _text = new TextFieldEncoder(_store, options.VocabularySize, options.HashRows, options.HashDim, options.TextFields);
        // One vector per set side by side when every set is its own feature group, else their mean.
        _imageIn = options.ProjectionPerVectorSet ? options.MaxImages * options.ImageDim : options.ImageDim;
        _in = _imageIn + (options.TextFields > 0 ? options.TextFields * options.HashDim : 0);
        _head = new ProjectionHead(_store, _in, options.HeadHidden, options.OutputDim, layerNorm: false);
        _store.Allocate();
        TouchedRows = _text is null ? new SparseRowSet() : new SparseRowSet(_text.Hash.TableE, _text.Hash.TableW);
        _text?.Initialize(_store);
        _head.Initialize(_store);
    }

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

    public void Forward(ItemFeatureBatch batch, Span<float> output, bool training, ulong dropoutSeed)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Validate(Options);
        int n = batch.Count;
        if (output.Length < n * Options.OutputDim)
            throw new ArgumentException($"output needs {n * Options.OutputDim} floats", nameof(output));
        _batch = n;
        if (n > _capacity)
        {
            _capacity = n;
            _x = new float[n * _in];
            _dx = new float[n * _in];
            _dText = new float[n * Options.TextFields * Options.HashDim];
        }
        if (n == 0) return;
        Span<float> x = _x.AsSpan(0, n * _in);
        x.Clear();
        int dim = Options.ImageDim, max = Options.MaxImages;
        for (int b = 0; b < n && dim > 0; b++)
        {
            int count = batch.ImageCount[b];
            if (Options.ProjectionPerVectorSet)
            {
                for (int j = 0; j < count; j++)
                    batch.Images.AsSpan((b * max + j) * dim, dim).CopyTo(x.Slice(b * _in + batch.ImageSet[b * max + j] * dim, dim));
                continue;
            }
            Span<float> mean = x.Slice(b * _in, dim);
            for (int j = 0; j < count; j++)
                TensorPrimitives.Add(mean, batch.Images.AsSpan((b * max + j) * dim, dim), mean);
            if (count > 1) TensorPrimitives.Multiply(mean, 1f / count, mean);
        }
        if (_text is not null)
        {
            _text.Forward(batch);
            int hd = Options.HashDim, tf = Options.TextFields;
            ReadOnlySpan<int> fields = _text.Fields;
            for (int i = 0; i < fields.Length; i++)
                _text.Output.AsSpan(i * hd, hd).CopyTo(x.Slice(fields[i] / tf * _in + _imageIn + fields[i] % tf * hd, hd));
        }
        _head.Forward(x, n, output);
    }

    public void Backward(ReadOnlySpan<float> dOutput)
    {
        int n = _batch;
        if (n < 0) throw new InvalidOperationException("Backward needs a Forward first");
        if (dOutput.Length < n * Options.OutputDim)
            throw new ArgumentException($"dOutput needs {n * Options.OutputDim} floats", nameof(dOutput));
        if (n == 0) return;
        _head.Backward(_x.AsSpan(0, n * _in), dOutput, _dx);
        if (_text is null) return;
        int hd = Options.HashDim, tf = Options.TextFields;
        ReadOnlySpan<int> fields = _text.Fields;
        for (int i = 0; i < fields.Length; i++)
            _dx.AsSpan(fields[i] / tf * _in + _imageIn + fields[i] % tf * hd, hd).CopyTo(_dText.AsSpan(i * hd, hd));
        _text.Backward(_dText);
    }

    public void ZeroGradients() => ItemSageTower.ZeroGradients(_store, TouchedRows);

    public void Save(string path) => ItemSageTower.Save(path, ItemSageTower.MlpConcatKind, Options, Parameters);
}
