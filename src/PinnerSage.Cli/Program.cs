using System.CommandLine;
using PinnerSage.Cli.Commands;
using PinnerSage.Cli.Infrastructure;
using Spectre.Console;

AnsiConsole.Console = CliConsole.ForStandardOutput();
var root = new RootCommand("pinnersage: PinnerSage multi-embedding user profiles and ItemSage item embeddings.");
root.Subcommands.Add(QuickstartCommand.Create());
root.Subcommands.Add(SynthCommand.Create());
root.Subcommands.Add(ProfilesCommand.Create());
root.Subcommands.Add(ClusterCommand.Create());
root.Subcommands.Add(EmbeddingsCommand.Create());
root.Subcommands.Add(RecommendCommand.Create());
root.Subcommands.Add(SimilarCommand.Create());
root.Subcommands.Add(IndexCommand.Create());
root.Subcommands.Add(ItemSageCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(TuneCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(WorkspaceCommand.Create());
root.Subcommands.Add(CompletionCommand.Create());
UsageErrors.AddVerbose(root);
OptionRanges.Apply(root);

ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0) return UsageErrors.Report(parsed);
CommandRunner.Verbose = args.Contains("--verbose");
CommandRunner.Current = parsed.CommandResult.Command;
try
{
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    return CommandRunner.Report(e);
}
