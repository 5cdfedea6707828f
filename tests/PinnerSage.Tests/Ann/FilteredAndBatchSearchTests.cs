using PinnerSage.Ann;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Ann;

/// <summary>Filtered search (bitset or predicate inside the walk) and batch search, on the float and the quantized
/// index: a filtered label is never returned, recall holds against exact filtered search, a batch equals single calls.</summary>
public sealed class FilteredAndBatchSearchTests(ITestOutputHelper output)
{
    private const int D = 32;
    private const int N = 3000;

    private static (HnswIndex Float, QuantizedHnswIndex Quantized, float[] Data) Build()
    {
        float[] data = AnnTestData.Clustered(N, D, clusters: 30, seed: 21);
        var index = new HnswIndex(D, new HnswOptions { Metric = VectorMetric.Cosine, EfConstruction = 100 });
        index.Build(data, N, 1);
        return (index, index.Quantize(), data);
    }

    public static TheoryData<string> Filters() => ["exclude-half", "exclude-cluster-neighbours", "only-tenth", "predicate-odd"];

    private static SearchFilter Make(string kind, float[] data) => kind switch
    {
        "exclude-half" => SearchFilter.Excluding(Enumerable.Range(0, N).Where(i => i % 2 == 0).ToArray()),
        // The items nearest to the queries (the first 300 rows, which are also the queries) are excluded: the walk must
        // route through them to reach what is allowed.
        "exclude-cluster-neighbours" => SearchFilter.Excluding(Enumerable.Range(0, 300).ToArray()),
        "only-tenth" => SearchFilter.Only(Enumerable.Range(0, N).Where(i => i % 10 == 3).ToArray()),
        _ => SearchFilter.Where(label => label % 2 == 1),
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public void FilteredSearchNeverReturnsAFilteredItemAndKeepsRecall(string kind)
    {
        (HnswIndex floatIndex, QuantizedHnswIndex quantized, float[] data) = Build();
        using (quantized)
        {
            SearchFilter filter = Make(kind, data);
            float[] queries = data.AsSpan(0, 100 * D).ToArray();
            var found = new Neighbor[10];
            foreach (IFilteredSearch index in new IFilteredSearch[] { floatIndex, quantized })
            {
                for (int q = 0; q < 100; q++)
                {
                    int got = index.Search(queries.AsSpan(q * D, D), 10, 64, filter, found);
                    Assert.Equal(10, got);
                    for (int i = 0; i < got; i++) Assert.True(filter.Allows(found[i].Label), $"{kind}: returned filtered label {found[i].Label}");
                }
                double recall = AnnTestData.RecallAtK(index, VectorMetric.Cosine, data, N, D, queries, 10, 64, filter);
                output.WriteLine($"{index.GetType().Name} {kind}: filtered recall@10 = {recall:F4}");
                Assert.True(recall >= 0.95, $"{kind}: filtered recall@10 {recall:F4} < 0.95");
            }
        }
    }

    [Fact]
    public void FilterRejectingEverythingReturnsNothing()
    {
        (HnswIndex floatIndex, QuantizedHnswIndex quantized, float[] data) = Build();
        using (quantized)
        {
            var found = new Neighbor[10];
            SearchFilter none = SearchFilter.Only([]);
            Assert.Equal(0, floatIndex.Search(data.AsSpan(0, D), 10, 32, none, found));
            Assert.Equal(0, quantized.Search(data.AsSpan(0, D), 10, 32, none, found));
            SearchFilter one = SearchFilter.Only([1234]);
            Assert.Equal(1, floatIndex.Search(data.AsSpan(0, D), 10, 32, one, found));
            Assert.Equal(1234, found[0].Label);
            Assert.Equal(1, quantized.Search(data.AsSpan(0, D), 10, 32, one, found));
            Assert.Equal(1234, found[0].Label);
        }
    }

    [Fact]
    public void UnfilteredEqualsNullFilter()
    {
        (HnswIndex floatIndex, QuantizedHnswIndex quantized, float[] data) = Build();
        using (quantized)
        {
            var a = new Neighbor[10];
            var b = new Neighbor[10];
            SearchFilter all = SearchFilter.Excluding([]);
            for (int q = 0; q < 30; q++)
            {
                floatIndex.Search(data.AsSpan(q * D, D), 10, 40, a);
                floatIndex.Search(data.AsSpan(q * D, D), 10, 40, all, b);
                Assert.Equal(a, b);
            }
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void BatchEqualsSingleSearches(int threads, bool filtered)
    {
        (HnswIndex floatIndex, QuantizedHnswIndex quantized, float[] data) = Build();
        using (quantized)
        {
            const int q = 137, k = 7;
            float[] queries = AnnTestData.Clustered(q, D, clusters: 30, seed: 22);
            SearchFilter? filter = filtered ? SearchFilter.Where(label => label % 3 != 0) : null;
            foreach (IFilteredSearch index in new IFilteredSearch[] { floatIndex, quantized })
            {
                var batch = new Neighbor[q * k];
                var counts = new int[q];
                if (index is HnswIndex f) f.SearchBatch(queries, k, 50, filter, batch, counts, threads);
                else ((QuantizedHnswIndex)index).SearchBatch(queries, k, 50, filter, batch, counts, threads);
                var single = new Neighbor[k];
                for (int i = 0; i < q; i++)
                {
                    int got = index.Search(queries.AsSpan(i * D, D), k, 50, filter, single);
                    Assert.Equal(got, counts[i]);
                    Assert.Equal(single.AsSpan(0, got).ToArray(), batch.AsSpan(i * k, got).ToArray());
                }
            }
        }
    }

    [Fact]
    public void BatchArgumentsAreChecked()
    {
        (HnswIndex floatIndex, QuantizedHnswIndex quantized, _) = Build();
        using (quantized)
        {
            var q = new float[3 * D];
            Assert.Throws<ArgumentException>(() => floatIndex.SearchBatch(new float[D + 1], 2, 10, null, new Neighbor[2], new int[1], 1));
            Assert.Throws<ArgumentException>(() => floatIndex.SearchBatch(q, 2, 10, null, new Neighbor[5], new int[3], 1));
            Assert.Throws<ArgumentException>(() => quantized.SearchBatch(q, 2, 10, null, new Neighbor[6], new int[2], 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => quantized.SearchBatch(q, 2, 10, null, new Neighbor[6], new int[3], 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => SearchFilter.Excluding([-1]));
            floatIndex.SearchBatch([], 2, 10, null, [], [], 2);
            // A throwing predicate surfaces on the calling thread, whichever thread evaluated it.
            float[] many = AnnTestData.Clustered(200, D, clusters: 30, seed: 23);
            SearchFilter throwing = SearchFilter.Where(label => label % 50 == 17 ? throw new InvalidOperationException("bad label") : true);
            Assert.Throws<InvalidOperationException>(() => quantized.SearchBatch(many, 5, 64, throwing, new Neighbor[1000], new int[200], 2));
        }
    }
}
