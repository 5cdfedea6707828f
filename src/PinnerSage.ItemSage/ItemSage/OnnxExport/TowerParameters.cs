using PinnerSage.ItemSage.Model;

namespace PinnerSage.ItemSage.OnnxExport;

/// <summary>Reads the named tensors of a tower out of its flat parameter array.</summary>
/// <remarks>The offsets are recomputed from the options in the towers' reservation order (the order their
/// constructors call <c>ParameterStore.Reserve</c>; see the remarks of <c>ItemSageTransformer</c> and
/// <c>MlpConcatTower</c>), so the export needs no change to the tower classes. Two guards catch a layout that drifts
/// from the towers: the total must equal the tower's parameter count (checked here), and the ONNX parity test compares
/// the exported graph's embeddings with the tower's own.</remarks>
internal sealed class TowerParameters
{
    private readonly float[] _p;
    private int _offset;

    public TowerParameters(IItemTower tower)
    {
        _p = tower.Parameters;
        Options = tower.Options;
    }

    public ItemSageModelOptions Options { get; }

    /// <summary>The next <paramref name="length"/> parameters.</summary>
    public ReadOnlyMemory<float> Next(int length)
    {
        if (_offset + length > _p.Length)
            throw new InvalidOperationException("the tower has fewer parameters than its layout implies (export out of date with the tower)");
        var m = new ReadOnlyMemory<float>(_p, _offset, length);
        _offset += length;
        return m;
    }

    /// <summary>Checks that every parameter was read exactly once.</summary>
    public void Finish()
    {
        if (_offset != _p.Length)
            throw new InvalidOperationException($"the layout read {_offset} of {_p.Length} parameters (export out of date with the tower)");
    }
}

/// <summary>Weights of one <c>Linear</c>: W [In, Out] row-major, b [Out].</summary>
internal readonly record struct LinearWeights(ReadOnlyMemory<float> W, ReadOnlyMemory<float> B, int In, int Out)
{
    public static LinearWeights Read(TowerParameters p, int inDim, int outDim) => new(p.Next(inDim * outDim), p.Next(outDim), inDim, outDim);
}

/// <summary>Gain and bias of one <c>LayerNorm</c>.</summary>
internal readonly record struct NormWeights(ReadOnlyMemory<float> Gain, ReadOnlyMemory<float> Bias, int Dim)
{
    public static NormWeights Read(TowerParameters p, int dim) => new(p.Next(dim), p.Next(dim), dim);
}
