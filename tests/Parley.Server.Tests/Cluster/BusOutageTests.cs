using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Parley.Cluster.Bus;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;
using Parley.Tests.Shared;
using Parley.Xml;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// nats-server stopped (by its process id) and started again on the same port: stanzas for the other node wait in a
/// bounded buffer and go out when it is back; one that finds the buffer full, or waits past its limit, is answered
/// with &lt;remote-server-timeout/&gt;; the nodes reconnect by themselves.
/// </summary>
public sealed class BusOutageTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    private async Task<(TestNode A, TestNode B)> TwoNodesAsync(Action<ParleyOptions>? configureA = null, Action<ParleyOptions>? configureBoth = null, string bobsHome = "b")
    {
        var a = await _cluster.StartNodeAsync("a", options =>
        {
            configureBoth?.Invoke(options);
            configureA?.Invoke(options);
        });
        var b = await _cluster.StartNodeAsync("b", configureBoth);
        await a.CreateUserAsync("alice", "alice-password");
        await a.CreateUserAsync("bob", "bob-password");
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"), ("bob@localhost", bobsHome));
        return (a, b);
    }

    private static ClusterBus Bus(TestNode node) => node.App.Web.Services.GetRequiredService<ClusterBus>();

    private static bool IsRemoteServerTimeout(Element stanza) =>
        stanza.GetAttribute("type") == "error" && stanza.Child("error")?.Child("remote-server-timeout", "urn:ietf:params:xml:ns:xmpp-stanzas") is not null;

    [Fact]
    public async Task Messages_sent_while_nats_server_is_down_for_ten_seconds_arrive_in_order_once_it_is_back()
    {
        var (a, b) = await TwoNodesAsync();
        await using var _ = a;
        await using var __ = b;
        await using var alice = await ClusterNodes.OnlineAsync(a, "alice", "desk");
        await using var bob = await ClusterNodes.OnlineAsync(b, "bob", "phone");

        await _cluster.Nats.StopAsync();
        var down = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => !Bus(a).Connected && !Bus(b).Connected);
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='held1'><body>first, while the bus is down</body></message>");
        await bob.SendAsync("<message to='alice@localhost' type='chat' id='held-back'><body>from the other side</body></message>");
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='held2'><body>second</body></message>");
        await Eventually.TrueAsync(() => Bus(a).Held == 2 && Bus(b).Held == 1);
        while (down.Elapsed < TimeSpan.FromSeconds(10))
        {
            // The outage lasts ten seconds; nothing may cross meanwhile.
            Assert.Equal(2, Bus(a).Held);
            await Task.Delay(100);
        }
        await _cluster.Nats.StartAgainAsync();

        var first = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") is "held1" or "held2");
        var second = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") is "held1" or "held2");
        Assert.Equal("held1 held2", $"{first.GetAttribute("id")} {second.GetAttribute("id")}");
        Assert.Equal("first, while the bus is down", first.ChildText("body"));
        Assert.Equal("from the other side", (await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "held-back")).ChildText("body"));
        // A held stanza leaves the buffer once the other node acknowledged it, which may come just after delivery.
        await Eventually.TrueAsync(() => Bus(a).Held == 0);

        // The cluster is itself again: chat crosses straight away.
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='after'><body>back</body></message>");
        Assert.Equal("back", (await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "after")).ChildText("body"));
    }

    [Fact]
    public async Task A_message_that_finds_the_buffer_full_or_waits_past_its_limit_gets_remote_server_timeout()
    {
        var (a, b) = await TwoNodesAsync(options =>
        {
            options.Cluster.BusBufferStanzas = 1;
            options.Cluster.BusBufferSeconds = 2;
        });
        await using var _ = a;
        await using var __ = b;
        await using var alice = await ClusterNodes.OnlineAsync(a, "alice", "desk");
        await using var bob = await ClusterNodes.OnlineAsync(b, "bob", "phone");

        await _cluster.Nats.StopAsync();
        await Eventually.TrueAsync(() => !Bus(a).Connected);
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='waits'><body>held</body></message>");
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='full'><body>no room</body></message>");

        var full = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "full");
        Assert.True(IsRemoteServerTimeout(full), full.ToXml());
        Assert.Contains("holds as many stanzas for other nodes as it may", full.Child("error")!.ChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas"));
        var expired = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "waits");
        Assert.True(IsRemoteServerTimeout(expired), expired.ToXml());
        Assert.Equal(0, Bus(a).Held);

        await _cluster.Nats.StartAgainAsync();
        await Eventually.TrueAsync(() => Bus(a).Connected && Bus(b).Connected);
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='again'><body>back?</body></message>");
        var before = new List<string?>();
        await bob.ReceiveAsync(e =>
        {
            before.Add(e.GetAttribute("id"));
            return e.Name == "message" && e.GetAttribute("id") == "again";
        });
        // Neither answered message was sent after all.
        Assert.DoesNotContain("waits", before);
        Assert.DoesNotContain("full", before);
    }

    [Fact]
    public async Task With_redirect_off_what_a_relayed_session_sends_and_is_sent_while_nats_server_is_down_arrives_once_it_is_back()
    {
        var (a, b) = await TwoNodesAsync(configureBoth: options => options.Cluster.Redirect = false, bobsHome: "a");
        await using var _ = a;
        await using var __ = b;
        await using var bob = await ClusterNodes.OnlineAsync(a, "bob", "phone");
        await using var laptop = await ClusterNodes.OnlineAsync(b, "alice", "laptop");

        await _cluster.Nats.StopAsync();
        await Eventually.TrueAsync(() => !Bus(a).Connected && !Bus(b).Connected);
        await laptop.SendAsync("<message to='bob@localhost' type='chat' id='out'><body>sent while down</body></message>");
        await bob.SendAsync("<message to='alice@localhost/laptop' type='chat' id='in'><body>sent to her while down</body></message>");
        await _cluster.Nats.StartAgainAsync();

        Assert.Equal("sent while down", (await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "out")).ChildText("body"));
        Assert.Equal("sent to her while down", (await laptop.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "in")).ChildText("body"));
    }

    [Fact]
    public async Task A_message_the_other_node_took_is_not_returned_to_its_sender_as_failed_when_the_answer_is_lost()
    {
        // The bus lets node b take stanzas but not answer them: its answers are lost as when the server carrying
        // them stops (which a cluster of nats-servers showed once, with the sender told a delivered message failed).
        await using var bus = await NatsServer.StartAsync("""
            authorization {
              users = [
                { user: a, password: a-secret }
                { user: b, password: b-secret, permissions: { publish: { deny: ["_INBOX.>"] } } }
              ]
            }
            """);
        var logs = new LogCapture();
        await using var a = await _cluster.StartNodeAsync("a", options => options.Cluster.Bus = $"nats://a:a-secret@127.0.0.1:{bus.Port}", logs);
        await using var b = await _cluster.StartNodeAsync("b", options => options.Cluster.Bus = $"nats://b:b-secret@127.0.0.1:{bus.Port}");
        await a.CreateUserAsync("alice", "alice-password");
        await a.CreateUserAsync("bob", "bob-password");
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"), ("bob@localhost", "b"));
        await using var alice = await ClusterNodes.OnlineAsync(a, "alice", "desk");
        await using var bob = await ClusterNodes.OnlineAsync(b, "bob", "phone");

        await alice.SendAsync("<message to='bob@localhost' type='chat' id='taken'><body>delivered, answer lost</body></message>");
        Assert.Equal("delivered, answer lost", (await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "taken")).ChildText("body"));
        await Eventually.TrueAsync(() => logs.Lines.Any(line => line.Contains("archived a message for bob@localhost without its answer reaching this node", StringComparison.Ordinal)));

        // Nothing came back to alice for it: the next message she gets is bob's answer.
        await bob.SendAsync("<message to='alice@localhost/desk' type='chat' id='reply'><body>got it</body></message>");
        var next = await alice.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("reply", next.GetAttribute("id"));
    }
}
