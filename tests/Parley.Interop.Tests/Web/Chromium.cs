using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Parley.Interop.Tests.Web;

/// <summary>Debian's Chromium as the browser tests drive it, and what they watch of a page's requests.</summary>
internal static class Chromium
{
    private static readonly string[] Args =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    /// <summary>Starts /usr/bin/chromium headless; never `playwright install`.</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = "/usr/bin/chromium", Args = Args, Headless = true });

    /// <summary>Collects the page's requests to anywhere but <paramref name="origin"/>, and the answers with an error status.</summary>
    public static void Watch(IPage page, string origin, ConcurrentQueue<string> elsewhere, ConcurrentQueue<string> failed)
    {
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                failed.Enqueue($"{response.Status} {response.Url}");
            }
        };
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(origin, StringComparison.Ordinal))
            {
                elsewhere.Enqueue(request.Url);
            }
        };
    }
}
