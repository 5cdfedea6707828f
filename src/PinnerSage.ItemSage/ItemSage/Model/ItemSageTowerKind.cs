namespace PinnerSage.ItemSage.Model;

/// <summary>Which product tower ItemSage trains.</summary>
public enum ItemSageTowerKind
{
    /// <summary>The paper's transformer over the item's feature sequence (Baltescu et al., KDD 2022, §3.3).</summary>
    Transformer,

    /// <summary>The paper's baseline: an MLP over the concatenated features.</summary>
    MlpConcat,
}
