using PinnerSage.ItemSage.Training;

namespace PinnerSage.Tests.ItemSage.Training;

public sealed class ItemSageLossTests
{
    private const int B = 5, M = 4, D = 6;

    private sealed class Case
    {
        public float[] Q = Unit(B, 1), P = Unit(B, 2), N = Unit(M, 3);
        public int[] QueryIds = [10, 11, 12, 10, 14];      // rows 0 and 3 share a query → masked for each other
        public int[] PositiveIds = [20, 21, 20, 23, 24];   // rows 0 and 2 share a product → masked
        public int[] NegativeIds = [30, 21, 32, 10];       // 21 = row 1's positive, 10 = rows 0/3's query → masked there
        public float[] LogQ = [-1f, -2f, -1.5f, -3f, -0.5f];
        public float LogScale = MathF.Log(5f);
        public bool InBatch = true;
        public bool UseLogQ = true;
        public bool UseNegatives = true;

        public float Loss(out float[] dq, out float[] dp, out float[] dn, out float dls)
        {
            dq = new float[Q.Length];
            dp = new float[P.Length];
            dn = new float[UseNegatives ? N.Length : 0];
            var x = new LossInputs
            {
                Queries = Q, Positives = P, Negatives = UseNegatives ? N : [], QueryIds = QueryIds, PositiveIds = PositiveIds,
                NegativeIds = UseNegatives ? NegativeIds : [], LogQ = UseLogQ ? LogQ : [], Dimension = D, LogScale = LogScale, InBatch = InBatch,
            };
            return ItemSageLoss.Compute(x, dq, dp, dn, out dls);
        }
    }

    [Theory]
    [InlineData(true, true, true)]
    [InlineData(true, false, true)]
    [InlineData(true, true, false)]
    [InlineData(false, false, true)]
    public void Gradient_matches_central_finite_differences(bool inBatch, bool logQ, bool negatives)
    {
        var c = new Case { InBatch = inBatch, UseLogQ = logQ, UseNegatives = negatives };
        c.Loss(out float[] dq, out float[] dp, out float[] dn, out float dls);
        Check(c, c.Q, dq);
        Check(c, c.P, dp);
        if (negatives) Check(c, c.N, dn);
        const float h = 1e-3f;
        float saved = c.LogScale;
        c.LogScale = saved + h;
        float up = c.Loss(out _, out _, out _, out _);
        c.LogScale = saved - h;
        float down = c.Loss(out _, out _, out _, out _);
        c.LogScale = saved;
        Assert.Equal((up - down) / (2 * h), dls, 2);
    }

    [Fact]
    public void Masked_candidates_get_no_gradient_and_do_not_change_the_loss()
    {
        var c = new Case { InBatch = false, UseLogQ = false };
        float before = c.Loss(out _, out _, out float[] dn, out _);
        // Negative 1 is item 21 = row 1's positive: masked for row 1 only; negative 3 (item 10) is masked for rows 0, 3.
        // Moving a negative that every row masks changes nothing: make all rows' positives/queries collide with it.
        c.NegativeIds[2] = 20; // row 0 and 2's positive
        c.PositiveIds = [20, 20, 20, 20, 20];
        c.QueryIds = [10, 11, 12, 13, 14];
        float l1 = c.Loss(out _, out _, out dn, out _);
        Assert.All(dn.AsSpan(2 * D, D).ToArray(), g => Assert.Equal(0f, g));
        c.N[2 * D] += 0.5f;
        Assert.Equal(l1, c.Loss(out _, out _, out _, out _), 6);
        Assert.NotEqual(before, l1);
    }

    [Fact]
    public void Constant_logQ_cancels_and_identical_rows_give_log_of_candidates()
    {
        var c = new Case { UseNegatives = false, QueryIds = [1, 2, 3, 4, 5], PositiveIds = [6, 7, 8, 9, 10] };
        c.UseLogQ = false;
        float plain = c.Loss(out _, out _, out _, out _);
        c.UseLogQ = true;
        c.LogQ = [-2f, -2f, -2f, -2f, -2f];
        Assert.Equal(plain, c.Loss(out _, out _, out _, out _), 5);
        // All embeddings equal → every logit equal → loss = log(B) per row.
        var same = new Case { UseNegatives = false, UseLogQ = false, QueryIds = [1, 2, 3, 4, 5], PositiveIds = [6, 7, 8, 9, 10] };
        same.Q = Unit(B, 9, identical: true);
        same.P = Unit(B, 9, identical: true);
        Assert.Equal(MathF.Log(B), same.Loss(out _, out _, out _, out _), 5);
    }

    private static void Check(Case c, float[] x, float[] grad)
    {
        const float h = 1e-3f;
        for (int i = 0; i < x.Length; i++)
        {
            float saved = x[i];
            x[i] = saved + h;
            double up = c.Loss(out _, out _, out _, out _);
            x[i] = saved - h;
            double down = c.Loss(out _, out _, out _, out _);
            x[i] = saved;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - grad[i]) <= 2e-3 + 2e-2 * Math.Abs(numeric), $"index {i}: analytic {grad[i]}, numeric {numeric}");
        }
    }

    private static float[] Unit(int rows, int seed, bool identical = false)
    {
        var rng = new Random(seed);
        var x = new float[rows * D];
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * D, D);
            var local = identical ? new Random(seed) : rng;
            for (int j = 0; j < D; j++) row[j] = (float)(local.NextDouble() * 2 - 1);
            float n = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(row, row));
            for (int j = 0; j < D; j++) row[j] /= n;
        }
        return x;
    }
}
