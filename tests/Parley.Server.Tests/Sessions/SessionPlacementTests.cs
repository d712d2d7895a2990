using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Sessions;

/// <summary>A node that does not serve an account sends its client to the node that does, before a resource is bound.</summary>
public sealed class SessionPlacementTests
{
    private sealed class ServedElsewhere : ISessionPlacement
    {
        public string? OtherHostFor(Jid account) => account.Local == "bob" ? "node-b.example.com:5222" : null;
    }

    [Fact]
    public async Task An_account_served_by_another_node_gets_see_other_host_at_bind_and_others_are_served()
    {
        await using var node = await TestNode.StartAsync(services: s => s.AddSingleton<ISessionPlacement, ServedElsewhere>());
        await node.CreateUserAsync("bob", "bob-password");
        await node.CreateUserAsync("alice", "alice-password");

        await using var bob = await XmppTestClient.ConnectAsync(node.C2sPort);
        await bob.OpenStreamAsync();
        await bob.StartTlsAsync();
        await bob.AuthenticateAsync("bob", "bob-password");
        await bob.SendAsync("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");

        Assert.Equal("see-other-host", await bob.ExpectStreamErrorAsync());
        Assert.Contains(node.Logs.Lines, line => line.Contains("bob@localhost is served by another node; sent to node-b.example.com:5222", StringComparison.Ordinal));
        Assert.Equal(0, node.App.Node.Sessions.Count);

        await using var alice = await XmppTestClient.LoginAsync(node, "alice", "alice-password");
        Assert.Equal(1, node.App.Node.Sessions.Count);
    }
}
