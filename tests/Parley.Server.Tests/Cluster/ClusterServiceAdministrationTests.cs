using Parley.Protocol;
using Parley.Server.Tests.Support;
using static Parley.Server.Tests.Administration.ServiceAdministrationTests;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// Service administration (XEP-0133) on a two-node cluster: boss, an admin, is served by node a; alice by node b. What
/// the admin asks of node a about online users, and the announcement sent from there, covers the users of both nodes.
/// </summary>
public sealed class ClusterServiceAdministrationTests : IAsyncLifetime
{
    private const string Admin = "boss@localhost";

    private readonly ClusterNodes _cluster = new();
    private TestNode _a = null!;
    private TestNode _b = null!;

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        _a = await _cluster.StartNodeAsync("a", options => options.Admins = [Admin]);
        _b = await _cluster.StartNodeAsync("b", options => options.Admins = [Admin]);
        foreach (var user in new[] { "boss", "alice", "bob" })
        {
            await _a.CreateUserAsync(user, user + "-password");
        }
        await _cluster.AssignAsync([_a, _b], (Admin, "a"), ("alice@localhost", "b"), ("bob@localhost", "b"));
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task The_online_users_commands_count_and_list_the_users_of_every_node_each_once()
    {
        await using var boss = await ClusterNodes.OnlineAsync(_a, "boss", "desk");
        await using var phone = await ClusterNodes.OnlineAsync(_b, "alice", "phone");
        await using var laptop = await ClusterNodes.OnlineAsync(_b, "alice", "laptop");

        Assert.Equal(["2"], Field(Command(await ExecuteAsync(boss, "get-online-users-num")), "onlineusersnum"));
        Assert.Equal(["alice@localhost", Admin], Field(Command(await ExecuteAsync(boss, "get-online-users-list")), "onlineuserjids"));

        // bob counts while he is online, and no longer once he has signed off.
        await using (var bob = await ClusterNodes.OnlineAsync(_b, "bob", "home"))
        {
            Assert.Equal(["3"], Field(Command(await ExecuteAsync(boss, "get-online-users-num")), "onlineusersnum"));
        }
        await Eventually.TrueAsync(() => _b.App.Node.Sessions.All.All(session => session.Jid.Local != "bob"));
        Assert.Equal(["alice@localhost", Admin], Field(Command(await ExecuteAsync(boss, "get-online-users-list")), "onlineuserjids"));
    }

    [Fact]
    public async Task An_announcement_reaches_the_users_of_every_node_and_is_audited_once()
    {
        await using var boss = await ClusterNodes.OnlineAsync(_a, "boss", "desk");
        await using var alice = await ClusterNodes.OnlineAsync(_b, "alice", "phone");

        var done = await RunAsync(boss, "announce", ("subject", ["Maintenance"]), ("body", ["Down at 22:00 UTC."]));

        // Two: the admin's own session on a (which got it before the command's answer) and alice's on b.
        Assert.Equal(("info", "Sent the announcement to 2 sessions."), Note(done));
        var message = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "headline");
        Assert.Equal((TestNode.Domain, alice.Jid, "Maintenance", "Down at 22:00 UTC."),
            (message.GetAttribute("from"), message.GetAttribute("to"), message.ChildText("subject"), message.ChildText("body")));
        var record = Assert.Single(await _b.App.Node.Storage.Audit.ListAsync(null, null, 10));
        Assert.Equal((Admin, "announcement.send", "localhost", "sent to 2 sessions: Down at 22:00 UTC."), (record.Actor, record.Action, record.Subject, record.Details));
    }
}
