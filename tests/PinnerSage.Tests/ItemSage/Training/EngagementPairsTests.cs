using PinnerSage.IO;
using PinnerSage.ItemSage.Training;

namespace PinnerSage.Tests.ItemSage.Training;

public sealed class EngagementPairsTests
{
    [Fact]
    public void Each_engagement_pairs_with_the_next_window_of_other_items_and_splits_by_the_positives_time()
    {
        // One user: items 0,1,0,2,3 at t = 1..5 (task of each action given), another user: 4,5 at t = 6,7.
        int[] user = [0, 0, 0, 0, 0, 1, 1];
        int[] item = [0, 1, 0, 2, 3, 4, 5];
        long[] time = [1, 2, 3, 4, 5, 6, 7];
        int[] task = [0, 1, 0, 1, 1, 0, 1];
        var pairs = EngagementPairs.Build(user, item, time, task, ["click", "save"], 6, 0,
            new PairOptions { Window = 2, TestShare = 2.0 / 7, ValidationShare = 0 });
        // Cut: the time at index floor(7·5/7) = 5 of the sorted times → testStart = 6.
        Assert.Equal(6, pairs.TestStart);
        Assert.Equal(6, pairs.TrainedUntil); // no validation period: training ends where the test begins
        var all = Enumerable.Range(0, pairs.Train.Count).Select(i => (pairs.Train.Query[i], pairs.Train.Positive[i], pairs.Train.Task[i]))
            .Concat(Enumerable.Range(0, pairs.Test.Count).Select(i => (pairs.Test.Query[i], pairs.Test.Positive[i], pairs.Test.Task[i])))
            .ToArray();
        // Item 0 at t1 → 1 (t2), [0 at t3 skipped: same item] → 2 (t4); 1 → 0, 2; 0 (t3) → 2, 3; 2 → 3; 4 → 5.
        Assert.Equal([(0, 1, 1), (0, 2, 1), (1, 0, 0), (1, 2, 1), (0, 2, 1), (0, 3, 1), (2, 3, 1), (4, 5, 1)], all);
        Assert.Equal(7, pairs.Train.Count);
        Assert.Equal(1, pairs.Test.Count);
        // Every pair knows the user whose engagements formed it (the evaluation resamples users).
        Assert.Equal([0, 0, 0, 0, 0, 0, 0], pairs.Train.User);
        Assert.Equal([1], pairs.Test.User);
        Assert.Equal([2, 1, 1, 1, 0, 0], pairs.TrainPopularity); // engagements before t = 6
    }

    [Fact]
    public void Load_reads_actions_drops_unknown_items_and_orders_tasks()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("items.tsv"), "item_id\ttitle\na\tA\nb\tB\nc\tC\n");
        File.WriteAllText(dir.File("actions.tsv"),
            "user_id\titem_id\ttimestamp\taction\tvalue\nu\ta\t10\tsave\t5\nu\tzz\t11\tclick\t1\nu\tb\t12\tclick\t2\nu\tc\t13\tclick\t4\n");
        var catalog = ItemCatalog.Load(dir.File("items.tsv"));
        var pairs = EngagementPairs.Load(dir.File("actions.tsv"), catalog, new PairOptions { TestShare = 0, ValidationShare = 0 });
        Assert.Equal(["click", "save"], pairs.Tasks);
        Assert.Equal(1, pairs.SkippedActions);
        Assert.Equal(3, pairs.Train.Count); // a→b, a→c, b→c
        Assert.Equal(14, pairs.TrainedUntil); // nothing held out: one second after the last used action (c at 13)
        var high = EngagementPairs.Load(dir.File("actions.tsv"), catalog, new PairOptions { TestShare = 0, ValidationShare = 0, MinValue = 4 });
        Assert.Equal(1, high.Train.Count); // a (5) → c (4)
        Assert.Equal(2, high.Train.Positive[0]);
    }
}
