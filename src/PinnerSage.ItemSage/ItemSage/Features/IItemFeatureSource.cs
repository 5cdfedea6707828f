using PinnerSage.ItemSage.Model;

namespace PinnerSage.ItemSage.Features;

/// <summary>Anything that can fill an <see cref="ItemFeatureBatch"/> for items 0…<see cref="ItemCount"/>−1
/// (<see cref="ItemSageFeatures"/> over a catalogue; small in-memory sources in tests).</summary>
internal interface IItemFeatureSource
{
    /// <summary>Number of items.</summary>
    int ItemCount { get; }

    /// <summary>A batch sized for these features.</summary>
    ItemFeatureBatch CreateBatch(int capacity);

    /// <summary>Fills <paramref name="batch"/> with the items at <paramref name="rows"/>.</summary>
    void Fill(ReadOnlySpan<int> rows, ItemFeatureBatch batch);
}
