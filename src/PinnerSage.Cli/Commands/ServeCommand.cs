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
        var apiKey = new Option<string?>("--api-key")
        { Description = $"Key required on writes (POST), ≥ {ServeOptions.MinApiKeyLength} characters; visible to other local users in the process list, so prefer --api-key-file or {ApiKeyVariable}." };
        var apiKeyFile = new Option<string?>("--api-key-file") { Description = "File holding the write key (its first line)." };
        var allowAnonymous = new Option<bool>("--allow-anonymous")
        { Description = "Allow listening beyond loopback without an API key (anyone who reaches the port can write)." };
        var writesPerSecond = new Option<int>("--writes-per-second")
        { Description = "Write requests accepted per client address and second; more get 429 (0: no limit).", DefaultValueFactory = _ => 1000 };
        var cmd = new Command("serve",
            "Serve a workspace over HTTP: users, interests, recommendations with reasons, similar items, online actions, " +
            "health, metrics, the OpenAPI document (/openapi/v1.json) and the web page (/).")
        {
            workspace, urls, cache, verbose, apiKey, apiKeyFile, allowAnonymous, writesPerSecond,
        };
        var retrieval = new RetrievalSettingsOptions();
        retrieval.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var options = new ServeOptions
            {
                Retrieval = pr.GetValue(retrieval.Settings) is null && pr.GetValue(retrieval.Policy) is null && pr.GetValue(retrieval.Tau) is null
                    ? null : retrieval.Resolve(pr),
                Workspace = pr.GetValue(workspace)!,
                Urls = pr.GetValue(urls),
                NeighborCacheCapacity = pr.GetValue(cache),
                Verbose = pr.GetValue(verbose),
                ApiKey = ApiKey(pr.GetValue(apiKeyFile), pr.GetValue(apiKey)),
                AllowAnonymous = pr.GetValue(allowAnonymous),
                WritesPerSecond = pr.GetValue(writesPerSecond),
            };
            options.Validate();
            WebApplication app = ServingApp.Build(options);
            Console.Error.WriteLine($"pinnersage serve: {Path.GetFullPath(options.Workspace)} on {options.Urls} (page: {PageUrl(options.Urls!)}; " +
                                    $"writes {(options.ApiKey is null ? "open to anyone who reaches the port" : "need the API key")}; Ctrl+C stops)");
            app.Run();
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>The environment variable holding the write key when neither option gives one.</summary>
    internal const string ApiKeyVariable = "PINNERSAGE_API_KEY";

    /// <summary>The write key: the key file's first line, else --api-key, else <see cref="ApiKeyVariable"/>; null: none.</summary>
    private static string? ApiKey(string? file, string? option)
    {
        if (file is not null)
        {
            string? line = File.ReadLines(file).FirstOrDefault()?.Trim();
            return string.IsNullOrEmpty(line) ? throw new ArgumentException($"--api-key-file: {file} holds no key on its first line.") : line;
        }
        return option ?? (Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } key ? key.Trim() : null);
    }

    /// <summary>The page's URL for the first of <paramref name="urls"/>.</summary>
    internal static string PageUrl(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries)[0].TrimEnd('/') + "/";
}
