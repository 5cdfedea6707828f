using PinnerSage.Clustering;

namespace PinnerSage.Tests.Clustering;

public sealed class CentroidTests
{
    [Fact]
    public void WeightedMeanPerClusterIgnoringUnlabelledItems()
    {
        float[] x = [1, 0, 0, 1, 3, 3, 9, 9];
        int[] multiplicity = [1, 3, 2, 5];
        int[] labels = [0, 0, 1, -1];
        var centroids = new float[3 * 2];
        Centroid.Compute(x, 2, multiplicity, labels, 3, normalize: false, centroids);
        Assert.Equal([0.25f, 0.75f, 3, 3, 0, 0], centroids);
        Centroid.Compute(x, 2, multiplicity, labels, 3, normalize: true, centroids);
        float s = 1 / MathF.Sqrt(10);
        Assert.Equal(s, centroids[0], 6);
        Assert.Equal(3 * s, centroids[1], 6);
        Assert.Equal(1 / MathF.Sqrt(2), centroids[2], 6);
        Assert.Equal([0f, 0f], centroids[4..]);
    }

    [Fact]
    public void RejectsBadInput()
    {
        var c = new float[2];
        Assert.Throws<ArgumentException>(() => Centroid.Compute([1, 2], 2, [1], [1], 1, false, c));
        Assert.Throws<ArgumentException>(() => Centroid.Compute([1, 2], 2, [0], [0], 1, false, c));
        Assert.Throws<ArgumentException>(() => Centroid.Compute([1, 2], 2, [1], [0], 2, false, c));
        Assert.Throws<ArgumentException>(() => Centroid.Compute([1, 2, 3], 2, [1], [0], 1, false, c));
    }
}
