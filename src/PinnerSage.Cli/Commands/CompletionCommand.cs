using System.CommandLine;
using PinnerSage.Cli.Infrastructure;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage completion bash|zsh`: prints a completion script for the shell. The scripts ask the tool itself
/// through System.CommandLine's <c>[suggest:POSITION]</c> directive (what the dotnet-suggest global tool does), so
/// completions always match the installed version's commands and options and need no extra tool.</summary>
internal static class CompletionCommand
{
    // The line up to the cursor, without the program name, is what the directive completes.
    internal const string Bash = """
        # pinnersage completion for bash. Load it with: eval "$(pinnersage completion bash)"
        _pinnersage_complete()
        {
            local line="${COMP_LINE:0:COMP_POINT}"
            local rest=""
            [[ "$line" == *[[:space:]]* ]] && rest="${line#*[[:space:]]}"
            local IFS=$'\n'
            COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${#rest}]" "$rest" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _pinnersage_complete pinnersage
        """;

    internal const string Zsh = """
        #compdef pinnersage
        # pinnersage completion for zsh. Load it with: eval "$(pinnersage completion zsh)"
        _pinnersage() {
          local rest="${(j: :)words[2,CURRENT]}"
          local -a candidates
          candidates=("${(@f)$("${words[1]}" "[suggest:${#rest}]" "$rest" 2>/dev/null)}")
          compadd -- $candidates
        }
        compdef _pinnersage pinnersage
        """;

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh." };
        var cmd = new Command("completion", "Print a shell completion script (bash or zsh); e.g. eval \"$(pinnersage completion bash)\" in ~/.bashrc.")
        {
            shell,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            string script = pr.GetValue(shell) switch
            {
                "bash" => Bash,
                "zsh" => Zsh,
                var other => throw new ArgumentException($"the shell must be bash or zsh, not '{other}'."),
            };
            Console.Out.WriteLine(script);
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
