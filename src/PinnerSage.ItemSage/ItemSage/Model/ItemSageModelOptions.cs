namespace PinnerSage.ItemSage.Model;

/// <summary>Sizes of an ItemSage product tower (Baltescu et al., KDD 2022; defaults are the paper's where it gives
/// them: hash table 100,000 × 256, d_model 512, one encoder layer, 8 heads, 256-d output, up to 20 images).</summary>
public sealed record ItemSageModelOptions
{
    /// <summary>Token ids are 0 .. VocabularySize − 1 (rows of the per-token weight table W [VocabularySize, 2]).</summary>
    public int VocabularySize { get; init; }

    /// <summary>Text fields per item (0 = no text).</summary>
    public int TextFields { get; init; }

    /// <summary>Dimension of the pretrained vectors (0 = none).</summary>
    public int ImageDim { get; init; }

    /// <summary>Most pretrained vectors per item.</summary>
    public int MaxImages { get; init; } = 20;

    /// <summary>One input projection per vector set (pretrained-vector slot j always holds set j, projected by its own
    /// Linear) instead of one shared by all vectors. Vector sets from different models (an image encoder, a language
    /// model) are different feature groups (our choice; the paper's 20 images are one group). Default false (one
    /// shared projection, the format of earlier model files).</summary>
    public bool ProjectionPerVectorSet { get; init; }

    /// <summary>Rows of the shared hash table E [HashRows, HashDim].</summary>
    public int HashRows { get; init; } = 100_000;

    /// <summary>Width of the hash table E.</summary>
    public int HashDim { get; init; } = 256;

    /// <summary>Transformer width.</summary>
    public int DModel { get; init; } = 512;

    /// <summary>Attention heads (must divide <see cref="DModel"/>).</summary>
    public int Heads { get; init; } = 8;

    /// <summary>Encoder layers (≥ 1).</summary>
    public int Layers { get; init; } = 1;

    /// <summary>Width of the encoder's feed-forward block.</summary>
    public int FfnDim { get; init; } = 2048;

    /// <summary>Dropout probability in training (attention and feed-forward outputs).</summary>
    public float Dropout { get; init; } = 0.1f;

    /// <summary>Hidden width of the head [CLS] → LayerNorm → Linear(HeadHidden) → GELU → Linear(OutputDim) → L2.</summary>
    public int HeadHidden { get; init; } = 1024;

    /// <summary>Embedding dimension.</summary>
    public int OutputDim { get; init; } = 256;

    /// <summary>Initial weights of every linear layer (default <see cref="LinearInitialization.Orthogonal"/>). Not stored
    /// in model files: it only decides where training starts.</summary>
    public LinearInitialization Initialization { get; init; } = LinearInitialization.Orthogonal;

    /// <summary>Seed of the parameter initialisation.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Checks every size.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    /// <exception cref="ArgumentException">The item has no inputs, or <see cref="Heads"/> does not divide
    /// <see cref="DModel"/>.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(TextFields);
        ArgumentOutOfRangeException.ThrowIfNegative(ImageDim);
        if (TextFields == 0 && ImageDim == 0) throw new ArgumentException("an item needs text fields or pretrained vectors");
        if (TextFields > 0)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(VocabularySize);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(HashRows);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(HashDim);
        }
        if (ImageDim > 0) ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxImages);
        else ArgumentOutOfRangeException.ThrowIfNegative(MaxImages);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(DModel);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Heads);
        if (DModel % Heads != 0) throw new ArgumentException($"Heads ({Heads}) must divide DModel ({DModel})");
        // At least one layer: with none, [CLS] would never see the item and every embedding would be the same.
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Layers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(FfnDim);
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "must be in [0, 1)");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(HeadHidden);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(OutputDim);
        if (!Enum.IsDefined(Initialization)) throw new ArgumentOutOfRangeException(nameof(Initialization), Initialization, "unknown initialisation");
        if ((long)HashRows * HashDim > int.MaxValue / 2) throw new ArgumentOutOfRangeException(nameof(HashRows), "HashRows·HashDim is too large");
    }

    /// <summary>Sequence length of the transformer: [CLS], MaxImages image slots (when images exist), one slot per
    /// text field.</summary>
    internal int SequenceLength => 1 + (ImageDim > 0 ? MaxImages : 0) + TextFields;
}

/// <summary>How a tower's linear layers draw their initial weights (biases start at zero either way).</summary>
public enum LinearInitialization
{
    /// <summary>A random (semi-)orthogonal matrix: every singular value 1 (Saxe, McClelland &amp; Ganguli, "Exact solutions
    /// to the nonlinear dynamics of learning in deep linear neural networks", ICLR 2014). The transformer's input
    /// reaches [CLS] through a chain of linear maps (projection, value, output, head); with orthogonal factors the
    /// chain starts as an isometry, so the weak directions that order close neighbours are not damped at the start and
    /// learned last (bench/results/itemsage-eval.md).</summary>
    Orthogonal,

    /// <summary>Glorot-uniform, U(±√(6/(In + Out))) (Glorot &amp; Bengio 2010): the default of earlier versions.</summary>
    GlorotUniform,
}
