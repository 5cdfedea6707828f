using System.CommandLine;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.IO;
using PinnerSage.Retrieval;
using PinnerSage.Serving;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage similar`: the items nearest to one item (item-to-item), through the same index as
/// `recommend`, the item itself (and its near-duplicate twin in a refined index) excluded.</summary>
internal static class SimilarCommand
{
    public static Command Create()
    {
        var index = new Option<string?>("--index") { Description = "HNSW index (from `index build`); carries the item ids and vectors." };
        var embeddings = new Option<string?>("--embeddings")
        { Description = "Item vectors .npy: the table for an index without ids, or, without --index, searched exactly." };
        var ids = new Option<string?>("--ids") { Description = "Item ids of --embeddings (default: beside the .npy)." };
        var metric = new Option<string>("--metric")
        { Description = "Metric of the exact search without --index: ip, cosine or l2.", DefaultValueFactory = _ => "cosine" };
        var item = new Option<string>("--item") { Description = "Item id.", Required = true };
        var k = new Option<int>("--k") { Description = "Similar items.", DefaultValueFactory = _ => 10 };
        var items = new Option<string?>("--items") { Description = "items.tsv (or movies.csv, Amazon metadata) for titles." };
        Option<bool> json = CliJson.CreateOption();
        var cmd = new Command("similar", "Items similar to one item, through the same index as recommend.")
        {
            index, embeddings, ids, metric, item, k, items, json,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            int count = pr.GetValue(k);
            string itemId = pr.GetValue(item)!;
            string? itemsPath = pr.GetValue(items);
            ItemCatalog? catalog = itemsPath is null ? null : ItemCatalog.Load(itemsPath);
            using RetrievalInputs inputs = RetrievalInputs.Open(pr.GetValue(index), pr.GetValue(embeddings), pr.GetValue(ids),
                                                                RetrievalInputs.ParseMetric(pr.GetValue(metric)!));
            if (!inputs.Items.TryGetRow(itemId, out int row))
            {
                Console.Error.WriteLine($"error: no item '{itemId}' in {inputs.Items.Source}.");
                return ExitCodes.NotFound;
            }
            var recommender = new Recommender(inputs.Index, inputs.Items);
            var results = new SimilarItem[count];
            int n = recommender.Similar(row, count, results);
            if (pr.GetValue(json))
            {
                CliJson.Write(ApiResponses.Similar(inputs.Items, row, results.AsSpan(0, n), r => catalog?.Title(inputs.Items.Id(r)),
                                                   catalog is { HasImages: true } ? r => catalog.ImageUrl(inputs.Items.Id(r)) : null));
                return ExitCodes.Ok;
            }
            IAnsiConsole console = AnsiConsole.Console;
            string title = catalog?.Title(itemId) is string t ? $" {t}" : "";
            console.MarkupLine(Markup.Escape($"{itemId}{title}: {n} similar items from {inputs.Description}"));
            var table = new Table().AddColumns("#", "item", "title", "similarity");
            table.Columns[3].RightAligned();
            for (int i = 0; i < n; i++)
            {
                string id = inputs.Items.Id(results[i].Item);
                table.AddRow((i + 1).ToString(CultureInfo.InvariantCulture), Markup.Escape(id),
                             Markup.Escape(catalog?.Title(id) ?? ""),
                             results[i].Similarity.ToString("F3", CultureInfo.InvariantCulture));
            }
            console.Write(table);
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
