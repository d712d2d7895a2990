using System.Diagnostics;
using System.Net;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests.Web;

/// <summary>The console's session timeout (Web:ConsoleSessionTimeoutSeconds): idle sessions end, active ones go on.</summary>
public sealed class AdminConsoleSessionTimeoutTests : IAsyncLifetime
{
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(6);

    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync(new Dictionary<string, string>
        {
            ["PARLEY__WEB__CONSOLESESSIONTIMEOUTSECONDS"] = ((int)SessionTimeout.TotalSeconds).ToString(),
        });
        await _node.AddUsersAsync("root");
        var grant = await _node.CliAsync(["admin", "grant", "root@localhost"]);
        Assert.True(grant.ExitCode == 0, grant.Output);
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task An_idle_session_is_signed_out_after_the_timeout_and_an_active_one_is_not()
    {
        var console = $"http://127.0.0.1:{_node.HttpPort}/admin";
        using var active = new ConsoleBrowser(console);
        Assert.Equal(HttpStatusCode.Redirect, (await active.SignInAsync("root", "root-secret")).StatusCode);
        using var idle = new ConsoleBrowser(console);
        var idleSignedIn = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.Redirect, (await idle.SignInAsync("root", "root-secret")).StatusCode);
        var activeSignedIn = Stopwatch.StartNew();

        // The idle session's cookie as it was at sign-in, sent by a client that takes no renewed cookie: asking with it
        // is not activity of that session (the ticket is in the cookie), so it can be polled until it is refused.
        var idleCookie = idle.Cookies.GetCookieHeader(new Uri(console + "/"));
        using var asIdle = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false });
        async Task<HttpStatusCode> IdleAsks()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, console + "/users");
            request.Headers.Add("Cookie", idleCookie);
            using var response = await asIdle.SendAsync(request);
            return response.StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await IdleAsks());

        var deadline = Stopwatch.StartNew();
        while (await IdleAsks() == HttpStatusCode.OK)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "the idle session was never signed out");
            Assert.Equal(HttpStatusCode.OK, (await active.Client.GetAsync(console + "/users")).StatusCode);
            // The administrator's pace of work between clicks.
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
        var idleFor = idleSignedIn.Elapsed;
        // Sliding expiration renews the cookie only past half its time, so the last request may not have renewed it:
        // an idle session ends between half the timeout and the timeout after the last request.
        Assert.True(idleFor >= SessionTimeout / 2, $"signed out after {idleFor} idle, before half the timeout of {SessionTimeout}");
        var refused = await idle.Client.GetAsync(console + "/users");
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.Contains("/admin/sign-in", refused.Headers.Location!.ToString());

        // The active session, which asked all along, outlives twice the timeout.
        while (activeSignedIn.Elapsed < 2 * SessionTimeout)
        {
            Assert.Equal(HttpStatusCode.OK, (await active.Client.GetAsync(console + "/users")).StatusCode);
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
        Assert.Equal(HttpStatusCode.OK, (await active.Client.GetAsync(console + "/users")).StatusCode);
    }

    [Fact]
    public async Task A_form_sent_after_the_session_ended_leads_to_the_sign_in_page_saying_so_and_is_not_done()
    {
        var console = $"http://127.0.0.1:{_node.HttpPort}/admin";
        using var root = new ConsoleBrowser(console);
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        var token = await root.FormTokenAsync("/users");
        var signedIn = Stopwatch.StartNew();

        // The administrator leaves the form open past the timeout (watched with the session's cookie by a client that
        // takes no renewed one, so that watching is not activity), then sends it.
        var cookie = root.Cookies.GetCookieHeader(new Uri(console + "/"));
        using var watcher = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false });
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, console + "/users");
            request.Headers.Add("Cookie", cookie);
            using var response = await watcher.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.Redirect)
            {
                break;
            }
            Assert.True(signedIn.Elapsed < TimeSpan.FromSeconds(60), "the session never ended");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
        var sent = await root.PostAsync("/users?handler=Add", new() { ["jid"] = "eve@localhost", ["password"] = "eve-secret-1", ["__RequestVerificationToken"] = token });

        Assert.Equal(HttpStatusCode.Redirect, sent.StatusCode);
        var signIn = sent.Headers.Location!.ToString();
        Assert.Contains("/admin/sign-in", signIn);
        var page = await root.Client.GetStringAsync(new Uri(new Uri(console), signIn));
        Assert.Contains("Your session ended: the console signs you out after 6 seconds without a request. Sign in again; a form sent after the session ended was not done.", page);
        Assert.DoesNotContain("eve@localhost", (await _node.CliAsync(["user", "list"])).Output);
        // A visitor who never signed in is sent to the same page without it.
        using var stranger = new ConsoleBrowser(console);
        var first = await stranger.Client.GetAsync(console + "/users");
        Assert.DoesNotContain("Your session ended", await stranger.Client.GetStringAsync(new Uri(new Uri(console), first.Headers.Location!.ToString())));
    }
}
