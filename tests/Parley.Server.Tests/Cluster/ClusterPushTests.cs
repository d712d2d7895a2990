using Parley.Server.Sessions;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// Push notifications (XEP-0357) across nodes: juliet registers her phone for push on node a, her home; romeo and the
/// push service (an account signed in, as in <c>Modules.PushTests</c>) are on node b.
/// </summary>
public sealed class ClusterPushTests : IAsyncLifetime
{
    private const string Service = "pushsvc@localhost/app-server";
    private readonly ClusterNodes _cluster = new();
    private TestNode _a = null!;
    private TestNode _b = null!;

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        _a = await _cluster.StartNodeAsync("a", o => o.Sessions.ResumeTimeoutSeconds = 60);
        _b = await _cluster.StartNodeAsync("b", o => o.Sessions.ResumeTimeoutSeconds = 60);
        foreach (var user in new[] { "juliet", "romeo", "pushsvc" })
        {
            await _a.CreateUserAsync(user, user + "-password");
        }
        await _cluster.AssignAsync([_a, _b], ("juliet@localhost", "a"), ("romeo@localhost", "b"), ("pushsvc@localhost", "b"));
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    /// <param name="hibernated">true: her stream-management session waits for the phone to resume; false: she signed out.</param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_message_from_another_node_to_a_user_whose_phone_is_away_wakes_her_push_service_there(bool hibernated)
    {
        await using var service = await ClusterNodes.OnlineAsync(_b, "pushsvc", "app-server");
        await using var romeo = await ClusterNodes.OnlineAsync(_b, "romeo", "garden");
        var juliet = await ClusterNodes.OnlineAsync(_a, "juliet", "phone");
        await juliet.SendAsync($"<iq type='set' id='push'><enable xmlns='urn:xmpp:push:0' jid='{Service}' node='phone-node'/></iq>");
        Assert.Equal("result", (await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "push")).GetAttribute("type"));
        if (hibernated)
        {
            await juliet.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
            await juliet.ReceiveAsync(e => e.Name == "enabled");
            // The connection just drops, as a sleeping phone's does.
            await juliet.DisposeAsync();
            await Eventually.TrueAsync(() => _a.App.Node.Sessions.All.Any(session => session.Sink is HibernatedSink));
        }
        else
        {
            await juliet.SendAsync("</stream:stream>");
            Assert.True(await juliet.IsClosedAsync());
            await juliet.DisposeAsync();
        }

        await romeo.SendAsync("<message to='juliet@localhost' type='chat' id='r1'><body>wake up</body></message>");

        var notification = await service.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set");
        Assert.Equal("juliet@localhost", notification.GetAttribute("from"));
        Assert.Equal("phone-node", notification.Child("pubsub", "http://jabber.org/protocol/pubsub")!.Child("publish")!.GetAttribute("node"));
        var summary = PushTests.Summary(notification);
        Assert.Equal("romeo@localhost/garden", PushTests.Field(summary, "last-message-sender"));
        Assert.Equal("1", PushTests.Field(summary, "message-count"));
    }
}
