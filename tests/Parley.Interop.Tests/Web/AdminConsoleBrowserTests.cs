using Microsoft.Playwright;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests.Web;

/// <summary>
/// The administration console (/admin) in a real browser: Debian's Chromium, driven by Playwright, against the node as
/// the README runs it, with python3-slixmpp clients as the users. Screenshots of each page go to
/// screenshots/TEST beside the test assembly.
/// </summary>
public sealed class AdminConsoleBrowserTests : IAsyncLifetime
{
    private const string Banner = "Authorized use only.\nActivity on this system is recorded.";

    private ParleyProcess _node = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    /// <summary>Requests the console made to anywhere but the node: there should be none.</summary>
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _elsewhere = new();

    /// <summary>Requests the node answered with an error: there should be none.</summary>
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _failed = new();

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        await _node.AddUsersAsync("root", "alice", "bob");
        var grant = await _node.CliAsync(["admin", "grant", "root@localhost"]);
        Assert.True(grant.ExitCode == 0, grant.Output);
        var banner = await _node.CliAsync(["banner", "set", "-"], Banner);
        Assert.True(banner.ExitCode == 0, banner.Output);
        _playwright = await Playwright.CreateAsync();
        _browser = await Chromium.LaunchAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _node.DisposeAsync();
    }

    private string Console => $"http://127.0.0.1:{_node.HttpPort}/admin";

    [Fact]
    public async Task An_admin_signs_in_under_the_banner_watches_the_dashboard_move_adds_a_user_ends_its_session_destroys_a_room_and_finds_it_all_in_the_audit_log()
    {
        var shots = Path.Combine(AppContext.BaseDirectory, "screenshots", nameof(AdminConsoleBrowserTests));
        Directory.CreateDirectory(shots);
        var step = 0;
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        Chromium.Watch(page, $"http://127.0.0.1:{_node.HttpPort}/", _elsewhere, _failed);
        async Task ShotAsync(string name) => await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"{++step:00}-{name}.png"), FullPage = true });

        // Any console page sends a visitor to the sign-in page, which shows the banner.
        await page.GotoAsync(Console + "/users");
        Assert.StartsWith(Console + "/sign-in", page.Url);
        Assert.Equal(Banner, (await page.Locator("#login-banner").InnerTextAsync()).Trim());
        await page.Locator("input[name=name]").FillAsync("root@localhost");
        await page.Locator("input[name=password]").FillAsync("root-secret");
        await ShotAsync("sign-in-with-banner");
        await page.Locator("form.sign-in button").ClickAsync();
        await page.WaitForURLAsync(Console + "/users");

        // The dashboard: Alice signs in and chats; the figures and the plots follow without a reload.
        await page.GotoAsync(Console);
        await using var alice = ExternalProcess.Start("/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_online.py"), "127.0.0.1", _node.C2sPort.ToString(), "alice@localhost/chatter", "alice-secret", "alice@localhost"]);
        await alice.WaitForOutputAsync("online", TimeSpan.FromSeconds(30));
        await page.WaitForFunctionAsync("() => Number(document.getElementById('messages').textContent) > 0 && Number(document.getElementById('sessions').textContent) >= 1");
        var plotted = int.Parse(await page.EvaluateAsync<string>("() => document.body.dataset.samples"));
        await page.WaitForFunctionAsync($"() => Number(document.body.dataset.samples) > {plotted}");
        // Sessions, logins/s, messages/s, presence/s, CPU and memory, each with this node's line; the node's row follows too.
        Assert.Equal(6, await page.Locator(".plot canvas").CountAsync());
        Assert.Equal(1, await page.Locator("#node-figures tbody tr").CountAsync());
        Assert.Equal("answering", await page.Locator("#node-figures tbody tr .state").InnerTextAsync());
        Assert.True(int.Parse(await page.Locator("#node-figures tbody tr .sessions").InnerTextAsync()) >= 1);
        await ShotAsync("dashboard-moving");

        await page.GotoAsync(Console + "/status");
        await page.GetByText("SQLite").First.WaitForAsync();
        await ShotAsync("status");

        // A new user, who then signs in with slixmpp; the admin sees the session and ends it.
        await page.GotoAsync(Console + "/users");
        await page.Locator("#add-user input[name=jid]").FillAsync("carol@localhost");
        await page.Locator("#add-user input[name=password]").FillAsync("carol-secret");
        await page.Locator("#add-user button").ClickAsync();
        await page.Locator(".notice", new() { HasText = "carol@localhost was added." }).WaitForAsync();
        await ShotAsync("user-added");
        await using var carol = ExternalProcess.Start("/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_online.py"), "127.0.0.1", _node.C2sPort.ToString(), "carol@localhost/laptop", "carol-secret"]);
        await carol.WaitForOutputAsync("online", TimeSpan.FromSeconds(30));
        await page.GotoAsync(Console + "/users/carol%40localhost");
        var session = page.Locator("#sessions tr[data-jid='carol@localhost/laptop']");
        await session.WaitForAsync();
        Assert.Contains("127.0.0.1", await session.InnerTextAsync());
        await ShotAsync("user-session");
        await session.Locator("button", new() { HasText = "End session" }).ClickAsync();
        await page.Locator(".notice", new() { HasText = "carol@localhost/laptop was ended" }).WaitForAsync();
        await carol.WaitForOutputAsync("ended", TimeSpan.FromSeconds(30));
        // The node closes the stream after answering the form; the page, opened again, no longer lists the session.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await page.GotoAsync(Console + "/users/carol%40localhost");
        }
        while (await session.CountAsync() > 0 && DateTime.UtcNow < deadline);
        Assert.Equal(0, await session.CountAsync());
        await page.GetByText("Not signed in on any node.").WaitForAsync();
        await ShotAsync("session-ended");

        // A room, created and destroyed.
        await page.GotoAsync(Console + "/rooms");
        await page.Locator("#create-room input[name=room]").FillAsync("team@conference.localhost");
        await page.Locator("#create-room button").ClickAsync();
        var room = page.Locator("#rooms tr[data-jid='team@conference.localhost']");
        await room.WaitForAsync();
        await ShotAsync("room-created");
        await using var bob = ExternalProcess.Start("/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_online.py"), "127.0.0.1", _node.C2sPort.ToString(), "bob@localhost/phone", "bob-secret", "-", "team@conference.localhost/bobby"]);
        await bob.WaitForOutputAsync("joined", TimeSpan.FromSeconds(30));
        await room.Locator("a", new() { HasText = "Occupants" }).ClickAsync();
        var occupant = page.Locator("#occupants tbody tr", new() { HasText = "bobby" });
        await occupant.WaitForAsync();
        Assert.Contains("bob@localhost", await occupant.InnerTextAsync());
        await ShotAsync("room-occupants");
        await page.GotoAsync(Console + "/rooms");
        await room.Locator("button", new() { HasText = "Destroy" }).ClickAsync();
        await page.Locator(".notice", new() { HasText = "team@conference.localhost was destroyed." }).WaitForAsync();
        Assert.Equal(0, await page.Locator("#rooms tr[data-jid='team@conference.localhost']").CountAsync());
        await ShotAsync("room-destroyed");

        await page.GotoAsync(Console + "/settings");
        Assert.Equal(Banner, (await page.Locator("#banner-form textarea").InputValueAsync()).ReplaceLineEndings("\n"));
        await ShotAsync("settings");

        // Each action is in the audit log, as root from the browser's address; a search by action narrows it.
        await page.GotoAsync(Console + "/audit");
        foreach (var (action, subject) in new[]
        {
            ("account.create", "carol@localhost"), ("session.end", "carol@localhost/laptop"),
            ("room.create", "team@conference.localhost"), ("room.destroy", "team@conference.localhost"),
        })
        {
            var row = page.Locator("#audit tbody tr", new() { HasText = action }).Filter(new() { HasText = subject });
            await row.First.WaitForAsync();
            Assert.Contains("root@localhost", await row.First.InnerTextAsync());
            Assert.Contains("127.0.0.1", await row.First.InnerTextAsync());
        }
        await ShotAsync("audit-log");
        await page.Locator("#audit-search input[name=action]").FillAsync("room.destroy");
        await page.Locator("#audit-search button").ClickAsync();
        await page.WaitForURLAsync(url => url.Contains("action=room.destroy", StringComparison.Ordinal));
        Assert.Equal(1, await page.Locator("#audit tbody tr").CountAsync());
        await ShotAsync("audit-search");

        alice.Terminate();
        bob.Terminate();
        Assert.Empty(_elsewhere);
        Assert.Empty(_failed);
    }
}
