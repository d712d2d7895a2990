using System.Net;
using System.Net.WebSockets;
using System.Text;
using Parley.Protocol;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Web;

/// <summary>XMPP over WebSocket (RFC 7395) at /xmpp-websocket: a client session like one over TCP, in the framing of the RFC.</summary>
public sealed class WebSocketTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o =>
        {
            o.Sessions.ResumeTimeoutSeconds = 30;
            o.Web.AllowedOrigins = ["https://intranet.example.com"];
        });
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.CreateUserAsync("romeo", "romeo-password");
    }

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    private static bool IsChat(Element e, string body) => e.Name == "message" && e.ChildText("body") == body;

    [Fact]
    public async Task A_web_client_signs_in_binds_chats_with_a_tcp_client_and_closes_with_close()
    {
        await using var web = await WebSocketTestClient.ConnectAsync(_node);
        Assert.Equal("xmpp", web.Socket.SubProtocol);
        var features = await web.OpenAsync();
        Assert.Null(features.Child("starttls", Ns.Tls));
        var mechanisms = features.Child("mechanisms", Ns.Sasl)!.Children().Select(m => m.Text).ToArray();
        Assert.Contains("SCRAM-SHA-256", mechanisms);
        Assert.Contains("PLAIN", mechanisms);
        var bound = await web.AuthenticateAsync("juliet", "juliet-password");
        Assert.NotNull(bound.Child("sm", Ns.StreamManagement));
        Assert.Equal("juliet@localhost/browser", await web.BindAsync("browser"));

        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        await web.SendAsync("<message xmlns='jabber:client' to='romeo@localhost/garden' type='chat' id='m1'><body>Wherefore art thou?</body></message>");
        var atRomeo = await romeo.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("juliet@localhost/browser", atRomeo.GetAttribute("from"));
        await romeo.SendAsync("<message to='juliet@localhost/browser' type='chat' id='m2'><body>Here.</body></message>");
        var atJuliet = await web.ReceiveAsync(e => e.Name == "message");
        Assert.Equal(Ns.Client, atJuliet.Namespace);
        Assert.Equal("romeo@localhost/garden", atJuliet.GetAttribute("from"));

        await web.SendAsync($"<close xmlns='{Ns.Framing}'/>");
        var close = await web.ReceiveAsync(e => e.Name == "close");
        Assert.Equal(Ns.Framing, close.Namespace);
        Assert.Null(await web.ReceiveTextAsync());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, web.Socket.CloseStatus);
        await Eventually.TrueAsync(() => _node.App.Node.Sessions.Find(Parley.Protocol.Jid.Parse("juliet@localhost/browser")) is null);
    }

    [Fact]
    public async Task Over_https_a_web_client_signs_in_with_plain()
    {
        await using var web = await WebSocketTestClient.ConnectAsync(_node, https: true);
        var features = await web.OpenAsync();
        Assert.Contains("PLAIN", features.Child("mechanisms", Ns.Sasl)!.Children().Select(m => m.Text));
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0juliet\0juliet-password"));
        await web.SendAsync($"<auth xmlns='{Ns.Sasl}' mechanism='PLAIN'>{credentials}</auth>");
        Assert.Equal("success", (await web.ReceiveAsync()).Name);
        await web.OpenAsync();
        Assert.Equal("juliet@localhost/tls", await web.BindAsync("tls"));
    }

    [Fact]
    public async Task A_plain_http_session_that_a_proxy_says_came_over_http_is_offered_no_sign_in()
    {
        await using var web = await WebSocketTestClient.ConnectAsync(_node, o =>
        {
            o.AddSubProtocol("xmpp");
            o.SetRequestHeader("X-Forwarded-Proto", "http");
        });
        var features = await web.OpenAsync();
        Assert.Null(features.Child("mechanisms", Ns.Sasl));

        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0juliet\0juliet-password"));
        await web.SendAsync($"<auth xmlns='{Ns.Sasl}' mechanism='PLAIN'>{credentials}</auth>");
        var failure = await web.ReceiveAsync();
        Assert.Equal("failure", failure.Name);
        Assert.NotNull(failure.Child("encryption-required", Ns.Sasl));
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_the_client_is_the_one_it_names_and_https_there_makes_the_session_secure()
    {
        await using var node = await TestNode.StartAsync(o => o.Web.TrustedProxies = ["127.0.0.1"]);
        await using var viaHttps = await WebSocketTestClient.ConnectAsync(node, o =>
        {
            o.AddSubProtocol("xmpp");
            o.SetRequestHeader("X-Forwarded-For", "198.51.100.20, 203.0.113.7");
            o.SetRequestHeader("X-Forwarded-Proto", "https");
        });
        Assert.NotNull((await viaHttps.OpenAsync()).Child("mechanisms", Ns.Sasl));
        await node.Logs.WaitForAsync("from 203.0.113.7 opened (WebSocket, secure by its proxy or loopback)");

        await using var viaHttp = await WebSocketTestClient.ConnectAsync(node, o =>
        {
            o.AddSubProtocol("xmpp");
            o.SetRequestHeader("X-Forwarded-For", "203.0.113.8");
            o.SetRequestHeader("X-Forwarded-Proto", "http");
        });
        Assert.Null((await viaHttp.OpenAsync()).Child("mechanisms", Ns.Sasl));
        await node.Logs.WaitForAsync("from 203.0.113.8 opened (WebSocket over plain HTTP)");
    }

    [Fact]
    public async Task Carbons_client_state_and_the_archive_work_over_websocket_as_over_tcp()
    {
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        await using var phone = await WebSocketTestClient.LoginAsync(_node, "juliet", "juliet-password", "phone");
        await using var laptop = await WebSocketTestClient.LoginAsync(_node, "juliet", "juliet-password", "laptop");
        foreach (var web in new[] { phone, laptop })
        {
            await web.SendAsync("<iq xmlns='jabber:client' type='set' id='carbons'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
            Assert.Equal("result", (await web.ReceiveAsync(e => e.GetAttribute("id") == "carbons")).GetAttribute("type"));
        }
        await laptop.SendAsync("<inactive xmlns='urn:xmpp:csi:0'/>");

        await romeo.SendAsync("<message to='juliet@localhost/phone' type='chat' id='c1'><body>Carried to both</body></message>");
        Assert.Equal("Carried to both", (await phone.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        var carbon = await laptop.ReceiveAsync(e => e.Name == "message");
        Assert.NotNull(carbon.Child("received", "urn:xmpp:carbons:2"));
        await laptop.SendAsync("<active xmlns='urn:xmpp:csi:0'/>");

        await laptop.SendAsync("<iq xmlns='jabber:client' type='set' id='mam'><query xmlns='urn:xmpp:mam:2' queryid='q'/></iq>");
        var archived = await laptop.ReceiveAsync(e => e.Name == "message" && e.Child("result", "urn:xmpp:mam:2") is not null);
        Assert.Contains("Carried to both", archived.ToString());
        Assert.Equal("result", (await laptop.ReceiveAsync(e => e.GetAttribute("id") == "mam")).GetAttribute("type"));
    }

    [Fact]
    public async Task A_web_client_joins_a_room_and_talks_with_a_tcp_occupant()
    {
        var room = Muc.Room("balcony");
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        await romeo.AnnounceAsync();
        await Muc.CreateAsync(romeo, room, "Romeo");
        await using var web = await WebSocketTestClient.LoginAsync(_node, "juliet", "juliet-password", "browser");

        await web.SendAsync($"<presence xmlns='jabber:client' to='{room}/Juliet'><x xmlns='{Ns.Muc}'/></presence>");
        var romeoInRoom = await web.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Romeo");
        Assert.Equal("owner", Muc.Item(romeoInRoom)!.GetAttribute("affiliation"));
        var self = await web.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Juliet");
        Assert.Contains(110, Muc.Codes(self));
        await web.ReceiveAsync(e => e.Name == "message" && e.Child("subject") is not null);
        var julietSeenByRomeo = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Juliet");
        Assert.Equal("juliet@localhost/browser", Muc.Item(julietSeenByRomeo)!.GetAttribute("jid"));

        await web.SendAsync($"<message xmlns='jabber:client' to='{room}' type='groupchat' id='w1'><body>From the balcony</body></message>");
        Assert.Equal(room + "/Juliet", (await Muc.GroupchatAsync(romeo, "From the balcony")).GetAttribute("from"));
        await Muc.SayAsync(romeo, room, "From the garden");
        var heard = await web.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "groupchat" && e.ChildText("body") == "From the garden");
        Assert.Equal(room + "/Romeo", heard.GetAttribute("from"));
    }

    [Fact]
    public async Task A_dropped_websocket_with_push_enabled_wakes_the_push_service_when_a_message_arrives()
    {
        await _node.CreateUserAsync("pushsvc", "pushsvc-password");
        await using var service = await XmppTestClient.LoginAsync(_node, "pushsvc", "pushsvc-password", "app-server");
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        var web = await WebSocketTestClient.LoginAsync(_node, "juliet", "juliet-password", "browser");
        await web.SendAsync("<iq xmlns='jabber:client' type='set' id='push'><enable xmlns='urn:xmpp:push:0' jid='pushsvc@localhost/app-server' node='browser-node'/></iq>");
        Assert.Equal("result", (await web.ReceiveAsync(e => e.GetAttribute("id") == "push")).GetAttribute("type"));
        await web.SendAsync($"<enable xmlns='{Ns.StreamManagement}' resume='true'/>");
        await web.ReceiveAsync(e => e.Name == "enabled");

        // The browser tab is put to sleep: its WebSocket goes without a <close/>.
        web.Drop();
        await web.DisposeAsync();
        await romeo.SendAsync("<message to='juliet@localhost/browser' type='chat'><body>wake up</body></message>");

        var notification = await service.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set");
        Assert.Equal("juliet@localhost", notification.GetAttribute("from"));
        var publish = notification.Child("pubsub", "http://jabber.org/protocol/pubsub")!.Child("publish")!;
        Assert.Equal("browser-node", publish.GetAttribute("node"));
        var summary = publish.Child("item")!.Child("notification", "urn:xmpp:push:0")!.Child("x", Ns.DataForms)!;
        Assert.Equal("romeo@localhost/garden", summary.Children("field").Single(f => f.GetAttribute("var") == "last-message-sender").ChildText("value"));
    }

    [Fact]
    public async Task A_dropped_websocket_is_resumed_with_stream_management_and_nothing_is_lost()
    {
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        var web = await WebSocketTestClient.LoginAsync(_node, "juliet", "juliet-password", "browser");
        await web.SendAsync($"<enable xmlns='{Ns.StreamManagement}' resume='true'/>");
        var enabled = await web.ReceiveAsync(e => e.Name == "enabled");
        var id = enabled.GetAttribute("id")!;
        await romeo.SendAsync("<message to='juliet@localhost/browser' type='chat'><body>before the drop</body></message>");
        await web.ReceiveAsync(e => IsChat(e, "before the drop"));

        // The browser loses its network: no <close/>, no close frame.
        web.Drop();
        await web.DisposeAsync();
        await romeo.SendAsync("<message to='juliet@localhost/browser' type='chat'><body>while you were gone</body></message>");

        await using var resumed = await WebSocketTestClient.ConnectAsync(_node);
        await resumed.OpenAsync();
        var features = await resumed.AuthenticateAsync("juliet", "juliet-password");
        Assert.NotNull(features.Child("sm", Ns.StreamManagement));
        await resumed.SendAsync($"<resume xmlns='{Ns.StreamManagement}' previd='{id}' h='0'/>");
        var answer = await resumed.ReceiveAsync();
        Assert.Equal("resumed", answer.Name);
        await resumed.ReceiveAsync(e => IsChat(e, "before the drop"));
        await resumed.ReceiveAsync(e => IsChat(e, "while you were gone"));
        await romeo.SendAsync("<message to='juliet@localhost/browser' type='chat'><body>welcome back</body></message>");
        await resumed.ReceiveAsync(e => IsChat(e, "welcome back"));
    }

    [Fact]
    public async Task A_handshake_without_the_xmpp_subprotocol_is_refused()
    {
        var status = await WebSocketTestClient.RefusedHandshakeAsync(_node, o => o.AddSubProtocol("mqtt"));
        Assert.Equal(HttpStatusCode.NotImplemented, status);
        await _node.AssertStillServesAsync();
    }

    [Fact]
    public async Task Past_the_connections_per_address_a_handshake_gets_429_and_the_open_session_keeps_working()
    {
        await using var node = await TestNode.StartAsync(o => o.Limits.MaxConnectionsPerIp = 1);
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var first = await WebSocketTestClient.LoginAsync(node, "juliet", "juliet-password", "first");

        Assert.Equal(HttpStatusCode.TooManyRequests, await WebSocketTestClient.RefusedHandshakeAsync(node, o => o.AddSubProtocol("xmpp")));

        await first.SendAsync("<iq xmlns='jabber:client' to='localhost' type='get' id='ping'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", (await first.ReceiveAsync(e => e.GetAttribute("id") == "ping")).GetAttribute("type"));

        // Once the first is closed, its place is free again.
        await first.SendAsync($"<close xmlns='{Ns.Framing}'/>");
        Assert.Equal((null, WebSocketCloseStatus.NormalClosure), await first.ReadUntilClosedAsync());
        await Eventually.TrueAsync(async () =>
        {
            using var socket = new ClientWebSocket();
            socket.Options.AddSubProtocol("xmpp");
            socket.Options.CollectHttpResponseDetails = true;
            try
            {
                await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{node.HttpPort}/xmpp-websocket"), CancellationToken.None);
                return true;
            }
            catch (WebSocketException) when (socket.HttpStatusCode == HttpStatusCode.TooManyRequests)
            {
                return false;
            }
        });
    }

    [Fact]
    public async Task A_page_of_an_origin_that_is_not_allowed_is_refused()
    {
        var status = await WebSocketTestClient.RefusedHandshakeAsync(_node, o =>
        {
            o.AddSubProtocol("xmpp");
            o.SetRequestHeader("Origin", "https://evil.example.org");
        });
        Assert.Equal(HttpStatusCode.Forbidden, status);
        await _node.AssertStillServesAsync();
    }

    [Theory]
    [InlineData("https://intranet.example.com")]
    [InlineData("same origin")]
    public async Task Pages_of_an_allowed_origin_and_of_the_node_itself_connect(string origin)
    {
        await using var web = await WebSocketTestClient.ConnectAsync(_node, o =>
        {
            o.AddSubProtocol("xmpp");
            o.SetRequestHeader("Origin", origin == "same origin" ? $"http://127.0.0.1:{_node.HttpPort}" : origin);
        });
        var features = await web.OpenAsync();
        Assert.NotNull(features.Child("mechanisms", Ns.Sasl));
    }

    [Fact]
    public async Task A_binary_message_is_a_stream_error_and_close_status_1003()
    {
        await using var web = await WebSocketTestClient.ConnectAsync(_node);
        await web.OpenAsync();
        await web.SendAsync(Encoding.UTF8.GetBytes($"<auth xmlns='{Ns.Sasl}' mechanism='PLAIN'/>"), WebSocketMessageType.Binary);
        Assert.Equal(("policy-violation", WebSocketCloseStatus.InvalidMessageType), await web.ReadUntilClosedAsync());
        await _node.AssertStillServesAsync();
    }

    [Theory]
    [InlineData("<message xmlns='jabber:client' to='romeo@localhost'/><message xmlns='jabber:client' to='romeo@localhost'/>")]
    [InlineData("<message xmlns='jabber:client' to='romeo@localhost'><body>half")]
    public async Task A_message_with_two_elements_or_half_of_one_is_not_well_formed(string message)
    {
        await using var web = await WebSocketTestClient.LoginAsync(_node, "juliet", "juliet-password", "browser");
        await web.SendAsync(message);
        Assert.Equal(("not-well-formed", WebSocketCloseStatus.NormalClosure), await web.ReadUntilClosedAsync());
        await _node.AssertStillServesAsync();
    }

    [Fact]
    public async Task A_message_larger_than_the_stanza_limit_is_a_policy_violation_and_close_status_1009()
    {
        await using var web = await WebSocketTestClient.LoginAsync(_node, "juliet", "juliet-password", "browser");
        await web.SendAsync($"<message xmlns='jabber:client' to='romeo@localhost'><body>{new string('x', _node.Options.Limits.MaxStanzaBytes)}</body></message>");
        Assert.Equal(("policy-violation", WebSocketCloseStatus.MessageTooBig), await web.ReadUntilClosedAsync());
        await _node.AssertStillServesAsync();
    }

    [Theory]
    [InlineData("<open xmlns='jabber:client' to='localhost' version='1.0'/>", "invalid-namespace")]
    [InlineData("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'/>", "invalid-namespace")]
    [InlineData("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='2.0'/>", "unsupported-version")]
    [InlineData("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost'/>", "unsupported-version")]
    [InlineData("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='elsewhere.example' version='1.0'/>", "host-unknown")]
    public async Task A_wrong_open_is_answered_with_the_stream_error_of_RFC_7395(string open, string condition)
    {
        await using var web = await WebSocketTestClient.ConnectAsync(_node);
        await web.SendAsync(open);
        var header = await web.ReceiveAsync();
        Assert.Equal(("open", Ns.Framing), (header.Name, header.Namespace));
        Assert.Equal((condition, WebSocketCloseStatus.NormalClosure), await web.ReadUntilClosedAsync());
        await _node.AssertStillServesAsync();
    }

    [Fact]
    public async Task A_web_client_that_stops_reading_is_cut_off_while_others_are_served()
    {
        await using var slow = await WebSocketTestClient.LoginAsync(_node, "juliet", "juliet-password", "browser", receiveBufferSize: 4096);
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        var body = new string('x', 8 * 1024);
        // The queue's bound, and then as much as the sockets' buffers take in on the way (a few MiB on loopback, more
        // or less with the kernel's buffer tuning): sent in rounds of a quarter of the bound until the node cuts Juliet
        // off, at most eight times the bound.
        var round = (int)(_node.Options.Limits.MaxSendQueueBytes / body.Length / 4);
        bool CutOff() => _node.Logs.Lines.Any(line => line.Contains("does not read", StringComparison.Ordinal) && line.Contains("juliet@localhost", StringComparison.Ordinal));
        for (var sent = 0; !CutOff() && sent < 32 * round;)
        {
            for (var i = 0; i < round; i++, sent++)
            {
                await romeo.SendAsync($"<message to='juliet@localhost/browser' id='m{sent}' type='chat'><body>{body}</body></message>");
            }
            await romeo.SendAsync($"<iq to='localhost' type='get' id='ping{sent}'><ping xmlns='urn:xmpp:ping'/></iq>");
            Assert.Equal("result", (await romeo.ReceiveAsync(e => e.GetAttribute("id") == $"ping{sent}")).GetAttribute("type"));
        }

        var (condition, _) = await slow.ReadUntilClosedAsync();
        Assert.Equal("policy-violation", condition);
    }

    [Fact]
    public async Task A_web_client_that_only_answers_pings_is_not_cut_at_the_idle_timeout_as_a_silent_tcp_client_is()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            o.Web.WebSocketPingSeconds = 1;
            o.Sessions.IdleTimeoutSeconds = 2;
        });
        await node.CreateUserAsync("juliet", "juliet-password");
        await node.CreateUserAsync("romeo", "romeo-password");
        await using var web = await WebSocketTestClient.LoginAsync(node, "juliet", "juliet-password", "web");
        // Waiting to receive, the client answers the node's pings and sends nothing else.
        var message = web.ReceiveAsync(e => e.Name == "message");
        await using var silent = await XmppTestClient.LoginAsync(node, "romeo", "romeo-password", "silent");

        Assert.Equal("connection-timeout", await silent.ExpectStreamErrorAsync());
        await using var romeo = await XmppTestClient.LoginAsync(node, "romeo", "romeo-password", "garden");
        await romeo.SendAsync("<message to='juliet@localhost/web' type='chat'><body>still there</body></message>");
        Assert.Equal("still there", (await message).ChildText("body"));
    }
}
