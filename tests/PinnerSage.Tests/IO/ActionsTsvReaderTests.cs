using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.IO;

public sealed class ActionsTsvReaderTests(ITestOutputHelper output)
{
    private sealed record Row(string User, string Item, long Ts, string Action, double Value, long Line);

    /// <summary>Reads with the vectorised scan and with the scalar one; both must agree (rows, or the error).</summary>
    private static List<Row> ReadAll(string text, bool hasHeader = true, string name = "a.tsv")
    {
        List<Row>? vector = null;
        Exception? vectorError = null;
        try { vector = ReadWith(text, hasHeader, name, scalar: false); }
        catch (DataFormatException e) { vectorError = e; }
        try
        {
            List<Row> scalar = ReadWith(text, hasHeader, name, scalar: true);
            Assert.Null(vectorError);
            Assert.Equal(scalar, vector);
            return scalar;
        }
        catch (DataFormatException e)
        {
            Assert.Equal(e.Message, vectorError?.Message);
            throw;
        }
    }

    private static List<Row> ReadWith(string text, bool hasHeader, string name, bool scalar)
    {
        using var r = new ActionsTsvReader(new StringReader(text), name, hasHeader) { ScalarOnly = scalar };
        var rows = new List<Row>();
        while (r.MoveNext()) rows.Add(new Row(r.UserId.ToString(), r.ItemId.ToString(), r.Timestamp, r.Action.ToString(), r.Value, r.LineNumber));
        return rows;
    }

    private static DataFormatException Error(string text, bool hasHeader = true) =>
        Assert.Throws<DataFormatException>(() => ReadAll(text, hasHeader));

    [Fact]
    public void EveryLineLengthAndFieldPositionAgreesWithANaiveSplit()
    {
        // Lines of every length 5…3×16+1+ around the vector width, fields at every offset, with and without \r.
        var rng = new Random(5);
        var sb = new System.Text.StringBuilder(Header);
        var expected = new List<Row>();
        for (int line = 0; line < 400; line++)
        {
            string user = new('u', 1 + rng.Next(40)), item = "i" + new string('x', rng.Next(30));
            long ts = rng.Next(0, 2_000_000_000);
            string action = rng.Next(3) == 0 ? "" : new string('a', 1 + rng.Next(20));
            bool withValue = rng.Next(2) == 0;
            sb.Append(user).Append('\t').Append(item).Append('\t').Append(ts);
            if (action.Length > 0 || withValue) sb.Append('\t').Append(action);
            if (withValue) sb.Append('\t').Append(line % 7);
            sb.Append(rng.Next(4) == 0 ? "\r\n" : "\n");
            expected.Add(new Row(user, item, ts, action, withValue ? line % 7 : double.NaN, line + 2));
        }
        Assert.Equal(expected, ReadAll(sb.ToString()));
    }

    private const string Header = "user_id\titem_id\ttimestamp\taction\tvalue\n";

    [Fact]
    public void ReadsAllColumns()
    {
        var rows = ReadAll(Header + "u1\ti1\t1000\tclick\t4.5\nu2\ti2\t2000\tsave\t\n");
        Assert.Equal(2, rows.Count);
        Assert.Equal(new Row("u1", "i1", 1000, "click", 4.5, 2), rows[0]);
        Assert.Equal(("u2", "i2", 2000L, "save", 3L), (rows[1].User, rows[1].Item, rows[1].Ts, rows[1].Action, rows[1].Line));
        Assert.True(double.IsNaN(rows[1].Value));
    }

    [Fact]
    public void ThreeColumnFilesHaveNoActionAndNoValue()
    {
        var rows = ReadAll("user_id\titem_id\ttimestamp\nu\ti\t5\n");
        Assert.Equal("", rows[0].Action);
        Assert.True(double.IsNaN(rows[0].Value));
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("\n")]
    public void HandlesLineEndsBlankLinesAndMissingFinalNewline(string nl)
    {
        string text = "\uFEFFUSER_ID\tItem_Id\tTimestamp\taction" + nl + nl + "u\ti\t1\tclick" + nl + "   " .Trim() + nl + "u\tj\t2\tsave";
        var rows = ReadAll(text);
        Assert.Equal(2, rows.Count);
        Assert.Equal(("click", 3L), (rows[0].Action, rows[0].Line));
        Assert.Equal(("j", "save", 5L), (rows[1].Item, rows[1].Action, rows[1].Line));
    }

    [Fact]
    public void HeaderlessModeReadsTheFirstLineAsDataAndIgnoresExtraFields()
    {
        var rows = ReadAll("u\ti\t7\tclick\t1\textra\tmore\nv\tj\t8\n", hasHeader: false);
        Assert.Equal(new Row("u", "i", 7, "click", 1, 1), rows[0]);
        Assert.Equal(("v", 8L, 2L), (rows[1].User, rows[1].Ts, rows[1].Line));
    }

