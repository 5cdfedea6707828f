using PinnerSage.ItemSage.Model;
using static PinnerSage.Tests.ItemSage.Model.GradientCheck;

namespace PinnerSage.Tests.ItemSage.Model;

/// <summary>Tests that flip process-wide kernel switches run alone (another test's results would change under it).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelSwitchCollection
{
    public const string Name = "kernel switches";
}

/// <summary>The fused Vector256 kernels of the small model (narrow-head [CLS] attention, hash embedding) against the
/// generic GEMM/TensorPrimitives path they replace, and their thread-count determinism at the eval's shape.</summary>
[Collection(KernelSwitchCollection.Name)]
public sealed class FusedKernelTests
{
    // The eval's small shape: d_model 64, 8 heads of width 8, hash width 64.
    private static readonly ItemSageModelOptions Shape = ItemSageTowerTests.Small with
    {
        DModel = 64, Heads = 8, Layers = 1, FfnDim = 128, HashDim = 64, HeadHidden = 128, OutputDim = 64, Dropout = 0,
        ProjectionPerVectorSet = true,
    };

    private static (float[] Y, float[] G) Run(ItemSageModelOptions o, bool fused, int threads, int count = 48)
    {
        bool oldFused = FusedKernels.Enabled;
        FusedKernels.Enabled = fused;
        try
        {
            IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, o);
            tower.Threads = threads;
            var random = new Random(4);
            for (int i = 0; i < tower.Parameters.Length; i++) tower.Parameters[i] += (float)((random.NextDouble() - 0.5) * 0.2);
            ItemFeatureBatch batch = ItemSageTowerTests.RandomBatch(o, count, 21);
            var y = new float[count * o.OutputDim];
            tower.Forward(batch, y, training: false, 0);
            tower.Backward(RandomVector(new Random(22), y.Length));
            return (y, tower.Gradients);
        }
        finally
        {
            FusedKernels.Enabled = oldFused;
        }
    }

    [Fact]
    public void Fused_kernels_match_the_generic_path_at_the_small_shape()
    {
        var generic = Run(Shape, fused: false, threads: 1);
        var fused = Run(Shape, fused: true, threads: 1);
        double scaleY = generic.Y.Max(v => Math.Abs(v)), scaleG = generic.G.Max(v => Math.Abs(v));
        for (int i = 0; i < generic.Y.Length; i++) Assert.True(Math.Abs(generic.Y[i] - fused.Y[i]) <= 1e-5 * scaleY, $"y[{i}]");
        for (int i = 0; i < generic.G.Length; i++)
            Assert.True(Math.Abs(generic.G[i] - fused.G[i]) <= 1e-5 * scaleG, $"gradient {i}: {generic.G[i]} vs {fused.G[i]}");
        Assert.NotEqual(0, scaleG);
    }

    [Fact]
    public void Fused_kernels_are_bitwise_identical_for_any_thread_count()
    {
        var one = Run(Shape, fused: true, threads: 1);
        foreach (int threads in new[] { 2, 3 })
        {
            var other = Run(Shape, fused: true, threads: threads);
            Assert.Equal(one.Y, other.Y);
            Assert.Equal(one.G, other.G);
        }
    }

    [Fact]
    public void Every_parameter_gradient_of_the_fused_small_shape_matches_finite_differences()
    {
        // Narrower than the eval (d 16, 2 heads of width 8, hash width 8) so the check stays fast; the same kernels run.
        var o = ItemSageTowerTests.Small with { DModel = 16, Heads = 2, Layers = 1, FfnDim = 12, HashDim = 8, Dropout = 0 };
        IItemTower tower = ItemSageTower.Create(ItemSageTowerKind.Transformer, o);
        var random = new Random(4);
        for (int i = 0; i < tower.Parameters.Length; i++) tower.Parameters[i] += (float)((random.NextDouble() - 0.5) * 0.2);
        ItemFeatureBatch batch = ItemSageTowerTests.RandomBatch(o, 5, 5);
        float[] r = RandomVector(random, 5 * o.OutputDim), y = new float[5 * o.OutputDim];
        double Loss()
        {
            tower.Forward(batch, y, training: false, 0);
            return Dot(r, y);
        }
        Loss();
        tower.ZeroGradients();
        tower.Backward(r);
        Check("fused tower", tower.Parameters, 0, tower.Gradients, Loss);
    }
}
