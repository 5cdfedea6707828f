using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Serving;

/// <summary>One headless Debian Chromium (driven by Microsoft.Playwright) and one real server over a private copy of the
/// <see cref="ServingFixture"/> workspace, shared by the tests of <see cref="WebPageTests"/>. Nothing is downloaded: the
/// package's Node driver sits beside the test assembly and the browser is <see cref="ChromiumPath"/>.</summary>
public sealed class WebPageFixture : IAsyncLifetime
{
    /// <summary>Debian's Chromium (<c>apt-get install chromium</c>); the environment variable PINNERSAGE_CHROMIUM
    /// names another Chromium build.</summary>
    public static readonly string ChromiumPath =
        Environment.GetEnvironmentVariable("PINNERSAGE_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private ServingFixture? _serving;
    private IPlaywright? _playwright;

    /// <summary>The browser, or null when Chromium is not installed.</summary>
    public IBrowser? Browser { get; private set; }

    /// <summary>The running server (null when Chromium is not installed: nothing to test then).</summary>
    public RunningServer? Server { get; private set; }

    /// <summary>The served workspace (a private clone: its own store).</summary>
    public string? WorkspaceDirectory { get; private set; }

    /// <summary>The served workspace's profile options (λ, window, weights).</summary>
    public PinnerSage.Profiles.ProfileOptions? ProfileOptions => _serving?.Workspace.ProfileOptions;

    /// <summary>True when Debian's Chromium is installed.</summary>
    public static bool ChromiumInstalled => File.Exists(ChromiumPath);

    public async Task InitializeAsync()
    {
        if (!ChromiumInstalled) return;
        // Belt and braces: the Node driver never fetches a browser when launched with an executable path, and these
        // make sure no code path tries to.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_VALIDATE_HOST_REQUIREMENTS", "1");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Chromium refuses its sandbox as root (CI runs as root); the page is our own, served from loopback. A
            // container's small /dev/shm would crash the renderer.
            Args = Environment.UserName == "root" ? ["--no-sandbox", "--disable-dev-shm-usage"] : ["--disable-dev-shm-usage"],
            Timeout = 60_000,
        });
        _serving = new ServingFixture();
        WorkspaceDirectory = _serving.CloneWorkspace();
        Server = await _serving.StartAsync(WorkspaceDirectory);
    }

    /// <summary>A second server over a clone whose catalogue has an image URL column (a generated SVG per item, as a
    /// data: URL, so nothing leaves the machine) and which holds an evaluation report made by <c>pinnersage eval</c>.</summary>
    public async Task<RunningServer> StartWithImagesAndReportAsync()
    {
        string dir = _serving!.CloneWorkspace();
        var workspace = PinnerSage.Serving.Workspace.Load(dir);
        string[] lines = File.ReadAllLines(workspace.ItemsPath!);
        string items = Path.Combine(dir, "items-with-images.tsv");
        File.WriteAllLines(items, lines.Select((line, i) => line + "\t" + (i == 0 ? "image_url" : ImageUrl(line[..line.IndexOf('\t')]))));
        (workspace with { ItemsPath = items }).Save();
        (int exit, string stdout, string stderr) = PinnerSage.Tests.Cli.CliProcess.Run(
            ["eval", "--dataset", _serving.WorldDirectory, "--embeddings", "item", "--max-users", "40", "--bootstrap", "10",
             "--curve-max", "0", "--html", Path.Combine(dir, PinnerSage.Serving.Workspace.ReportFile)]);
        Assert.True(exit == 0, stdout + stderr);
        return await _serving.StartAsync(dir);
    }

    /// <summary>The generated picture of an item: a small SVG with its id, base64 in a data: URL.</summary>
    public static string ImageUrl(string itemId) => "data:image/svg+xml;base64," + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(
        $"<svg xmlns='http://www.w3.org/2000/svg' width='40' height='40'><rect width='40' height='40' fill='#369'/><text x='2' y='24' font-size='9' fill='#fff'>{itemId}</text></svg>"));

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
        _serving?.Dispose();
    }
}

/// <summary>The web page end to end: the real server, the real page, a real browser. Each test uses its own users, so
/// the order of the tests does not matter although they share one server.</summary>
public sealed class WebPageTests(WebPageFixture fixture, ITestOutputHelper output) : IClassFixture<WebPageFixture>
{
    private static readonly string MissingChromium = $"Debian's Chromium at {WebPageFixture.ChromiumPath} (apt-get install chromium)";