    [Fact]
    public void LongLinesGrowTheBuffer()
    {
        // Ids are at most IdRules.MaxLength characters, so the long field is the action.
        string action = new('a', 200_000);
        var rows = ReadAll(Header + $"u\ti\t1\t{action}\t2\nv\tj\t3\tsave\t1\n");
        Assert.Equal(action, rows[0].Action);
        Assert.Equal("v", rows[1].User);
    }

    [Fact]
    public void AHeaderReadWithoutHeaderModeGetsAHint()
    {
        var e = Error(Header + "u\ti\t1\n", hasHeader: false);
        Assert.Equal((1L, "timestamp"), (e.Line, e.Field));
        Assert.Contains("looks like a header", e.Message);
    }

    [Fact]
    public void EmptyInputHasNoActions()
    {
        Assert.Empty(ReadAll(""));
        Assert.Empty(ReadAll(Header));
        Assert.Empty(ReadAll("", hasHeader: false));
    }

    [Fact]
    public void ManyLinesAcrossBufferBoundaries()
    {
        var sb = new System.Text.StringBuilder(Header);
        for (int i = 0; i < 50_000; i++) sb.Append("user").Append(i % 97).Append('\t').Append("item").Append(i).Append('\t').Append(1_000_000 + i).Append("\tclick\t").Append(i % 5).Append('\n');
        var rows = ReadAll(sb.ToString());
        Assert.Equal(50_000, rows.Count);
        for (int i = 0; i < rows.Count; i += 997)
            Assert.Equal(new Row($"user{i % 97}", $"item{i}", 1_000_000 + i, "click", i % 5, i + 2), rows[i]);
    }

    [Fact]
    public void BadHeaderIsAnErrorNamingTheColumn()
    {
        var e = Error("user\titem_id\ttimestamp\n");
        Assert.Equal(("a.tsv", 1L, "user_id"), (e.File, e.Line, e.Field));
        var e2 = Error("user_id\titem_id\ttime\taction\n");
        Assert.Equal((1L, "timestamp"), (e2.Line, e2.Field));
        var e3 = Error("u1\ti1\t5\n".Replace('\t', ' '));
        Assert.Equal(1L, e3.Line);
        Assert.Contains("no-header", e3.Message);
    }

    [Fact]
    public void TooFewFieldsIsAnError()
    {
        var e = Error(Header + "u\ti\t1\tclick\t1\nu\ti\n");
        Assert.Equal(("a.tsv", 3L, "timestamp"), (e.File, e.Line, e.Field));
        Assert.Contains("2 fields", e.Message);
        var csv = Error(Header + "u,i,1,click\n");
        Assert.Contains("comma-separated", csv.Message);
    }

    [Fact]
    public void TooManyFieldsIsAnErrorWithAHeader()
    {
        var e = Error("user_id\titem_id\ttimestamp\taction\nu\ti\t1\tclick\t5\n");
        Assert.Equal((2L, (string?)null), (e.Line, e.Field));
        Assert.Contains("more than the header's 4", e.Message);
    }

    [Fact]
    public void EmptyUserOrItemIsAnError()
    {
        var e = Error(Header + "\ti\t1\tclick\t1\n");
        Assert.Equal((2L, "user_id"), (e.Line, e.Field));
        var e2 = Error(Header + "u\t\t1\tclick\t1\n");
        Assert.Equal((2L, "item_id"), (e2.Line, e2.Field));
    }

    [Theory]
    [InlineData("-5", "negative")]
    [InlineData("1500000000000", "milliseconds")]
    [InlineData("99999999999999999999999", "out of range")]
    [InlineData("4102444801", "out of range")]
    [InlineData("12.5", "not an integer")]
    [InlineData("2014-07-01", "looks like a date")]
    [InlineData("abc", "expected an integer")]
    [InlineData("", "empty timestamp")]
    public void BadTimestampIsAnErrorNamingTheField(string ts, string contains)
    {
        var e = Error("user_id\titem_id\tTIME_field\n".Replace("TIME_field", "timestamp") + "u\ti\t1\nu\ti\t" + ts + "\n");
        Assert.Equal(("a.tsv", 3L, "timestamp"), (e.File, e.Line, e.Field));
        Assert.Contains(contains, e.Message);
    }

    [Fact]
    public void TimestampRangeBoundsAreAccepted()
    {
        var rows = ReadAll(Header + $"u\ti\t0\tclick\t1\nu\ti\t{ActionsTsvReader.MaxTimestamp}\tclick\t1\n");
        Assert.Equal([0L, ActionsTsvReader.MaxTimestamp], rows.Select(r => r.Ts));
    }

