using System.Globalization;
using System.Text;
using PinnerSage.IO;

namespace PinnerSage.Tests.Profiles;

/// <summary>One action line of a test world.</summary>
internal readonly record struct TestAction(string User, string Item, long Time, string Action);

/// <summary>A small generated world for profile tests: topics of near-identical unit vectors (d = 16, random topic
/// centres are ~√2 apart, items within 0.05 of their centre), users with 1–3 topics, actions of three types over
/// 130 days (so some fall outside a 90-day window), plus a few actions on items that have no embedding.</summary>
internal sealed class TestWorld
{
    public const long Start = 1_700_000_000;

    private TestWorld(ItemEmbeddings items, List<TestAction> actions)
    {
        Items = items;
        Actions = actions;
    }

    public ItemEmbeddings Items { get; }

    public List<TestAction> Actions { get; }

    public long UnknownItemActions => Actions.Count(a => a.Item.StartsWith("unknown", StringComparison.Ordinal));

    public static TestWorld Create(int users, int seed, int topics = 6, int itemsPerTopic = 15, int dimension = 16,
                                   double unknownRate = 0.02)
    {
        var rng = new Random(seed);
        var ids = new List<string>();
        var data = new List<float>();
        for (int t = 0; t < topics; t++)
        {
            float[] centre = UnitGaussian(rng, dimension);
            for (int i = 0; i < itemsPerTopic; i++)
            {
                ids.Add($"t{t}-i{i:D2}");
                float[] v = new float[dimension];
                for (int k = 0; k < dimension; k++) v[k] = centre[k] + 0.02f * (float)Gaussian(rng);
                data.AddRange(v);
            }
        }
        ItemEmbeddings items = ItemEmbeddings.FromArray(ids, data.ToArray(), dimension);

        string[] types = ["click", "click", "click", "save", "add_to_cart"];
        var actions = new List<TestAction>();
        for (int u = 0; u < users; u++)
        {
            // Ids of varying length and case so byte order differs from numeric and culture orders, and a few
            // non-ASCII ones where UTF-16 ordinal order and UTF-8 byte (code point) order disagree.
            string user = (u % 11) switch
            {
                1 => $"ü{u}",
                2 => $"\uFF61{u}",
                3 => $"\U0001F600{u}",
                _ => u % 3 == 0 ? $"U{u}" : $"user-{u * 7919 % 1000:D3}-{u}",
            };
            int interests = 1 + rng.Next(3);
            int[] mine = Enumerable.Range(0, interests).Select(_ => rng.Next(topics)).ToArray();
            int n = 1 + rng.Next(25);
            for (int a = 0; a < n; a++)
            {
                string item = rng.NextDouble() < unknownRate
                    ? $"unknown-{rng.Next(5)}"
                    : $"t{mine[rng.Next(mine.Length)]}-i{rng.Next(itemsPerTopic):D2}";
                long time = Start + rng.NextInt64(130L * 86400);
                actions.Add(new TestAction(user, item, time, types[rng.Next(types.Length)]));
            }
        }
        return new TestWorld(items, actions);
    }

    /// <summary>The actions sorted by user id (UTF-8 bytes), then time: what `LC_ALL=C sort -k1,1` of a time-ordered log gives.</summary>
    public IEnumerable<TestAction> Sorted() =>
        Actions.OrderBy(a => a.User, Utf8Order.Instance).ThenBy(a => a.Time).ThenBy(a => a.Item, StringComparer.Ordinal);

    public IEnumerable<TestAction> Shuffled(int seed)
    {
        var copy = Actions.ToArray();
        new Random(seed).Shuffle(copy);
        return copy;
    }

    /// <summary>Each user's lines together, users in reverse ordinal order, lines within a user shuffled.</summary>
    public IEnumerable<TestAction> GroupedNotSorted(int seed)
    {
        var rng = new Random(seed);
        foreach (IGrouping<string, TestAction> g in Actions.GroupBy(a => a.User).OrderByDescending(g => g.Key, Utf8Order.Instance))
        {
            TestAction[] lines = g.ToArray();
            rng.Shuffle(lines);
            foreach (TestAction a in lines) yield return a;
        }
    }

    public static string Tsv(IEnumerable<TestAction> actions, bool header = true)
    {
        var sb = new StringBuilder();
        if (header) sb.Append("user_id\titem_id\ttimestamp\taction\n");
        foreach (TestAction a in actions)
            sb.Append(CultureInfo.InvariantCulture, $"{a.User}\t{a.Item}\t{a.Time}\t{a.Action}\n");
        return sb.ToString();
    }

    public void SaveEmbeddings(string npyPath) => Items.Save(npyPath);

    private static float[] UnitGaussian(Random rng, int d)
    {
        float[] v = new float[d];
        double norm = 0;
        for (int k = 0; k < d; k++)
        {
            v[k] = (float)Gaussian(rng);
            norm += v[k] * v[k];
        }
        for (int k = 0; k < d; k++) v[k] /= (float)Math.Sqrt(norm);
        return v;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}

/// <summary>Compares strings by their UTF-8 bytes: the order of `LC_ALL=C sort` and SQLite (an independent reference
/// for the batch job's user order).</summary>
internal sealed class Utf8Order : IComparer<string>
{
    public static readonly Utf8Order Instance = new();

    public int Compare(string? x, string? y) =>
        Encoding.UTF8.GetBytes(x ?? "").AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y ?? ""));
}
