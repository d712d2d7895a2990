using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Routing;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Routing;

/// <summary>
/// Addresses this node does not serve leave through the remote-route seam, as stanzas, and what
/// comes back re-enters through the router: presence to a contact elsewhere is probes and
/// broadcasts out and presence in, as the cluster bus and server-to-server will carry them.
/// </summary>
public sealed class RemoteRouteTests : IAsyncLifetime
{
    private const string Elsewhere = "remote.example";

    private readonly FakeRemote _remote = new();
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(services: s => s.AddSingleton<IRemoteRoute>(_remote));
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.App.Node.Storage.Rosters.SetItemAsync("juliet@localhost", new RosterItem($"romeo@{Elsewhere}", "Romeo", Subscription.Both, false, false, []));
    }

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    private Router Router => _node.App.Node.Router;

    [Fact]
    public async Task Presence_to_a_contact_elsewhere_goes_out_as_a_probe_and_a_broadcast_and_the_answer_comes_in()
    {
        await using var juliet = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "balcony");
        await juliet.SendAsync("<presence><status>on the balcony</status></presence>");

        // The broadcast, then the probe (§4.2.2, §4.3.1).
        var broadcast = await _remote.ReceiveAsync(s => s.Name == "presence");
        Assert.Null(broadcast.GetAttribute("type"));
        Assert.Equal($"romeo@{Elsewhere}", broadcast.GetAttribute("to"));
        Assert.Equal("on the balcony", broadcast.ChildText("status"));
        var probe = await _remote.ReceiveAsync(s => s.Name == "presence");
        Assert.Equal("probe", probe.GetAttribute("type"));
        Assert.Equal("juliet@localhost/balcony", probe.GetAttribute("from"));
        Assert.Equal($"romeo@{Elsewhere}", probe.GetAttribute("to"));

        // The other side answers the probe.
        var answer = ElementParser.Parse($"<presence from='romeo@{Elsewhere}/garden' to='juliet@localhost/balcony'><show>away</show></presence>", Ns.Client);
        await Router.RouteAsync(answer, Jid.Parse($"romeo@{Elsewhere}/garden"), Jid.Parse("juliet@localhost/balcony"));

        var seen = await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"romeo@{Elsewhere}/garden");
        Assert.Equal("away", seen.ChildText("show"));
    }

    [Fact]
    public async Task A_user_of_a_served_domain_homed_on_another_node_is_reached_through_the_route_and_the_servers_answers_too()
    {
        await using var juliet = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "balcony");
        await juliet.SendAsync("<message to='mercutio@localhost' type='chat' id='m1'><body>a plague</body></message>");
        var message = await _remote.ReceiveAsync(s => s.Name == "message");
        Assert.Equal("a plague", message.ChildText("body"));

        // A ping from mercutio's node to this server: the result goes back through the route, not to a local session.
        var ping = ElementParser.Parse("<iq from='mercutio@localhost/verona' to='localhost' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>", Ns.Client);
        await Router.RouteArrivedAsync(ping, Jid.Parse("mercutio@localhost/verona"), Jid.Parse("localhost"));
        var result = await _remote.ReceiveAsync(s => s.Name == "iq" && s.GetAttribute("id") == "p1");
        Assert.Equal("result", result.GetAttribute("type"));
        Assert.Equal("mercutio@localhost/verona", result.GetAttribute("to"));
    }

    [Fact]
    public async Task Messages_and_iqs_go_out_and_their_answers_come_back()
    {
        await using var juliet = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "balcony");
        await juliet.AnnounceAsync();

        await juliet.SendAsync($"<message to='romeo@{Elsewhere}' type='chat' id='m1'><body>Wherefore art thou?</body></message>");
        var message = await _remote.ReceiveAsync(s => s.Name == "message");
        Assert.Equal("juliet@localhost/balcony", message.GetAttribute("from"));
        Assert.Equal("Wherefore art thou?", message.ChildText("body"));

        await juliet.SendAsync($"<iq to='romeo@{Elsewhere}/garden' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>");
        var iq = await _remote.ReceiveAsync(s => s.Name == "iq");
        Assert.Equal("v1", iq.GetAttribute("id"));

        var result = ElementParser.Parse($"<iq from='romeo@{Elsewhere}/garden' to='juliet@localhost/balcony' type='result' id='v1'><query xmlns='jabber:iq:version'><name>Quill</name></query></iq>", Ns.Client);
        await Router.RouteAsync(result, Jid.Parse($"romeo@{Elsewhere}/garden"), Jid.Parse("juliet@localhost/balcony"));
        var answered = await juliet.ReceiveAsync(e => e.GetAttribute("id") == "v1");
        Assert.Equal("Quill", answered.Child("query", "jabber:iq:version")!.ChildText("name", "jabber:iq:version"));

        var reply = ElementParser.Parse($"<message from='romeo@{Elsewhere}/garden' to='juliet@localhost' type='chat' id='m2'><body>Here.</body></message>", Ns.Client);
        await Router.RouteAsync(reply, Jid.Parse($"romeo@{Elsewhere}/garden"), Jid.Parse("juliet@localhost"));
        Assert.Equal("Here.", (await juliet.ReceiveAsync(e => e.GetAttribute("id") == "m2")).ChildText("body"));
    }

    [Fact]
    public async Task A_probe_from_elsewhere_is_answered_for_an_approved_contact_only()
    {
        await _node.CreateUserAsync("nurse", "nurse-password");
        await using var juliet = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "balcony");
        await juliet.AnnounceAsync("<presence><show>chat</show></presence>");

        var fromStranger = ElementParser.Parse($"<presence type='probe' from='tybalt@{Elsewhere}' to='juliet@localhost'/>", Ns.Client);
        await Router.RouteAsync(fromStranger, Jid.Parse($"tybalt@{Elsewhere}"), Jid.Parse("juliet@localhost"));
        var fromRomeo = ElementParser.Parse($"<presence type='probe' from='romeo@{Elsewhere}/garden' to='juliet@localhost'/>", Ns.Client);
        await Router.RouteAsync(fromRomeo, Jid.Parse($"romeo@{Elsewhere}/garden"), Jid.Parse("juliet@localhost"));

        // Only Romeo, whom Juliet approved, gets her presence; the stranger's probe goes unanswered.
        var answer = await _remote.ReceiveAsync(s => s.Name == "presence" && s.GetAttribute("type") is null && s.GetAttribute("to") != $"romeo@{Elsewhere}");
        Assert.Equal($"romeo@{Elsewhere}/garden", answer.GetAttribute("to"));
        Assert.Equal("juliet@localhost/balcony", answer.GetAttribute("from"));
        Assert.Equal("chat", answer.ChildText("show"));
    }

    [Fact]
    public async Task A_pep_event_for_a_contact_elsewhere_goes_out_to_its_bare_jid()
    {
        await using var juliet = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "balcony");
        await juliet.AnnounceAsync();

        await juliet.SendAsync("<iq type='set' id='p1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='http://jabber.org/protocol/mood'>"
            + "<item id='current'><mood xmlns='http://jabber.org/protocol/mood'><happy/></mood></item></publish></pubsub></iq>");

        Assert.Equal("result", (await juliet.ReceiveAsync(e => e.GetAttribute("id") == "p1")).GetAttribute("type"));
        var ev = await _remote.ReceiveAsync(s => s.Name == "message");
        Assert.Equal(("juliet@localhost", $"romeo@{Elsewhere}", "headline"), (ev.GetAttribute("from"), ev.GetAttribute("to"), ev.GetAttribute("type")));
        Assert.Equal("http://jabber.org/protocol/mood", ev.Child("event", Ns.PubSubEvent)!.Child("items", Ns.PubSubEvent)!.GetAttribute("node"));
    }

    [Fact]
    public async Task A_domain_no_route_serves_still_gets_remote_server_not_found()
    {
        await using var juliet = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "balcony");

        await juliet.SendAsync("<message to='nurse@nowhere.example' type='chat' id='m1'><body>hello?</body></message>");
        var bounced = await juliet.ReceiveAsync(e => e.GetAttribute("id") == "m1");
        Assert.Equal("error", bounced.GetAttribute("type"));
        Assert.NotNull(bounced.Child("error")!.Child("remote-server-not-found", Ns.Stanzas));
    }

    /// <summary>Stands in for another server: keeps what is sent to remote.example.</summary>
    private sealed class FakeRemote : IRemoteRoute
    {
        private readonly Channel<Element> _sent = Channel.CreateUnbounded<Element>();

        // Mercutio is a user of this node's domain homed on another node of its cluster.
        public bool Serves(Jid to) => to.Domain == Elsewhere || to.Local == "mercutio";

        public ValueTask SendAsync(Element stanza, Jid from, Jid to)
        {
            _sent.Writer.TryWrite(stanza);
            return ValueTask.CompletedTask;
        }

        public async Task<Element> ReceiveAsync(Func<Element, bool> match)
        {
            using var timeout = new CancellationTokenSource(XmppTestClient.Deadline);
            while (true)
            {
                var stanza = await _sent.Reader.ReadAsync(timeout.Token);
                if (match(stanza))
                {
                    return stanza;
                }
            }
        }
    }
}
