using System.Collections.Concurrent;
using PinnerSage.Storage;

namespace PinnerSage.Tests.Storage;

public sealed class GroupCommitTests
{
    [Fact]
    public void ConcurrentRequestsShareWritesAndEachGetsItsOwnSequencesOrItsGroupsError()
    {
        var groups = new ConcurrentBag<int>();
        // The "store": sequence = the event's timestamp; a group containing the item "fail" fails whole.
        var commit = new GroupCommit(events =>
        {
            Thread.Sleep(2); // a durable commit takes time, so requests queue up behind it
            groups.Add(events.Count);
            if (events.Any(e => e.ItemId == "fail")) throw new InvalidOperationException("disk full");
            return [.. events.Select(e => e.Timestamp)];
        });
        var failures = new ConcurrentBag<int>();
        // Eight dedicated threads, not the thread pool: on a loaded 2-core machine the pool may run every iteration on
        // one thread, and then no request ever waits behind another (the flaky failure this replaced).
        void Request(int i)
        {
            var events = Enumerable.Range(0, 1 + i % 4).Select(j => new ActionEvent("u", i == 123 ? "fail" : "x", "click", i * 10 + j)).ToList();
            try
            {
                Assert.Equal(events.Select(e => e.Timestamp), commit.Append(events));
            }
            catch (IOException e)
            {
                Assert.Contains("disk full", e.Message);
                failures.Add(i);
            }
        }
        var errors = new ConcurrentBag<Exception>();
        Thread[] threads = [.. Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            try
            {
                for (int i = t; i < 400; i += 8) Request(i);
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }))];
        foreach (Thread t in threads) t.Start();
        foreach (Thread t in threads) t.Join();
        Assert.Empty(errors);
        Assert.Contains(123, failures);
        Assert.True(groups.Count < 400, "no two requests ever shared a commit");
        Assert.True(failures.Count <= 8, "a failure spread beyond its group"); // at most one group of ≤ 8 waiting requests
    }
}
