using Parley.Server.Tests.Support;
using Parley.Tests.Shared;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// The bus without a single point of failure: three nats-servers joined in a NATS cluster, every node given all three
/// as its <c>--bus</c>. Two of the servers stop (by process id), then they come back and the third stops: each time the
/// nodes move to the servers left and chat goes on, with what was sent meanwhile delivered once, in order.
/// </summary>
public sealed class NatsClusterTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();
    private NatsServer[] _bus = [];

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        _bus = await NatsServer.StartClusterAsync(3);
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _bus)
        {
            await server.DisposeAsync();
        }
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task Nodes_given_three_nats_servers_chat_on_while_servers_stop_under_them()
    {
        var seeds = NatsServer.SeedUrls(_bus);
        await using var a = await _cluster.StartNodeAsync("a", options => options.Cluster.Bus = seeds);
        await using var b = await _cluster.StartNodeAsync("b", options => options.Cluster.Bus = seeds);
        await a.CreateUserAsync("alice", "alice-password");
        await a.CreateUserAsync("bob", "bob-password");
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"), ("bob@localhost", "b"));
        await using var alice = await ClusterNodes.OnlineAsync(a, "alice", "desk");
        await using var bob = await ClusterNodes.OnlineAsync(b, "bob", "phone");
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='before'><body>three servers</body></message>");
        Assert.Equal("three servers", (await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "before")).ChildText("body"));

        // Whichever connections were on the first two servers move to the third...
        await _bus[0].StopAsync();
        await _bus[1].StopAsync();
        await ChatWhileTheBusMovesAsync(alice, bob, "first");
        // ...and then all of them, back to the first two.
        await _bus[0].StartAgainAsync();
        await _bus[1].StartAgainAsync();
        await NatsServer.WaitUntilRoutedAsync(_bus);
        await _bus[2].StopAsync();
        await ChatWhileTheBusMovesAsync(alice, bob, "second");
    }

    private static async Task ChatWhileTheBusMovesAsync(XmppTestClient alice, XmppTestClient bob, string move)
    {
        await alice.SendAsync($"<message to='bob@localhost' type='chat' id='{move}1'><body>while the bus moves</body></message>");
        await bob.SendAsync($"<message to='alice@localhost' type='chat' id='{move}-back'><body>from the other side</body></message>");
        await alice.SendAsync($"<message to='bob@localhost' type='chat' id='{move}2'><body>second</body></message>");

        var first = await bob.ReceiveAsync(e => e.Name == "message");
        var second = await bob.ReceiveAsync(e => e.Name == "message");
        Assert.Equal($"{move}1 {move}2", $"{first.GetAttribute("id")} {second.GetAttribute("id")}");
        Assert.Equal("from the other side", (await alice.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        await alice.SendAsync($"<message to='bob@localhost' type='chat' id='{move}-after'><body>moved</body></message>");
        // The next message bob gets is this one: nothing sent while the bus moved came twice.
        Assert.Equal($"{move}-after", (await bob.ReceiveAsync(e => e.Name == "message")).GetAttribute("id"));
    }
}