    [Fact]
    public async Task SearchingAUserByPrefixShowsTheirClustersAndRecommendationsWithReasons()
    {
        if (!TestData.RequireOrSkip(WebPageFixture.ChromiumInstalled, MissingChromium, output)) return;
        await using Session s = await OpenPageAsync();
        IReadOnlyList<string> users = await UsersAsync();
        string user = users[Math.Min(5, users.Count - 1)];
        string prefix = user[..^1];
        List<string> expectedSuggestions = (await GetJsonAsync($"/v1/users?limit=10&prefix={Uri.EscapeDataString(prefix)}"))
            .RootElement.GetProperty("users").EnumerateArray().Select(u => u.GetString()!).ToList();
        Assert.Contains(user, expectedSuggestions);

        // Type the prefix; the combobox lists the server's completions; choose the user with the keyboard.
        await s.Page.GetByRole(AriaRole.Combobox, new() { Name = "User id" }).PressSequentiallyAsync(prefix);
        ILocator options = s.Page.GetByRole(AriaRole.Option);
        await Assertions.Expect(options).ToHaveTextAsync([.. expectedSuggestions]);
        for (int i = 0; i <= expectedSuggestions.IndexOf(user); i++) await s.Page.Keyboard.PressAsync("ArrowDown");
        await s.Page.Keyboard.PressAsync("Enter");

        await Assertions.Expect(s.Page.Locator("#profile-user")).ToHaveTextAsync(user);
        JsonElement interests = (await GetJsonAsync($"/v1/users/{user}/interests")).RootElement;
        JsonElement recs = (await GetJsonAsync($"/v1/users/{user}/recommendations?k=20&medoids=3")).RootElement;
        List<JsonElement> clusters = interests.GetProperty("clusters").EnumerateArray().ToList();
        Assert.NotEmpty(clusters);

        // Every cluster: medoid id and title, importance bar, size and members as the API says, in the API's order.
        ILocator cards = s.Page.Locator("#clusters > li.cluster");
        await Assertions.Expect(cards).ToHaveCountAsync(clusters.Count);
        for (int c = 0; c < clusters.Count; c++)
        {
            JsonElement medoid = clusters[c].GetProperty("medoid");
            ILocator card = cards.Nth(c);
            ILocator medoidButton = card.Locator("button.item.medoid");
            Assert.Equal(medoid.GetProperty("item_id").GetString(), await medoidButton.GetAttributeAsync("data-item"));
            string title = medoid.GetProperty("title").GetString()!;
            Assert.False(string.IsNullOrWhiteSpace(title), "the fixture's catalogue gives every medoid a title");
            Assert.Equal(title, await medoidButton.Locator(".item-title").InnerTextAsync());
            Assert.Equal(clusters[c].GetProperty("size").GetInt32().ToString(), await card.Locator(".size-value").InnerTextAsync());
            Assert.Equal(clusters[c].GetProperty("source").GetString(), await card.Locator(".source").InnerTextAsync());
            Assert.Contains("importance", await card.Locator("[role=img]").GetAttributeAsync("aria-label"));
            Assert.Equal(clusters[c].GetProperty("members").GetArrayLength(), await card.Locator(".member-list button.item").CountAsync());
        }
        Assert.Equal(clusters.Count.ToString(), await s.Page.Locator("#fact-clusters").InnerTextAsync());

        // Every recommendation with its reason: the medoid (a medoid of one of the user's clusters) and the cluster.
        List<JsonElement> items = recs.GetProperty("items").EnumerateArray().ToList();
        Assert.NotEmpty(items);
        ILocator rows = s.Page.Locator("#recs-body tr[data-item]");
        await Assertions.Expect(rows).ToHaveCountAsync(items.Count);
        var medoidIds = clusters.Select(c => c.GetProperty("medoid").GetProperty("item_id").GetString()).ToHashSet();
        for (int r = 0; r < items.Count; r++)
        {
            ILocator row = rows.Nth(r);
            Assert.Equal(items[r].GetProperty("item_id").GetString(), await row.GetAttributeAsync("data-item"));
            string reasonMedoid = items[r].GetProperty("reason").GetProperty("medoid").GetProperty("item_id").GetString()!;
            Assert.Contains(reasonMedoid, medoidIds);
            Assert.Equal(reasonMedoid, await row.Locator(".reason button.item.medoid").GetAttributeAsync("data-item"));
            Assert.Equal(items[r].GetProperty("score").GetDouble().ToString("F3", System.Globalization.CultureInfo.InvariantCulture),
                         await row.Locator(".score").InnerTextAsync());
        }

        // Every visible control has an accessible name (a label, aria-label/-labelledby, or a button's text).
        string[] unnamed = await s.Page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('input, select, textarea, button')]
              .filter(e => e.offsetParent !== null)
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')
                           && !(e.tagName === 'BUTTON' && e.textContent.trim()))
              .map(e => e.id || e.tagName)
            """);
        Assert.Empty(unnamed);

        // Activating a recommendation with the keyboard opens its similar items, as the API lists them; Escape
        // closes them and gives the focus back.
        string firstItem = items[0].GetProperty("item_id").GetString()!;
        ILocator firstItemButton = rows.First.Locator("td:nth-child(2) button.item");
        await firstItemButton.FocusAsync();
        await s.Page.Keyboard.PressAsync("Enter");
        JsonElement similar = (await GetJsonAsync($"/v1/items/{firstItem}/similar?k=20")).RootElement;
        ILocator similarItems = s.Page.Locator("#similar-list button.item");
        await Assertions.Expect(similarItems).ToHaveCountAsync(similar.GetProperty("items").GetArrayLength());
        Assert.Equal(similar.GetProperty("items")[0].GetProperty("item_id").GetString(), await similarItems.First.GetAttributeAsync("data-item"));
        await Assertions.Expect(s.Page.Locator("#similar-title")).ToBeFocusedAsync();
        await s.ScreenshotAsync("profile");
        await s.Page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(s.Page.Locator("#similar")).ToBeHiddenAsync();
        await Assertions.Expect(firstItemButton).ToBeFocusedAsync();

        // The user list and "Random user" open users too (the list comes from GET /v1/users).
        await Assertions.Expect(s.Page.Locator("#user-list a.user-link").First).ToHaveTextAsync(users[0]);
        await s.Page.GetByRole(AriaRole.Button, new() { Name = "Random user" }).ClickAsync();
        await Assertions.Expect(s.Page.Locator("#clusters > li.cluster").First).ToBeVisibleAsync();
        Assert.Contains(await s.Page.Locator("#profile-user").InnerTextAsync(), users);

        s.AssertClean();
    }

    [Fact]
    public async Task PostingAnActionUpdatesTheProfileAtOnceAndHighlightsTheChange()
    {
        if (!TestData.RequireOrSkip(WebPageFixture.ChromiumInstalled, MissingChromium, output)) return;
        (Session opened, string user) = await OpenUserAsync(11);
        await using Session s = opened;
        ILocator rows = s.Page.Locator("#recs-body tr[data-item]");
        await Assertions.Expect(rows.First).ToBeVisibleAsync();
        JsonElement before = (await GetJsonAsync($"/v1/users/{user}/interests")).RootElement;
        int pendingBefore = before.GetProperty("pending_events").GetInt32();
        Assert.Equal(pendingBefore.ToString(), await s.Page.Locator("#fact-pending").InnerTextAsync());
        List<string> recsBefore = [.. (await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.dataset.item)"))];

        // Post a click on the top recommendation through the form (its id is among the form's completions).
        string item = recsBefore[0];
        Assert.Contains(item, await s.Page.Locator("#action-item-options option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)"));
        await s.Page.GetByLabel("Item id", new() { Exact = true }).FillAsync(item);
        await s.Page.GetByLabel("Action", new() { Exact = true }).FillAsync("click");
        await s.Page.GetByRole(AriaRole.Button, new() { Name = "Post action" }).ClickAsync();

        await Assertions.Expect(s.Page.Locator("#action-result")).ToContainTextAsync("Accepted 1 event");
        await Assertions.Expect(s.Page.Locator("#change-summary")).ToBeVisibleAsync();
        await Assertions.Expect(s.Page.Locator("#fact-pending")).ToHaveTextAsync((pendingBefore + 1).ToString());

        // The page shows what the API now serves: the posted item is in a cluster fed by the online action.
        JsonElement after = (await GetJsonAsync($"/v1/users/{user}/interests")).RootElement;
        Assert.Equal(pendingBefore + 1, after.GetProperty("pending_events").GetInt32());
        JsonElement home = after.GetProperty("clusters").EnumerateArray().Single(c =>
            c.GetProperty("medoid").GetProperty("item_id").GetString() == item
            || c.GetProperty("members").EnumerateArray().Any(m => m.GetProperty("item_id").GetString() == item));
        Assert.NotEqual("batch", home.GetProperty("source").GetString());
        ILocator homeCard = s.Page.Locator("#clusters > li.cluster", new() { Has = s.Page.Locator(".badge.posted") });
        await Assertions.Expect(homeCard).ToHaveCountAsync(1);
        Assert.Equal(home.GetProperty("medoid").GetProperty("item_id").GetString(), await homeCard.GetAttributeAsync("data-medoid"));
        Assert.Equal(home.GetProperty("source").GetString(), await homeCard.Locator(".source").InnerTextAsync());
        // A new cluster is badged "new"; a batch cluster the action folded into shows its growth.
        Assert.Equal(1, await homeCard.Locator(".badge.new, .badge.changed").CountAsync());
        await Assertions.Expect(s.Page.Locator("#change-summary")).ToContainTextAsync($"Pending events {pendingBefore} → {pendingBefore + 1}");

        // Recommendations were re-fetched: the engaged item is gone and the new entries are highlighted.
        List<string> recsAfter = (await GetJsonAsync($"/v1/users/{user}/recommendations?k=20&medoids=3")).RootElement
            .GetProperty("items").EnumerateArray().Select(r => r.GetProperty("item_id").GetString()!).ToList();
        Assert.DoesNotContain(item, recsAfter);
        await Assertions.Expect(rows).ToHaveCountAsync(recsAfter.Count);
        Assert.Equal(recsAfter, await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.dataset.item)"));
        int fresh = recsAfter.Count(id => !recsBefore.Contains(id));
        Assert.True(fresh > 0, "the recommendations changed");
        Assert.Equal(fresh, await s.Page.Locator("#recs-body tr.highlight").CountAsync());
        await s.ScreenshotAsync("after-action");
        s.AssertClean();
    }

    [Fact]
    public async Task TheMapPlacesEveryEngagedItemByClusterMarksMedoidsAndFollowsAPostedAction()
    {
        if (!TestData.RequireOrSkip(WebPageFixture.ChromiumInstalled, MissingChromium, output)) return;
        (Session opened, string user) = await OpenUserAsync(17);
        await using Session s = opened;
        JsonElement map = (await GetJsonAsync($"/v1/users/{user}/map")).RootElement;
        JsonElement[] clusters = [.. (await GetJsonAsync($"/v1/users/{user}/interests")).RootElement.GetProperty("clusters").EnumerateArray()];
        JsonElement[] points = [.. map.GetProperty("points").EnumerateArray()];
        Assert.Equal(clusters.Length, map.GetProperty("clusters").GetInt32());

        // One mark per engaged item; each cluster's medoid is its one ringed mark, coloured like the cluster's card.
        ILocator marks = s.Page.Locator("#interest-map circle.map-point");
        await Assertions.Expect(marks).ToHaveCountAsync(points.Length);
        Assert.Equal(points.Select(p => p.GetProperty("item_id").GetString()).Order(StringComparer.Ordinal),
                     (await marks.EvaluateAllAsync<string[]>("ms => ms.map(m => m.dataset.item)")).Order(StringComparer.Ordinal));
        string[] cardColours = await s.Page.Locator("#clusters > li.cluster .cluster-head .swatch")
            .EvaluateAllAsync<string[]>("ss => ss.map(x => getComputedStyle(x).backgroundColor)");
        Assert.Equal(clusters.Length, cardColours.Length);
        for (int c = 0; c < clusters.Length; c++)
        {
            string medoid = clusters[c].GetProperty("medoid").GetProperty("item_id").GetString()!;
            ILocator ringed = s.Page.Locator($"#interest-map circle.map-medoid[data-cluster='{c}']");
            await Assertions.Expect(ringed).ToHaveCountAsync(1);
            Assert.Equal(medoid, await ringed.GetAttributeAsync("data-item"));
            string[] colours = await s.Page.Locator($"#interest-map circle[data-cluster='{c}']")
                .EvaluateAllAsync<string[]>("ms => ms.map(m => getComputedStyle(m).fill)");
            Assert.All(colours, colour => Assert.Equal(cardColours[c], colour));
            int members = points.Count(p => p.GetProperty("cluster").GetInt32() == c);
            Assert.Equal(members, colours.Length);
        }
        // Positions follow the server's projection: the order along each axis is the same on screen.
        string[] byX = [.. points.OrderBy(p => p.GetProperty("x").GetDouble()).Select(p => p.GetProperty("item_id").GetString()!)];
        string[] screenX = await marks.EvaluateAllAsync<string[]>(
            "ms => ms.sort((a, b) => a.cx.baseVal.value - b.cx.baseVal.value).map(m => m.dataset.item)");
        Assert.Equal(byX.First(), screenX.First());
        Assert.Equal(byX.Last(), screenX.Last());

        // Posting an action on an item the user never engaged puts it on the map.
        string posted = (await GetJsonAsync($"/v1/users/{user}/recommendations?k=5&medoids=3")).RootElement
            .GetProperty("items")[0].GetProperty("item_id").GetString()!;
        Assert.DoesNotContain(posted, points.Select(p => p.GetProperty("item_id").GetString()));
        await s.Page.GetByLabel("Item id", new() { Exact = true }).FillAsync(posted);
        await s.Page.GetByRole(AriaRole.Button, new() { Name = "Post action" }).ClickAsync();
        await Assertions.Expect(s.Page.Locator($"#interest-map circle[data-item='{posted}']")).ToHaveCountAsync(1);
        int after = (await GetJsonAsync($"/v1/users/{user}/map")).RootElement.GetProperty("points").GetArrayLength();
        await Assertions.Expect(marks).ToHaveCountAsync(after);
        s.AssertClean();
    }

    [Fact]
    public async Task ImportanceIsShownAsOfAStatedTimeConsistentWithTheCli()
    {
        if (!TestData.RequireOrSkip(WebPageFixture.ChromiumInstalled, MissingChromium, output)) return;
        (Session opened, string user) = await OpenUserAsync(23);
        await using Session s = opened;
        JsonElement interests = (await GetJsonAsync($"/v1/users/{user}/interests")).RootElement;
        long asOf = interests.GetProperty("importance_as_of").GetInt64();
        // The page says when its importances are from: the served profile's now (the fixture's clock).
        Assert.Equal(ServingFixture.Now.ToUnixTimeSeconds(), asOf);
        await Assertions.Expect(s.Page.Locator("#fact-as-of"))
            .ToHaveTextAsync(DateTimeOffset.FromUnixTimeSeconds(asOf).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " UTC");

        // The CLI states its own time (the batch run's now); the same batch cluster decayed from that time to the page's
        // time is exactly what the page shows.
        string store = Path.Combine(fixture.WorkspaceDirectory!, PinnerSage.Serving.Workspace.DefaultStore);
        (int exit, string json, string err) = PinnerSage.Tests.Cli.CliProcess.Run(["profiles", "show", "--store", store, "--user", user, "--json"]);
        Assert.True(exit == 0, err);
        JsonElement cli = JsonDocument.Parse(json).RootElement;
        long cliAsOf = cli.GetProperty("importance_as_of").GetInt64();
        Assert.Equal(interests.GetProperty("batch_now").GetInt64(), cliAsOf);
        (exit, string text, _) = PinnerSage.Tests.Cli.CliProcess.Run(["profiles", "show", "--store", store, "--user", user]);
        Assert.Contains($"importance as of {DateTimeOffset.FromUnixTimeSeconds(cliAsOf).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)} UTC", text);
        double decay = Math.Exp(-fixture.ProfileOptions!.DecayLambda * (asOf - cliAsOf) / 86_400.0);
        string[] shown = await s.Page.Locator("#clusters .importance-value").AllInnerTextsAsync() is var t ? [.. t] : [];
        JsonElement[] served = [.. interests.GetProperty("clusters").EnumerateArray()];
        Assert.Equal(served.Length, shown.Length);
        foreach (JsonElement c in cli.GetProperty("clusters").EnumerateArray())
        {
            string medoid = c.GetProperty("medoid").GetProperty("item_id").GetString()!;
            JsonElement page = served.Single(x => x.GetProperty("medoid").GetProperty("item_id").GetString() == medoid);
            Assert.Equal("batch", page.GetProperty("source").GetString());
            Assert.Equal(c.GetProperty("importance").GetDouble() * decay, page.GetProperty("importance").GetDouble(), 1e-9);
        }
        s.AssertClean();
    }

    [Fact]
    public async Task CatalogueImagesAndTheWorkspacesReportAreShown()
    {
        if (!TestData.RequireOrSkip(WebPageFixture.ChromiumInstalled, MissingChromium, output)) return;
        // The shared server's workspace has neither: no pictures, no link.
        await using (Session plain = await OpenPageAsync())
        {
            IReadOnlyList<string> some = await UsersAsync();
            await plain.Page.GotoAsync($"{fixture.Server!.BaseAddress}#user={some[0]}");
            await Assertions.Expect(plain.Page.Locator("#clusters > li.cluster").First).ToBeVisibleAsync();
            Assert.Equal(0, await plain.Page.Locator("img.item-image").CountAsync());
            await Assertions.Expect(plain.Page.Locator("#report-link")).ToBeHiddenAsync();
        }

        await using RunningServer server = await fixture.StartWithImagesAndReportAsync();
        IBrowserContext context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        await using var _ = context;
        IPage page = await context.NewPageAsync();
        using var users = JsonDocument.Parse(await server.Client.GetStringAsync("/v1/users?limit=5"));
        string user = users.RootElement.GetProperty("users")[2].GetString()!;
        await page.GotoAsync($"{server.BaseAddress}#user={user}");

        // Every item button of the clusters and recommendations shows the catalogue's picture of that item.
        ILocator buttons = page.Locator("#clusters button.item, #recs-body button.item");
        await Assertions.Expect(buttons.First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#recs-body tr[data-item]").First).ToBeVisibleAsync();
        (string Item, string Src)[] pictures = [.. (await buttons.EvaluateAllAsync<string[][]>(
            "bs => bs.map(b => [b.dataset.item, b.querySelector('img.item-image')?.getAttribute('src') ?? ''])"))
            .Select(p => (p[0], p[1]))];
        Assert.NotEmpty(pictures);
        Assert.All(pictures, p => Assert.Equal(WebPageFixture.ImageUrl(p.Item), p.Src));
        // They load (the policy lets data: images through) and are drawn.
        Assert.True(await page.Locator("img.item-image").First.EvaluateAsync<bool>("i => i.complete && i.naturalWidth === 40"));

        // The report link appears and leads to the evaluation report, styled by its own stylesheet.
        ILocator link = page.GetByRole(AriaRole.Link, new() { Name = "Offline evaluation report" });
        await Assertions.Expect(link).ToBeVisibleAsync();
        await link.ClickAsync();
        await Assertions.Expect(page.Locator("#results-table")).ToBeVisibleAsync();
        // At 1400 px every results table fits: nothing scrolls sideways, and the last columns are on screen.
        Assert.True(await page.Locator("table[id^='results-table']").CountAsync() >= 2);
        Assert.Empty(await page.Locator(".scroll").EvaluateAllAsync<string[]>(
            "ds => ds.filter(d => d.scrollWidth > d.clientWidth).map(d => d.querySelector('table').id)"));
        foreach (string metric in new[] { "coverage", "diversity" })
            Assert.True(await page.Locator("th", new() { HasTextString = metric }).EvaluateAsync<bool>(
                "h => h.getBoundingClientRect().right <= window.innerWidth && h.getBoundingClientRect().width > 0"), metric);
        Assert.Equal("solid", await page.Locator("#results-table thead th").First.EvaluateAsync<string>("e => getComputedStyle(e).borderBottomStyle"));
    }

    [Fact]
    public async Task ProblemDetailsAreShownInline()
    {
        if (!TestData.RequireOrSkip(WebPageFixture.ChromiumInstalled, MissingChromium, output)) return;
        await using Session s = await OpenPageAsync();

        // Unknown user: one message at the top of the profile, the server's own title and detail.
        const string unknown = "no-such-user";
        await s.Page.GetByRole(AriaRole.Combobox, new() { Name = "User id" }).FillAsync(unknown);
        await s.Page.GetByRole(AriaRole.Button, new() { Name = "Open", Exact = true }).ClickAsync();
        (int status, string title, string detail) = await ProblemAsync(HttpMethod.Get, $"/v1/users/{unknown}/interests", null);
        Assert.Equal(404, status);
        ILocator profileError = s.Page.Locator("#profile-error");
        await Assertions.Expect(profileError).ToBeVisibleAsync();
        await Assertions.Expect(profileError).ToHaveAttributeAsync("role", "alert");
        await Assertions.Expect(profileError.Locator(".error-title")).ToHaveTextAsync($"404 {title}");
        await Assertions.Expect(profileError.Locator(".error-detail")).ToHaveTextAsync(detail);
        await Assertions.Expect(s.Page.Locator("#recs-error")).ToBeHiddenAsync();
        await Assertions.Expect(s.Page.Locator("#interests-panel")).ToBeHiddenAsync();
        await Assertions.Expect(s.Page.Locator("#recs-panel")).ToBeHiddenAsync();
        await Assertions.Expect(s.Page.Locator("#profile-new-hint")).ToBeVisibleAsync();
        await s.ScreenshotAsync("unknown-user");

        // A known user: k out of range (400) under the recommendations, an unknown item (404) under the form.
        string user = (await UsersAsync())[0];
        await s.Page.GotoAsync($"{fixture.Server!.BaseAddress}#user={user}");
        await Assertions.Expect(s.Page.Locator("#recs-body tr[data-item]").First).ToBeVisibleAsync();
        await s.Page.GetByLabel("k (items)").FillAsync("0");
        await s.Page.Locator("#recs-form").GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        (status, title, detail) = await ProblemAsync(HttpMethod.Get, $"/v1/users/{user}/recommendations?k=0&medoids=3", null);
        Assert.Equal(400, status);
        await Assertions.Expect(s.Page.Locator("#recs-error .error-title")).ToHaveTextAsync($"400 {title}");
        await Assertions.Expect(s.Page.Locator("#recs-error .error-detail")).ToHaveTextAsync(detail);

        await s.Page.GetByLabel("Item id", new() { Exact = true }).FillAsync("no-such-item");
        await s.Page.GetByRole(AriaRole.Button, new() { Name = "Post action" }).ClickAsync();
        (status, title, detail) = await ProblemAsync(HttpMethod.Post, $"/v1/users/{user}/actions",
                                                     """{"item_id":"no-such-item","action":"click"}""");
        Assert.Equal(404, status);
        await Assertions.Expect(s.Page.Locator("#action-error .error-title")).ToHaveTextAsync($"404 {title}");
        await Assertions.Expect(s.Page.Locator("#action-error .error-detail")).ToHaveTextAsync(detail);
        await Assertions.Expect(s.Page.Locator("#action-result")).ToBeHiddenAsync();

        // The browser logs each expected 4xx response as "Failed to load resource"; anything else is a failure.
        s.AssertClean(allowFailedLoads: true);
    }

    [Fact]
    public async Task ANewUsersFirstActionStartsTheirOnlineProfile()
    {
        if (!TestData.RequireOrSkip(WebPageFixture.ChromiumInstalled, MissingChromium, output)) return;
        await using Session s = await OpenPageAsync();
        string someUser = (await UsersAsync())[0];
        string item = (await GetJsonAsync($"/v1/users/{someUser}/interests")).RootElement
            .GetProperty("clusters")[0].GetProperty("medoid").GetProperty("item_id").GetString()!;
        const string newUser = "web-new-user";

        await s.Page.GotoAsync($"{fixture.Server!.BaseAddress}#user={newUser}");
        await Assertions.Expect(s.Page.Locator("#profile-error .error-title")).ToContainTextAsync("404");
        await Assertions.Expect(s.Page.Locator("#profile-new-hint")).ToBeVisibleAsync();
        // A typed time (the browser runs in UTC here): ten days before the server's clock.
        DateTime at = ServingFixture.Now.UtcDateTime.AddDays(-10);
        await s.Page.GetByLabel("Time (local)").FillAsync(at.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        await s.Page.GetByLabel("Item id", new() { Exact = true }).FillAsync(item);
        await s.Page.GetByLabel("Item id", new() { Exact = true }).PressAsync("Enter"); // keyboard submit

        // One online cluster around the posted item, and recommendations from it, without a batch run.
        ILocator cards = s.Page.Locator("#clusters > li.cluster");
        await Assertions.Expect(cards).ToHaveCountAsync(1);
        await Assertions.Expect(s.Page.Locator("#profile-error")).ToBeHiddenAsync();
        await Assertions.Expect(s.Page.Locator("#profile-new-hint")).ToBeHiddenAsync();
        Assert.Equal(item, await cards.First.GetAttributeAsync("data-medoid"));
        Assert.Equal("online", await cards.First.Locator(".source").InnerTextAsync());
        await Assertions.Expect(cards.First.Locator(".badge.new")).ToBeVisibleAsync();
        await Assertions.Expect(s.Page.Locator("#fact-pending")).ToHaveTextAsync("1");
        // The page sent that time: one action of weight 1 ten days before now has importance e^(−λ·10).
        double lambda = fixture.ProfileOptions!.DecayLambda;
        double importance = (await GetJsonAsync($"/v1/users/{newUser}/interests")).RootElement
            .GetProperty("clusters")[0].GetProperty("importance").GetDouble();
        Assert.Equal(Math.Exp(-lambda * 10), importance, 1e-9);
        ILocator rows = s.Page.Locator("#recs-body tr[data-item]");
        await Assertions.Expect(rows.First).ToBeVisibleAsync();
        Assert.Equal(item, await rows.First.Locator(".reason button.item.medoid").GetAttributeAsync("data-item"));
        await Assertions.Expect(s.Page.Locator("#user-input")).ToHaveValueAsync(newUser);
        s.AssertClean(allowFailedLoads: true);
    }

    [Fact]
    public void ThePageNeverParsesDataAsMarkup()
    {
        // The script builds every node with createElement/textContent: no HTML-parsing sinks at all.
        string root = RepoPaths.FindRepoRoot() ?? throw new InvalidOperationException("repository root not found");
        string script = File.ReadAllText(Path.Combine(root, "src", "PinnerSage.Serving", "wwwroot", "app.js"));
        foreach (string sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function" })
            Assert.DoesNotContain(sink, script);
        // Works offline: the page refers to nothing outside this server.
        string page = File.ReadAllText(Path.Combine(root, "src", "PinnerSage.Serving", "wwwroot", "index.html"));
        Assert.DoesNotContain("http://", page + script);
        Assert.DoesNotContain("https://", page + script);
    }

    private async Task<Session> OpenPageAsync()
    {
        IBrowserContext context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
            Locale = "en-US",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(15_000);
        Assertions.SetDefaultExpectTimeout(15_000);
        IPage page = await context.NewPageAsync();
        var session = new Session(context, page, fixture.Server!.BaseAddress, output);
        await page.GotoAsync(fixture.Server!.BaseAddress.ToString());
        await Assertions.Expect(page.Locator("#health")).ToContainTextAsync("Server ok");
        return session;
    }

    /// <summary>A page showing the user at <paramref name="index"/> of the id list (or the last one): each test its own
    /// users, so tests sharing the server do not see each other's actions.</summary>
    private async Task<(Session Session, string User)> OpenUserAsync(int index)
    {
        Session s = await OpenPageAsync();
        IReadOnlyList<string> users = await UsersAsync();
        string user = users[Math.Min(index, users.Count - 1)];
        await s.Page.GotoAsync($"{fixture.Server!.BaseAddress}#user={user}");
        return (s, user);
    }

    private async Task<IReadOnlyList<string>> UsersAsync() =>
        (await GetJsonAsync("/v1/users?limit=1000")).RootElement.GetProperty("users").EnumerateArray().Select(u => u.GetString()!).ToList();

    private async Task<JsonDocument> GetJsonAsync(string path)
    {
        using HttpResponseMessage response = await fixture.Server!.Client.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The problem-details answer to a request the page also makes (the expected message, from the server).</summary>
    private async Task<(int Status, string Title, string Detail)> ProblemAsync(HttpMethod method, string path, string? json)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await fixture.Server!.Client.SendAsync(request);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return ((int)response.StatusCode, problem.RootElement.GetProperty("title").GetString()!,
                problem.RootElement.GetProperty("detail").GetString()!);
    }

    /// <summary>One browser context and page; records console errors, page errors and every request's address.</summary>
    private sealed class Session : IAsyncDisposable
    {
        private readonly List<string> _consoleErrors = [];
        private readonly List<string> _pageErrors = [];
        private readonly List<string> _foreignRequests = [];
        private readonly IBrowserContext _context;
        private readonly ITestOutputHelper _output;
        private readonly TempDir _dir = new();

        public Session(IBrowserContext context, IPage page, Uri server, ITestOutputHelper output)
        {
            _context = context;
            _output = output;
            Page = page;
            string origin = server.GetLeftPart(UriPartial.Authority);
            page.Console += (_, m) => { if (m.Type == "error") lock (_consoleErrors) _consoleErrors.Add(m.Text); };
            page.PageError += (_, e) => { lock (_pageErrors) _pageErrors.Add(e); };
            page.Request += (_, r) =>
            {
                if (!r.Url.StartsWith(origin, StringComparison.Ordinal) && !r.Url.StartsWith("data:", StringComparison.Ordinal))
                    lock (_foreignRequests) _foreignRequests.Add(r.Url);
            };
        }

        public IPage Page { get; }

        /// <summary>Screenshot into the test's temporary folder (copied to $PINNERSAGE_SCREENSHOTS when set, to look at).</summary>
        public async Task ScreenshotAsync(string name)
        {
            string path = _dir.File(name + ".png");
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
            Assert.True(new FileInfo(path).Length > 10_000, "the screenshot has content");
            string? keep = Environment.GetEnvironmentVariable("PINNERSAGE_SCREENSHOTS");
            if (!string.IsNullOrEmpty(keep))
            {
                Directory.CreateDirectory(keep);
                File.Copy(path, Path.Combine(keep, name + ".png"), overwrite: true);
            }
            _output.WriteLine($"screenshot: {path}");
        }

        /// <summary>No script error, no console error (but the browser's own "Failed to load resource" lines for
        /// expected 4xx answers when <paramref name="allowFailedLoads"/>), no request leaving the server.</summary>
        public void AssertClean(bool allowFailedLoads = false)
        {
            Assert.Empty(_pageErrors);
            Assert.DoesNotContain(_consoleErrors, e => !(allowFailedLoads && e.StartsWith("Failed to load resource: the server responded with a status of 4", StringComparison.Ordinal)));
            Assert.Empty(_foreignRequests);
        }

        public async ValueTask DisposeAsync()
        {
            await _context.DisposeAsync();
            _dir.Dispose();
        }
    }
}
