using PinnerSage.Cli.Commands;
using PinnerSage.IO;
using PinnerSage.Synthetic;
using Spectre.Console;

namespace PinnerSage.Tests.ItemSage.Training;

public sealed class ItemSageQuickstartTests
{
    [Fact]
    public void Quickstart_hook_trains_a_small_model_and_embeds_the_whole_world()
    {
        using var dir = new TempDir();
        var world = SyntheticWorld.Create(new SyntheticWorldOptions { Users = 200, Items = 500, Topics = 20, Days = 30, Dimension = 16, Seed = 3 });
        SyntheticWorldWriter.Write(world, dir.Path, 1);
        var text = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(text),
        });
        string npy = ItemSageCommand.QuickstartEmbeddings(dir.Path, seed: 3, console, seconds: 2);
        using ItemEmbeddings e = ItemEmbeddings.Load(npy);
        Assert.Equal(500, e.Count);
        Assert.True(File.Exists(Path.Combine(dir.Path, "itemsage", "model", "tower.bin")));
        Assert.Contains("ItemSage", text.ToString());
    }
}
