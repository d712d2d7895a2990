using System.Text.Json;
using Microsoft.Playwright;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests.Web;

/// <summary>
/// The bundled web client (/chat, Converse.js) in a real browser: Debian's Chromium, driven by Playwright, against the
/// node as the README runs it. Screenshots of each step go to screenshots/TEST beside the test assembly.
/// </summary>
public sealed class WebClientBrowserTests : IAsyncLifetime
{
    private static readonly string[] ChromiumArgs =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    private ParleyProcess _node = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        await _node.AddUsersAsync("alice", "bob");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = "/usr/bin/chromium", Args = ChromiumArgs, Headless = true });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _node.DisposeAsync();
    }

    private static string Screenshots(string test)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "screenshots", test);
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>Opens /chat in a new browser context and signs in with the name and password alone.</summary>
    private async Task<IPage> SignInAsync(string user, string shots)
    {
        var context = await _browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync($"http://127.0.0.1:{_node.HttpPort}/chat");
        await page.Locator("#converse-login-jid").FillAsync(user);
        await page.Locator("#converse-login-password").FillAsync($"{user}-secret");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"1-{user}-sign-in.png") });
        await page.Locator("#converse-login-password").PressAsync("Enter");
        await page.Locator("converse-roster").First.WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"2-{user}-signed-in.png") });
        return page;
    }

    [Fact]
    public async Task A_web_user_signs_in_with_name_and_password_and_chats_both_ways_with_a_slixmpp_user_on_tcp()
    {
        var shots = Screenshots(nameof(A_web_user_signs_in_with_name_and_password_and_chats_both_ways_with_a_slixmpp_user_on_tcp));
        await using var bob = ExternalProcess.Start("/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_answer.py"), "127.0.0.1", _node.C2sPort.ToString(), "bob@localhost/tcp", "bob-secret", "Hello from slixmpp"]);
        await bob.WaitForOutputAsync("online", TimeSpan.FromSeconds(30));

        var alice = await SignInAsync("alice", shots);
        await alice.GotoAsync($"http://127.0.0.1:{_node.HttpPort}/chat#converse/chat?jid=bob@localhost");
        var textarea = alice.Locator("converse-chat textarea.chat-textarea, textarea.chat-textarea").First;
        await textarea.FillAsync("Hello from the browser");
        await textarea.PressAsync("Enter");
        await alice.Locator(".chat-msg__text", new() { HasText = "Hello from slixmpp" }).First.WaitForAsync();
        await alice.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "3-alice-chat-with-slixmpp.png") });

        Assert.True(await bob.WaitForExitAsync(TimeSpan.FromSeconds(30)), bob.Output);
        Assert.Equal(0, bob.ExitCode);
        var answered = JsonDocument.Parse(bob.Output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("Hello from the browser", answered.GetProperty("body").GetString());
        Assert.StartsWith("alice@localhost/", answered.GetProperty("from").GetString());
    }
}