    [Fact]
    public void BadValueIsAnErrorNamingTheHeaderColumn()
    {
        var e = Error("user_id\titem_id\ttimestamp\taction\trating\nu\ti\t1\tclick\tfive\n");
        Assert.Equal((2L, "rating"), (e.Line, e.Field));
        Assert.Contains("'five'", e.Message);
    }

    [Fact]
    public void ReadsMovieLensRatingsCsv()
    {
        var rows = ReadAll("userId,movieId,rating,timestamp\r\n1,31,2.5,1260759144\r\n1,1029,3.0,1260759179\r\n", name: "ratings.csv");
        Assert.Equal(new Row("1", "31", 1260759144, "rating", 2.5, 2), rows[0]);
        Assert.Equal(("1029", 3.0), (rows[1].Item, rows[1].Value));
        var e = Assert.Throws<DataFormatException>(() => ReadAll("userId,movieId,rating,timestamp\n1,31,x,1260759144\n", name: "ratings.csv"));
        Assert.Equal(("ratings.csv", 2L, "rating"), (e.File, e.Line, e.Field));
    }

    [Fact]
    public void ReadsFilesAndGzipFromDisk()
    {
        using var dir = new TempDir();
        string text = Header + "u\ti\t1\tclick\t2\n";
        File.WriteAllText(dir.File("a.tsv"), text);
        using (var gz = new System.IO.Compression.GZipStream(File.Create(dir.File("a.tsv.gz")), System.IO.Compression.CompressionLevel.Fastest))
            gz.Write(System.Text.Encoding.UTF8.GetBytes(text));
        foreach (string name in new[] { "a.tsv", "a.tsv.gz" })
        {
            using var r = new ActionsTsvReader(dir.File(name));
            Assert.True(r.MoveNext());
            Assert.Equal("i", r.ItemId.ToString());
            Assert.False(r.MoveNext());
        }
    }

    [Fact]
    public void MoveNextDoesNotAllocatePerLine()
    {
        var sb = new System.Text.StringBuilder(Header);
        for (int i = 0; i < 20_000; i++) sb.Append("user").Append(i).Append("\titem\t").Append(1000 + i).Append("\tclick\t1.5\n");
        string text = sb.ToString();
        // The runtime itself sometimes allocates on this thread while a pass runs (tiered-compilation call counting,
        // on-stack replacement, lazy type loads: a few KB, once), so measure whole passes after a warm-up and keep the
        // smallest: a reader that allocates per line allocates ≥ 20,000 objects in every pass, so the minimum stays
        // far above 0, while one-off runtime allocations vanish from at least one pass.
        // Dynamic PGO adds an instrumented tier before the optimised one (its probes can allocate, and on a loaded
        // machine the background compiler lags), so warm up longer and allow more rounds; with tiered PGO off the
        // first round already measures 0.
        for (int pass = 0; pass < 20; pass++)
        {
            using var warm = new ActionsTsvReader(new StringReader(text), "mem");
            while (warm.MoveNext()) { }
        }
        long minimum = long.MaxValue;
        for (int round = 0; round < 40 && minimum > 0; round++)
        {
            using var r = new ActionsTsvReader(new StringReader(text), "mem");
            Assert.True(r.MoveNext());
            long before = GC.GetAllocatedBytesForCurrentThread();
            long sum = 0;
            while (r.MoveNext()) sum += r.Timestamp + r.UserId.Length;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(sum > 0);
            minimum = Math.Min(minimum, allocated);
            if (minimum > 0) Thread.Sleep(50); // let background tier-up finish before the next round
        }
        Assert.True(minimum == 0, $"{minimum} bytes allocated over 20,000 lines in the best of 40 passes");
    }

    [Theory]
    [InlineData("amazon-beauty", 198_502, 22_363, 12_101)]
    [InlineData("movielens-small", 100_836, 610, 9_724)]
    [InlineData("amazon-scientific", 19_712, 2_928, 1_585)]
    public void ReadsTheSharedDatasets(string dataset, int actions, int users, int items)
    {
        string? path = TestData.RequireDataset($"{dataset}/actions.tsv", output);
        if (path is null) return;
        using var r = new ActionsTsvReader(path);
        var userSet = new HashSet<string>();
        var itemSet = new HashSet<string>();
        int n = 0;
        var actionLabels = new HashSet<string>();
        while (r.MoveNext())
        {
            n++;
            if (userSet.Count < 1_000_000) userSet.Add(r.UserId.ToString());
            itemSet.Add(r.ItemId.ToString());
            if (actionLabels.Count < 10) actionLabels.Add(r.Action.ToString());
        }
        Assert.Equal(actions, n);
        Assert.Equal(users, userSet.Count);
        Assert.Equal(items, itemSet.Count);
        Assert.Equal(dataset == "movielens-small" ? "rating" : "review", Assert.Single(actionLabels));
    }
}

