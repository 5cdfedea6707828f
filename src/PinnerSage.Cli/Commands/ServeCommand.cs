using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Serving;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage serve`: the HTTP API, online updates and the web page over a workspace.</summary>
internal static class ServeCommand
{
    /// <summary>The URL the quickstart suggests.</summary>
    internal const string DefaultUrls = "http://127.0.0.1:5000";

    public static Command Create()
    {
        var workspace = new Option<string>("--workspace") { Description = "Workspace folder (with workspace.json).", Required = true };
        var urls = new Option<string>("--urls")
        { Description = "Listen URLs, ';'-separated.", DefaultValueFactory = _ => DefaultUrls };
        var cache = new Option<int>("--cache")
        { Description = "Neighbour lists cached by medoid item.", DefaultValueFactory = _ => 100_000 };
        var verbose = new Option<bool>("--verbose") { Description = "Log every request." };
        var cmd = new Command("serve",
            "Serve a workspace over HTTP: users, interests, recommendations with reasons, similar items, online actions, " +
            "health, metrics, the OpenAPI document (/openapi/v1.json) and the web page (/).")
        {
            workspace, urls, cache, verbose,
        };
        var retrieval = new RetrievalSettingsOptions();
        retrieval.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var options = new ServeOptions
            {
                Retrieval = retrieval.Resolve(pr),
                Workspace = pr.GetValue(workspace)!,
                Urls = pr.GetValue(urls),
                NeighborCacheCapacity = pr.GetValue(cache),
                Verbose = pr.GetValue(verbose),
            };
            options.Validate();
            WebApplication app = ServingApp.Build(options);
            Console.Error.WriteLine($"pinnersage serve: {Path.GetFullPath(options.Workspace)} on {options.Urls} (page: {PageUrl(options.Urls!)}; Ctrl+C stops)");
            app.Run();
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>The page's URL for the first of <paramref name="urls"/>.</summary>
    internal static string PageUrl(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries)[0].TrimEnd('/') + "/";
}
