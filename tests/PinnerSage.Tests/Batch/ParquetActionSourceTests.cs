using Parquet;
using Parquet.Schema;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Tests.Profiles;

namespace PinnerSage.Tests.Batch;

/// <summary>Parquet actions go through the same batch pipeline as actions.tsv and give the same profiles.</summary>
public sealed class ParquetActionSourceTests
{
    internal static async Task WriteParquet(string path, IReadOnlyList<TestAction> actions, int rowGroups, bool withAction = true)
    {
        var fields = new List<DataField> { new DataField<long>("timestamp"), new DataField<string>("item_id"), new DataField<string>("user_id") };
        if (withAction) fields.Add(new DataField<string>("action"));
        var schema = new ParquetSchema(fields.ToArray());
        await using FileStream stream = File.Create(path);
        await using ParquetWriter writer = await ParquetWriter.CreateAsync(schema, stream);
        int per = (actions.Count + rowGroups - 1) / rowGroups;
        for (int start = 0; start < actions.Count; start += per)
        {
            TestAction[] part = [.. actions.Skip(start).Take(per)];
            using ParquetRowGroupWriter group = writer.CreateRowGroup();
            await group.WriteAsync<long>(fields[0], part.Select(a => a.Time).ToArray().AsMemory());
            await group.WriteAsync(fields[1], part.Select(a => a.Item).ToArray());
            await group.WriteAsync(fields[2], part.Select(a => a.User).ToArray());
            if (withAction) await group.WriteAsync(fields[3], part.Select(a => a.Action).ToArray());
        }
    }

    [Fact]
    public async Task A_parquet_file_in_several_row_groups_gives_the_tsv_files_profiles_byte_for_byte()
    {
        TestWorld world = TestWorld.Create(users: 200, seed: 51);
        var options = new ProfileOptions { ActionWeights = ProfileOptions.ParseActionWeights("save=2"), KeepSingletons = true };
        (string expected, BatchSummary s) = ProfileBatchJobTests.RunOnFile(world, TestWorld.Tsv(world.Shuffled(7)), options);
        Assert.True(s.UsersWritten > 150);

        using var dir = new TempDir();
        await WriteParquet(dir.File("actions.parquet"), [.. world.Shuffled(7)], rowGroups: 3);
        ParquetActionSource source = ParquetActionSource.Open(dir.File("actions.parquet"));
        Assert.Equal(world.Actions.Count, await source.ReadAllAsync().CountAsync());
        var sink = new ProfileBatchJobTests.MemorySink();
        new ProfileBatchJob(world.Items, options, new BatchOptions()).Run(source, [sink]);
        Assert.Equal(expected, sink.Text);
    }

    [Fact]
    public async Task A_missing_column_or_a_bad_id_is_a_data_error_naming_it()
    {
        TestWorld world = TestWorld.Create(users: 10, seed: 52);
        using var dir = new TempDir();
        var schema = new ParquetSchema(new DataField<string>("user_id"), new DataField<long>("timestamp"));
        await using (FileStream stream = File.Create(dir.File("no-item.parquet")))
        await using (ParquetWriter writer = await ParquetWriter.CreateAsync(schema, stream))
        {
            using ParquetRowGroupWriter group = writer.CreateRowGroup();
            await group.WriteAsync(schema.DataFields[0], new[] { "u1" });
            await group.WriteAsync<long>(schema.DataFields[1], new long[] { 1 }.AsMemory());
        }
        var e = await Assert.ThrowsAsync<DataFormatException>(async () => await ParquetActionSource.Open(dir.File("no-item.parquet")).ReadAllAsync().CountAsync());
        Assert.Contains("item_id", e.Message);

        List<TestAction> actions = [.. world.Sorted()];
        actions[4] = actions[4] with { User = "bad\nid" };
        await WriteParquet(dir.File("bad.parquet"), actions, rowGroups: 1, withAction: false);
        e = Assert.Throws<DataFormatException>(() => new ProfileBatchJob(world.Items, new ProfileOptions(), new BatchOptions())
            .Run(ParquetActionSource.Open(dir.File("bad.parquet")), [new ProfileBatchJobTests.MemorySink()]));
        Assert.Contains("user_id", e.Message);
        Assert.Contains("bad.parquet", e.Message);
    }
}