public sealed class AmazonJsonLinesTests
{
    private static List<(string User, string Item, long Ts, string Action, double Value)> Read(string text)
    {
        using var r = new ActionsTsvReader(new StringReader(text), "reviews.json");
        var rows = new List<(string, string, long, string, double)>();
        while (r.MoveNext())
        {
            Assert.True(r.IsAmazonJson);
            rows.Add((r.UserId.ToString(), r.ItemId.ToString(), r.Timestamp, r.Action.ToString(), r.Value));
        }
        return rows;
    }

    [Fact]
    public void Reads2014And2018ReviewLines()
    {
        const string text = """
            {"reviewerID": "A1YJEY40YUW4SE", "asin": "7806397051", "reviewerName": "Andrea", "helpful": [3, 4], "reviewText": "Very oily \"x\"", "overall": 1.0, "style": {"Size:": " 1 Pack"}, "unixReviewTime": 1391040000, "reviewTime": "01 30, 2014"}

            {"overall": 4.0, "unixReviewTime": 1397779200, "reviewerID": "A3\u00c9X", "asin": "B00"}
            """;
        var rows = Read(text);
        Assert.Equal(("A1YJEY40YUW4SE", "7806397051", 1391040000L, "review", 1.0), rows[0]);
        Assert.Equal(("A3ÉX", "B00", 1397779200L, "review", 4.0), rows[1]);
    }

    [Fact]
    public void Reads2023ReviewLinesWithParentAsinAndMilliseconds()
    {
        const string text = """{"rating": 5.0, "title": "t", "images": [], "asin": "B01", "parent_asin": "P01", "user_id": "AGK", "timestamp": 1588687728923, "verified_purchase": true}""";
        Assert.Equal(("AGK", "P01", 1588687728L, "review", 5.0), Assert.Single(Read(text)));
    }

    [Fact]
    public void MissingKeysAndBadJsonAreErrorsNamingLineAndKey()
    {
        var e = Assert.Throws<DataFormatException>(() => Read("{\"reviewerID\": \"u\", \"asin\": \"i\", \"unixReviewTime\": 1}\n{\"reviewerID\": \"u\", \"unixReviewTime\": 1}\n"));
        Assert.Equal(("reviews.json", 2L, "asin"), (e.File, e.Line, e.Field));
        var t = Assert.Throws<DataFormatException>(() => Read("{\"reviewerID\": \"u\", \"asin\": \"i\", \"unixReviewTime\": -1}"));
        Assert.Equal((1L, "unixReviewTime"), (t.Line, t.Field));
        var j = Assert.Throws<DataFormatException>(() => Read("{\"reviewerID\": \"u\", \"asin\": \"i\", \"unixReviewTime\": 1}\n{\"reviewerID\": \"u\",\n"));
        Assert.Equal(2L, j.Line);
        Assert.Contains("invalid JSON", j.Message);
        var v = Assert.Throws<DataFormatException>(() => Read("{\"reviewerID\": \"u\", \"asin\": \"i\", \"unixReviewTime\": 1, \"overall\": \"5\"}"));
        Assert.Equal((1L, "overall"), (v.Line, v.Field));
    }

    [Fact]
    public void ParsingAJsonLineDoesNotAllocate()
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < 2000; i++) sb.Append("{\"reviewerID\": \"user").Append(i).Append("\", \"asin\": \"B0").Append(i).Append("\", \"helpful\": [1, 2], \"overall\": 5.0, \"unixReviewTime\": 1391040000}\n");
        string text = sb.ToString();
        for (int pass = 0; pass < 3; pass++)
        {
            using var warm = new ActionsTsvReader(new StringReader(text), "mem");
            while (warm.MoveNext()) { }
        }
        // Best of several passes, as for TSV: a per-line allocation shows in every pass, while background tier-up
        // under a loaded test run can charge a one-off allocation to this thread.
        long minimum = long.MaxValue;
        for (int pass = 0; pass < 10 && minimum > 0; pass++)
        {
            using var r = new ActionsTsvReader(new StringReader(text), "mem");
            for (int i = 0; i < 10; i++) Assert.True(r.MoveNext());
            long before = GC.GetAllocatedBytesForCurrentThread();
            int n = 0;
            while (r.MoveNext()) n++;
            minimum = Math.Min(minimum, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(1990, n);
            if (minimum > 0) Thread.Sleep(50);
        }
        Assert.True(minimum == 0, $"{minimum} bytes allocated over 1,990 lines in the best of 10 passes");
    }
}
