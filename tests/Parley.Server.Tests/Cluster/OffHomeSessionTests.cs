using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using Parley.Cluster.Relay;
using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// Cluster:Redirect off: alice, homed on node a, is served on both nodes at once — a session on a and one on b — and
/// RFC 6121 delivery, presence broadcast, carbons and roster pushes hold over both as on one node.
/// </summary>
public sealed class OffHomeSessionTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();
    private TestNode _a = null!;
    private TestNode? _b;

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        _a = await _cluster.StartNodeAsync("a", options => options.Cluster.Redirect = false);
        _b = await _cluster.StartNodeAsync("b", options => options.Cluster.Redirect = false);
        foreach (var user in new[] { "alice", "bob" })
        {
            await _a.CreateUserAsync(user, user + "-password");
        }
        var rosters = _a.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("alice@localhost", new RosterItem("bob@localhost", null, Subscription.Both, false, false, []));
        await rosters.SetItemAsync("bob@localhost", new RosterItem("alice@localhost", null, Subscription.Both, false, false, []));
        await _cluster.AssignAsync([_a, _b], ("alice@localhost", "a"), ("bob@localhost", "a"));
    }

    public async Task DisposeAsync()
    {
        if (_b is not null)
        {
            await _b.DisposeAsync();
        }
        await _a.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    /// <summary>
    /// Waits until the session's initial presence has been handled to the end, stored messages handed over included: a
    /// ping its node answers after that presence. A message to the bare JID sent before then still reaches every
    /// resource, this one from storage after its stored messages (docs/clustering.md); waiting keeps what the test
    /// reads in the order it expects.
    /// </summary>
    private static async Task HandedItsStoredMessagesAsync(XmppTestClient client)
    {
        await client.SendAsync("<iq to='localhost' type='get' id='reachable'><ping xmlns='urn:xmpp:ping'/></iq>");
        await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "reachable");
    }

    /// <summary>Reads up to the message <paramref name="id"/>, returning everything that came before it.</summary>
    private static async Task<List<Element>> UntilMessageAsync(XmppTestClient client, string id)
    {
        var before = new List<Element>();
        await client.ReceiveAsync(e =>
        {
            if (e.Name == "message" && e.GetAttribute("id") == id)
            {
                return true;
            }
            before.Add(e);
            return false;
        });
        return before;
    }

    [Fact]
    public async Task A_message_to_the_bare_jid_reaches_both_sessions_and_one_to_a_full_jid_only_that_one()
    {
        await using var bob = await ClusterNodes.OnlineAsync(_a, "bob", "phone");
        await using var desk = await ClusterNodes.OnlineAsync(_a, "alice", "desk");
        await using var laptop = await ClusterNodes.OnlineAsync(_b!, "alice", "laptop");
        await HandedItsStoredMessagesAsync(desk);
        await HandedItsStoredMessagesAsync(laptop);

        await bob.SendAsync("<message to='alice@localhost' type='chat' id='bare'><body>to both</body></message>");
        Assert.Equal("to both", (await desk.ReceiveAsync(e => e.GetAttribute("id") == "bare")).ChildText("body"));
        Assert.Equal("to both", (await laptop.ReceiveAsync(e => e.GetAttribute("id") == "bare")).ChildText("body"));

        await bob.SendAsync("<message to='alice@localhost/laptop' type='chat' id='full'><body>laptop only</body></message>");
        await bob.SendAsync("<message to='alice@localhost' type='chat' id='marker'><body>after</body></message>");
        Assert.Contains(await UntilMessageAsync(laptop, "marker"), e => e.GetAttribute("id") == "full");
        Assert.DoesNotContain(await UntilMessageAsync(desk, "marker"), e => e.GetAttribute("id") == "full");

        // The laptop's session is a's: a holds both, b none of its own.
        Assert.Equal(3, _a.App.Node.Sessions.All.Count());
        Assert.Empty(_b!.App.Node.Sessions.All);
        Assert.Equal(1, _b.App.Web.Services.GetRequiredService<SessionRelay>().Fronted);
    }

    [Fact]
    public async Task Presence_reaches_a_contact_once_per_resource_and_carbons_and_roster_pushes_reach_both_sessions()
    {
        await using var bob = await ClusterNodes.OnlineAsync(_a, "bob", "phone");
        // The probes of bob's initial presence are answered before alice comes, so each presence he gets is a broadcast.
        await bob.SendAsync("<iq to='localhost' type='get' id='probed'><ping xmlns='urn:xmpp:ping'/></iq>");
        await bob.ReceiveAsync(e => e.GetAttribute("id") == "probed");
        await using var desk = await ClusterNodes.OnlineAsync(_a, "alice", "desk");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
        await using var laptop = await ClusterNodes.OnlineAsync(_b!, "alice", "laptop");
        await laptop.SendAsync("<message to='bob@localhost' type='chat' id='after-presence'><body>hi</body></message>");

        var before = await UntilMessageAsync(bob, "after-presence");
        Assert.Single(before, e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/laptop");
        Assert.DoesNotContain(before, e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
        // Each of alice's sessions sees the other's presence.
        await desk.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/laptop");

        await desk.SendAsync("<iq type='set' id='carbons'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
        await desk.ReceiveAsync(e => e.GetAttribute("id") == "carbons" && e.GetAttribute("type") == "result");
        await laptop.SendAsync("<message to='bob@localhost' type='chat' id='copied'><body>from the laptop</body></message>");
        var carbon = await desk.ReceiveAsync(e => e.Name == "message" && e.Child("sent", "urn:xmpp:carbons:2") is not null);
        Assert.Equal("copied", carbon.Child("sent", "urn:xmpp:carbons:2")!.Child("forwarded", "urn:xmpp:forward:0")!.Child("message", Ns.Client)!.GetAttribute("id"));

        await laptop.SendAsync("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
        await laptop.ReceiveAsync(e => e.GetAttribute("id") == "roster" && e.GetAttribute("type") == "result");
        await desk.SendAsync("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
        await desk.ReceiveAsync(e => e.GetAttribute("id") == "roster" && e.GetAttribute("type") == "result");
        await laptop.SendAsync("<iq type='set' id='add'><query xmlns='jabber:iq:roster'><item jid='carol@localhost' name='Carol'/></query></iq>");
        var push = await desk.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set" && e.Child("query", "jabber:iq:roster") is not null);
        Assert.Equal("carol@localhost", push.Child("query", "jabber:iq:roster")!.Child("item", "jabber:iq:roster")!.GetAttribute("jid"));
    }

    [Fact]
    public async Task When_the_node_of_one_session_stops_the_contacts_see_that_resource_go_and_the_other_session_keeps_working()
    {
        await using var bob = await ClusterNodes.OnlineAsync(_a, "bob", "phone");
        await using var desk = await ClusterNodes.OnlineAsync(_a, "alice", "desk");
        var laptop = await ClusterNodes.OnlineAsync(_b!, "alice", "laptop");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/laptop");

        await _b!.DisposeAsync();
        _b = null;
        await laptop.DisposeAsync();

        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/laptop" && e.GetAttribute("type") == "unavailable");
        await Eventually.TrueAsync(() => _a.App.Node.Sessions.SessionsOf(Jid.Parse("alice@localhost")).Length == 1);
        await bob.SendAsync("<message to='alice@localhost' type='chat' id='still'><body>still there?</body></message>");
        Assert.Equal("still there?", (await desk.ReceiveAsync(e => e.GetAttribute("id") == "still")).ChildText("body"));
        await desk.SendAsync("<message to='bob@localhost' type='chat' id='yes'><body>yes</body></message>");
        Assert.Equal("yes", (await bob.ReceiveAsync(e => e.GetAttribute("id") == "yes")).ChildText("body"));
    }

    [Fact]
    public async Task A_message_on_a_relay_subject_that_is_not_one_is_dropped_and_relaying_goes_on()
    {
        await using (var stranger = new NatsConnection(NatsOpts.Default with { Url = _cluster.Nats.Url }))
        {
            await stranger.ConnectAsync();
            await stranger.PublishAsync("parley.relay.a", "<message to='bob@localhost'><body>cut"u8.ToArray());
            var unknown = new NatsHeaders { ["Parley-Op"] = "explode", ["Parley-Front"] = "b", ["Parley-Session"] = "1" };
            await stranger.PublishAsync("parley.relay.a", "<message/>"u8.ToArray(), unknown);
            var strangersSession = new NatsHeaders { ["Parley-Op"] = "stanza", ["Parley-Front"] = "mallory", ["Parley-Session"] = "7" };
            await stranger.PublishAsync("parley.relay.a", "<message to='bob@localhost'><body>from nowhere</body></message>"u8.ToArray(), strangersSession);
            // The server has taken all three once it answers a ping: a connection disposed at once may drop what it buffered.
            await stranger.PingAsync();
        }
        await using var bob = await ClusterNodes.OnlineAsync(_a, "bob", "phone");
        await using var laptop = await ClusterNodes.OnlineAsync(_b!, "alice", "laptop");

        await laptop.SendAsync("<message to='bob@localhost' type='chat' id='after'><body>still relayed</body></message>");

        var before = await UntilMessageAsync(bob, "after");
        Assert.DoesNotContain(before, e => e.Name == "message");
        await Eventually.TrueAsync(() => _a.Logs.Lines.Count(line => line.Contains("A message on parley.relay.a is not a relay message with its headers; dropped", StringComparison.Ordinal)) == 2);
    }

    [Fact]
    public async Task A_session_whose_account_is_moved_to_another_node_is_asked_to_sign_in_again_and_is_then_relayed_there()
    {
        var onA = await ClusterNodes.OnlineAsync(_a, "alice", "desk");

        var moved = await _cluster.ParleyAsync("cluster", "assign", "alice@localhost", "--node", "b");

        Assert.True(moved.ExitCode == 0, moved.Error);
        Assert.Equal("reset", await onA.ExpectStreamErrorAsync());
        await onA.DisposeAsync();
        // Each node reads the move at its own heartbeat; until b has, b would refuse to run the session.
        await Eventually.TrueAsync(() => ClusterNodes.View(_b!).HomeOf(Jid.Parse("alice@localhost")) == "b");
        await using var again = await ClusterNodes.OnlineAsync(_a, "alice", "desk");
        Assert.Single(_b!.App.Node.Sessions.SessionsOf(Jid.Parse("alice@localhost")));
        Assert.Empty(_a.App.Node.Sessions.SessionsOf(Jid.Parse("alice@localhost")));
    }

    [Fact]
    public async Task A_relayed_session_with_stream_management_is_resumed_on_its_node_and_nothing_is_lost()
    {
        await using var bob = await ClusterNodes.OnlineAsync(_a, "bob", "phone");
        var laptop = await ClusterNodes.OnlineAsync(_b!, "alice", "laptop");
        await laptop.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        var id = (await laptop.ReceiveAsync(e => e.Name == "enabled")).GetAttribute("id");
        await bob.SendAsync("<message to='alice@localhost/laptop' type='chat' id='before'><body>before the drop</body></message>");
        await laptop.ReceiveAsync(e => e.GetAttribute("id") == "before");

        // The connection goes without a closing tag: the session waits on b to be resumed, and a keeps it.
        await laptop.DisposeAsync();
        await bob.SendAsync("<message to='alice@localhost/laptop' type='chat' id='gone'><body>while you were gone</body></message>");
        await using var resumed = await XmppTestClient.ConnectAsync(_b!.C2sTlsPort, directTls: true);
        await resumed.OpenStreamAsync();
        await resumed.AuthenticateAsync("alice", "alice-password");
        await resumed.SendAsync($"<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>");

        Assert.Equal("resumed", (await resumed.ReceiveAsync(e => e.Namespace == "urn:xmpp:sm:3")).Name);
        await resumed.ReceiveAsync(e => e.GetAttribute("id") == "before");
        await resumed.ReceiveAsync(e => e.GetAttribute("id") == "gone");
        await bob.SendAsync("<message to='alice@localhost' type='chat' id='back'><body>welcome back</body></message>");
        await resumed.ReceiveAsync(e => e.GetAttribute("id") == "back");
        Assert.Single(_a.App.Node.Sessions.SessionsOf(Jid.Parse("alice@localhost")));
    }

    [Fact]
    public async Task A_resource_bound_on_the_other_node_replaces_the_same_resource_on_the_home_node()
    {
        await using var bob = await ClusterNodes.OnlineAsync(_a, "bob", "phone");
        var first = await ClusterNodes.OnlineAsync(_a, "alice", "laptop");

        await using var second = await ClusterNodes.OnlineAsync(_b!, "alice", "laptop");

        Assert.Equal("conflict", await first.ExpectStreamErrorAsync());
        await first.DisposeAsync();
        await bob.SendAsync("<message to='alice@localhost/laptop' type='chat' id='which'><body>the new one</body></message>");
        Assert.Equal("the new one", (await second.ReceiveAsync(e => e.GetAttribute("id") == "which")).ChildText("body"));
        await Eventually.TrueAsync(() => _a.App.Node.Sessions.SessionsOf(Jid.Parse("alice@localhost")).Length == 1);
    }
}
