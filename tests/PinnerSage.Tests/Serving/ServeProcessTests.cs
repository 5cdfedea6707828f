using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using PinnerSage.Serving;
using PinnerSage.Storage;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.Serving;

/// <summary>`pinnersage serve` as a real process: acknowledged events survive a crash (SIGKILL) and are served by the
/// next process on the same workspace.</summary>
public sealed class ServeProcessTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private static async Task<(Process Process, HttpClient Client)> Start(string workspace)
    {
        string url = $"http://127.0.0.1:{ServingFixture.FreePort()}";
        var psi = new ProcessStartInfo(CliProcess.Host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { CliProcess.Dll, "serve", "--workspace", workspace, "--urls", url }) psi.ArgumentList.Add(a);
        Process p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await client.GetAsync("/health")).IsSuccessStatusCode) return (p, client);
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (p.HasExited || clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"pinnersage serve did not come up (exited: {p.HasExited}).");
            }
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Acknowledged_events_survive_a_killed_server_process()
    {
        string ws = fixture.CloneWorkspace();
        string user = fixture.World.UserId(3);
        var acknowledged = new List<long>();
        (Process first, HttpClient client) = await Start(ws);
        try
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            await Task.WhenAll(Enumerable.Range(0, 4).Select(async c =>
            {
                for (int i = 0; i < 10; i++)
                {
                    HttpResponseMessage r = await client.PostAsJsonAsync($"/v1/users/{user}/actions",
                        new { item_id = fixture.World.ItemId(c * 10 + i), action = "click", timestamp = now - 100 + c * 10 + i });
                    r.EnsureSuccessStatusCode();
                    long s = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("sequences")[0].GetInt64();
                    lock (acknowledged) acknowledged.Add(s);
                }
            }));
        }
        finally
        {
            first.Kill(entireProcessTree: true); // a crash: no graceful shutdown
            await first.WaitForExitAsync();
            client.Dispose();
        }
        Assert.Equal(40, acknowledged.Count);

        (Process second, HttpClient again) = await Start(ws);
        try
        {
            JsonElement interests = JsonDocument.Parse(await again.GetStringAsync($"/v1/users/{user}/interests")).RootElement;
            Assert.Equal(20, interests.GetProperty("pending_events").GetInt32());
        }
        finally
        {
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
            again.Dispose();
        }
        using IProfileStore store = ProfileStores.Open(Workspace.Load(ws).StoreLocation);
        var logged = store.ReadEvents(0, store.LastEventSequence()).Where(e => e.Event.UserId == user).Select(e => e.Sequence).ToHashSet();
        Assert.Superset(acknowledged.ToHashSet(), logged);
    }
}
