using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Server.Web.Bosh;
using Parley.Xml;

namespace Parley.Server.Tests.Web;

/// <summary>XEP-0124 BOSH with XEP-0206 at /http-bind: a client session like one over TCP, carried by HTTP requests.</summary>
public sealed class BoshTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o =>
        {
            o.Web.AllowedOrigins = ["https://intranet.example.com"];
            o.Web.BoshMaxSessionsPerIp = 20;
        });
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.CreateUserAsync("romeo", "romeo-password");
    }

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    [Fact]
    public async Task The_session_creation_response_carries_the_stream_features_and_the_session_rules()
    {
        using var bosh = new BoshTestClient(_node);
        var created = await bosh.CreateAsync(wait: 7);

        Assert.Equal(BoshTestClient.HttpBind, created.Namespace);
        Assert.Matches("^[0-9a-f]{32}$", created.GetAttribute("sid"));
        Assert.Equal("7", created.GetAttribute("wait"));
        Assert.Equal("1", created.GetAttribute("hold"));
        Assert.Equal("2", created.GetAttribute("requests"));
        Assert.Equal("60", created.GetAttribute("inactivity"));
        Assert.Equal("localhost", created.GetAttribute("from"));
        Assert.NotNull(created.GetAttribute("authid"));
        var mechanisms = created.Child("features", Ns.Streams)!.Child("mechanisms", Ns.Sasl)!.Children().Select(m => m.Text);
        Assert.Contains("SCRAM-SHA-256", mechanisms);
    }

    [Fact]
    public async Task A_session_a_proxy_says_came_over_http_is_offered_no_sign_in()
    {
        using var bosh = new BoshTestClient(_node);
        bosh.Headers.Add("X-Forwarded-Proto", "http");
        var created = await bosh.CreateAsync();
        Assert.Equal("false", created.GetAttribute("secure"));
        Assert.Null(created.Child("features", Ns.Streams)!.Child("mechanisms", Ns.Sasl));

        var credentials = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("\0juliet\0juliet-password"));
        var failure = (await bosh.SendAsync($"<auth xmlns='{Ns.Sasl}' mechanism='PLAIN'>{credentials}</auth>")).Children().Single();
        Assert.Equal("failure", failure.Name);
        Assert.NotNull(failure.Child("encryption-required", Ns.Sasl));
    }

    [Fact]
    public async Task A_bosh_client_signs_in_binds_chats_with_a_tcp_client_by_long_polling_and_terminates()
    {
        using var bosh = new BoshTestClient(_node);
        Assert.Equal("juliet@localhost/bosh", await bosh.LoginAsync("juliet", "juliet-password", "bosh"));
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");

        var sent = await bosh.SendAsync("<message xmlns='jabber:client' to='romeo@localhost/garden' type='chat'><body>From the web</body></message>");
        Assert.Equal("From the web", (await romeo.ReceiveAsync(e => e.Name == "message")).ChildText("body"));

        // A request held open (long polling) is answered as soon as a message arrives.
        var polling = bosh.ReceiveAsync(e => e.Name == "message");
        await romeo.SendAsync("<message to='juliet@localhost/bosh' type='chat'><body>From TCP</body></message>");
        var message = await polling;
        Assert.Equal(Ns.Client, message.Namespace);
        Assert.Equal("From TCP", message.ChildText("body"));

        var terminated = await bosh.SendAsync("<presence xmlns='jabber:client' type='unavailable'/>", " type='terminate'");
        Assert.Equal("terminate", terminated.GetAttribute("type"));
        await Eventually.TrueAsync(() => _node.App.Node.Sessions.Find(Jid.Parse("juliet@localhost/bosh")) is null);
        var after = await bosh.SendAsync();
        Assert.Equal(("terminate", "item-not-found"), (after.GetAttribute("type"), after.GetAttribute("condition")));
    }

    [Fact]
    public async Task A_stream_error_ends_the_session_with_remote_stream_error_and_the_error_inside()
    {
        using var bosh = new BoshTestClient(_node);
        await bosh.LoginAsync("juliet", "juliet-password", "bosh");

        var body = await bosh.SendAsync("<message xmlns='jabber:client' from='romeo@localhost' to='romeo@localhost'><body>forged</body></message>");
        while (body.GetAttribute("type") != "terminate")
        {
            body = await bosh.SendAsync();
        }

        Assert.Equal("remote-stream-error", body.GetAttribute("condition"));
        Assert.NotNull(body.Child("error", Ns.Streams)!.Child("invalid-from", Ns.StreamErrors));
        await Eventually.TrueAsync(() => _node.App.Node.Sessions.Find(Jid.Parse("juliet@localhost/bosh")) is null);
    }

    [Fact]
    public async Task A_second_request_releases_the_held_one_and_output_goes_to_the_request_still_held()
    {
        using var bosh = new BoshTestClient(_node);
        await bosh.LoginAsync("juliet", "juliet-password", "bosh");
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");

        // hold='1': whichever reaches the node first, the request with the higher rid is the one kept.
        var held = bosh.SendAsync();
        var newer = bosh.SendAsync();
        Assert.Empty((await held).Children());
        await romeo.SendAsync("<message to='juliet@localhost/bosh' type='chat'><body>to the newest request</body></message>");
        Assert.Equal("to the newest request", (await newer).Children().Single().ChildText("body"));
    }

    [Fact]
    public async Task A_session_left_without_requests_ends_after_the_inactivity_limit_and_a_pause_extends_it()
    {
        await using var node = await TestNode.StartAsync(o => o.Web.BoshInactivitySeconds = 1);
        await node.CreateUserAsync("juliet", "juliet-password");
        var sessions = node.App.Web.Services.GetRequiredService<BoshSessions>();
        using var paused = new BoshTestClient(node);
        await paused.CreateAsync(wait: 1);
        Assert.Empty((await paused.SendAsync(attributes: " pause='30'")).Children());
        using var gone = new BoshTestClient(node);
        await gone.CreateAsync(wait: 1);

        await Eventually.TrueAsync(() => sessions.Find(gone.Sid!) is null);
        Assert.Equal("item-not-found", (await gone.SendAsync()).GetAttribute("condition"));
        Assert.NotEqual("terminate", (await paused.SendAsync()).GetAttribute("type"));
    }

    [Fact]
    public async Task A_repeated_rid_is_answered_from_the_cache_and_one_outside_the_window_ends_the_session()
    {
        using var bosh = new BoshTestClient(_node);
        await bosh.CreateAsync();
        var first = await bosh.SendAsync($"<iq xmlns='jabber:client' type='get' id='reg' to='localhost'><query xmlns='jabber:iq:register'/></iq>");

        bosh.Rid--;
        var again = await bosh.SendAsync($"<iq xmlns='jabber:client' type='get' id='other' to='localhost'><query xmlns='jabber:iq:register'/></iq>");
        Assert.Equal(first.ToString(), again.ToString());

        bosh.Rid += 5;
        var outside = await bosh.SendAsync();
        Assert.Equal(("terminate", "item-not-found"), (outside.GetAttribute("type"), outside.GetAttribute("condition")));
        await _node.AssertStillServesAsync();
    }

    [Fact]
    public async Task Acknowledgements_are_answered_and_a_lost_response_is_reported()
    {
        using var bosh = new BoshTestClient(_node);
        var created = await bosh.CreateAsync(attributes: " ack='1'");
        Assert.Equal(bosh.Rid.ToString(CultureInfo.InvariantCulture), created.GetAttribute("ack"));

        // The answer to this request is lost on the way: the client's next requests still acknowledge only the one before.
        var lost = await bosh.SendAsync(RegisterQuery("lost"));
        var lostRid = bosh.Rid;
        var acknowledged = $" ack='{lostRid - 1}'";
        var reported = await bosh.SendAsync(attributes: acknowledged);
        Assert.Equal(lostRid.ToString(CultureInfo.InvariantCulture), reported.GetAttribute("report"));
        Assert.True(long.Parse(reported.GetAttribute("time")!, CultureInfo.InvariantCulture) >= 0);
        Assert.Equal(lostRid.ToString(CultureInfo.InvariantCulture), (await bosh.SendAsync(attributes: acknowledged)).GetAttribute("report"));

        // Unacknowledged, the lost answer is kept past the two requests a client without acknowledgements gets.
        var next = bosh.Rid;
        bosh.Rid = lostRid - 1;
        var resent = await bosh.SendAsync(RegisterQuery("lost"));
        Assert.Equal(lost.ToString(), resent.ToString());
        Assert.Contains(resent.Children(), e => e.GetAttribute("id") == "lost");

        // Once acknowledged, it is forgotten.
        bosh.Rid = next;
        Assert.Null((await bosh.SendAsync(attributes: $" ack='{next}'")).GetAttribute("report"));
        bosh.Rid = lostRid - 1;
        var forgotten = await bosh.SendAsync(RegisterQuery("lost"));
        Assert.Equal(("terminate", "item-not-found"), (forgotten.GetAttribute("type"), forgotten.GetAttribute("condition")));
    }

    [Fact]
    public async Task A_request_whose_predecessor_is_lost_is_a_recoverable_error_and_the_resent_requests_go_on()
    {
        using var bosh = new BoshTestClient(_node);
        await bosh.CreateAsync(wait: 1);
        var missing = bosh.Rid + 1;

        bosh.Rid = missing;
        var error = await bosh.SendAsync(RegisterQuery("second"));
        Assert.Equal("error", error.GetAttribute("type"));
        Assert.Empty(error.Children());

        // XEP-0124 §17.2: the client sends the lost request and the one that failed again, as they were.
        bosh.Rid = missing - 1;
        var answers = new List<Element>();
        answers.AddRange((await bosh.SendAsync(RegisterQuery("first"))).Children());
        answers.AddRange((await bosh.SendAsync(RegisterQuery("second"))).Children());
        using var deadline = new CancellationTokenSource(XmppTestClient.Deadline);
        while (answers.Count < 2)
        {
            deadline.Token.ThrowIfCancellationRequested();
            var body = await bosh.SendAsync();
            Assert.Null(body.GetAttribute("type"));
            answers.AddRange(body.Children());
        }
        Assert.Equal(new[] { "first", "second" }, answers.Select(e => e.GetAttribute("id")));
    }

    [Fact]
    public async Task A_client_that_asks_for_hold_0_gets_hold_0_and_its_requests_answered_at_once()
    {
        using var bosh = new BoshTestClient(_node);
        var created = await bosh.CreateAsync(wait: 60, hold: 0);
        Assert.Equal(("0", "1"), (created.GetAttribute("hold"), created.GetAttribute("requests")));
        Assert.NotNull(created.Child("features", Ns.Streams));

        // Held, this request would be answered only after the 60 s of wait.
        var started = Stopwatch.StartNew();
        var polled = await bosh.SendAsync();
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"answered after {started.Elapsed}");
        Assert.Null(polled.GetAttribute("type"));
        Assert.Empty(polled.Children());
    }

    private static string RegisterQuery(string id) => $"<iq xmlns='jabber:client' type='get' id='{id}' to='localhost'><query xmlns='jabber:iq:register'/></iq>";

    [Fact]
    public async Task An_unknown_sid_is_item_not_found()
    {
        using var bosh = new BoshTestClient(_node);
        var (status, body) = await bosh.PostRawAsync($"<body xmlns='{BoshTestClient.HttpBind}' rid='5' sid='0123456789abcdef0123456789abcdef'/>");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("terminate", "item-not-found"), (body!.GetAttribute("type"), body.GetAttribute("condition")));
    }

    [Fact]
    public async Task A_body_over_the_limit_ends_its_session_with_policy_violation_in_an_http_200_answer()
    {
        using var bosh = new BoshTestClient(_node);
        await bosh.LoginAsync("juliet", "juliet-password", "bosh");
        var large = $"<body xmlns='{BoshTestClient.HttpBind}' rid='{bosh.Rid + 1}' sid='{bosh.Sid}'><message xmlns='jabber:client' to='romeo@localhost'><body>{new string('x', _node.Options.Limits.MaxStanzaBytes)}</body></message></body>";
        var (status, body) = await bosh.PostRawAsync(large);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("terminate", "policy-violation"), (body!.GetAttribute("type"), body.GetAttribute("condition")));

        await Eventually.TrueAsync(() => _node.App.Node.Sessions.Find(Jid.Parse("juliet@localhost/bosh")) is null);
        var after = await bosh.SendAsync();
        Assert.Equal(("terminate", "item-not-found"), (after.GetAttribute("type"), after.GetAttribute("condition")));

        // A body that names no session of the node gets the HTTP status of XEP-0124's older versions.
        (status, body) = await bosh.PostRawAsync(large);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("policy-violation", body!.GetAttribute("condition"));
        await _node.AssertStillServesAsync();
    }

    [Fact]
    public async Task Malformed_xml_ends_its_session_with_bad_request_in_an_http_200_answer()
    {
        using var bosh = new BoshTestClient(_node);
        await bosh.LoginAsync("juliet", "juliet-password", "bosh");
        var (status, body) = await bosh.PostRawAsync($"<body xmlns='{BoshTestClient.HttpBind}' rid='{bosh.Rid + 1}' sid='{bosh.Sid}'><message>");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("terminate", "bad-request"), (body!.GetAttribute("type"), body.GetAttribute("condition")));
        await Eventually.TrueAsync(() => _node.App.Node.Sessions.Find(Jid.Parse("juliet@localhost/bosh")) is null);

        (status, body) = await bosh.PostRawAsync($"<body xmlns='{BoshTestClient.HttpBind}' rid='1' sid='0123456789abcdef0123456789abcdef'><message>");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("bad-request", body!.GetAttribute("condition"));
        await _node.AssertStillServesAsync();
    }

    [Fact]
    public async Task A_request_ahead_of_its_predecessor_waits_for_it_and_their_stanzas_go_out_in_order()
    {
        using var bosh = new BoshTestClient(_node);
        await bosh.LoginAsync("juliet", "juliet-password", "bosh");
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        var first = bosh.Rid + 1;

        bosh.Rid = first;
        var ahead = bosh.SendAsync("<message xmlns='jabber:client' to='romeo@localhost/garden' type='chat'><body>second</body></message>");
        await _node.Logs.WaitForAsync($"BOSH session {bosh.Sid}: request {first + 1} came before the one ahead of it");
        bosh.Rid = first - 1;
        var predecessor = bosh.SendAsync("<message xmlns='jabber:client' to='romeo@localhost/garden' type='chat'><body>first</body></message>");

        Assert.Equal("first", (await romeo.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        Assert.Equal("second", (await romeo.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        Assert.Null((await predecessor).GetAttribute("type"));
        Assert.Null((await ahead).GetAttribute("type"));
    }

    [Fact]
    public async Task Over_https_a_bosh_client_signs_in_and_chats_with_a_tcp_client()
    {
        using var bosh = new BoshTestClient(_node, https: true);
        var created = await bosh.CreateAsync();
        Assert.Equal("true", created.GetAttribute("secure"));
        Assert.Contains("PLAIN", created.Child("features", Ns.Streams)!.Child("mechanisms", Ns.Sasl)!.Children().Select(m => m.Text));
        using var signedIn = new BoshTestClient(_node, https: true);
        Assert.Equal("juliet@localhost/secure", await signedIn.LoginAsync("juliet", "juliet-password", "secure"));
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");

        await signedIn.SendAsync("<message xmlns='jabber:client' to='romeo@localhost/garden' type='chat'><body>Over HTTPS</body></message>");
        Assert.Equal("Over HTTPS", (await romeo.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        var polling = signedIn.ReceiveAsync(e => e.Name == "message");
        await romeo.SendAsync("<message to='juliet@localhost/secure' type='chat'><body>Back to you</body></message>");
        Assert.Equal("Back to you", (await polling).ChildText("body"));
    }

    [Fact]
    public async Task A_client_opening_a_thousand_sessions_from_one_address_is_stopped_at_the_limit()
    {
        using var bosh = new BoshTestClient(_node);
        var refused = 0;
        for (var i = 0; i < 1000; i++)
        {
            var (_, body) = await bosh.PostRawAsync($"<body xmlns='{BoshTestClient.HttpBind}' rid='{i + 1}' to='localhost' wait='5' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'/>");
            if (body!.GetAttribute("type") == "terminate")
            {
                Assert.Equal("policy-violation", body.GetAttribute("condition"));
                refused++;
            }
        }
        Assert.Equal(1000 - _node.Options.Web.BoshMaxSessionsPerIp, refused);
        await _node.AssertStillServesAsync();
    }

    [Fact]
    public async Task Cors_is_answered_for_allowed_origins_only()
    {
        using var http = new HttpClient();
        var uri = $"http://127.0.0.1:{_node.HttpPort}/http-bind";
        using var allowed = new HttpRequestMessage(HttpMethod.Options, uri);
        allowed.Headers.Add("Origin", "https://intranet.example.com");
        allowed.Headers.Add("Access-Control-Request-Method", "POST");
        var preflight = await http.SendAsync(allowed);
        Assert.Equal("https://intranet.example.com", preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var other = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent($"<body xmlns='{BoshTestClient.HttpBind}' rid='1' to='localhost'/>") };
        other.Headers.Add("Origin", "https://evil.example.org");
        var refused = await http.SendAsync(other);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
