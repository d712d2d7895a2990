using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Administration;

/// <summary>An administrator lists the node's sessions and ends one; the others stay, and the trail says who did it.</summary>
public sealed class SessionAdministrationTests
{
    [Fact]
    public async Task Sessions_are_listed_per_account_and_one_ended_by_an_admin_closes_with_policy_violation_and_is_audited()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("alice", "alice-password");
        await node.CreateUserAsync("bob", "bob-password");
        await using var alice = await XmppTestClient.LoginAsync(node, "alice", "alice-password");
        await using var bob = await XmppTestClient.LoginAsync(node, "bob", "bob-password");
        var sessions = node.App.Web.Services.GetRequiredService<SessionAdministration>().By(new AdminActor("admin@localhost", "127.0.0.1"));

        Assert.Equal([alice.Jid!, bob.Jid!], (await sessions.ListAsync()).Select(s => s.Jid));
        var alices = Assert.Single(await sessions.ListAsync(Jid.Parse("alice@localhost")));
        Assert.Equal(alice.Jid, alices.Jid);
        Assert.StartsWith("127.0.0.1", alices.RemoteAddress);

        Assert.True(await sessions.EndAsync(Jid.Parse(alice.Jid!)));

        Assert.Equal("policy-violation", await alice.ExpectStreamErrorAsync());
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await sessions.ListAsync()).Count != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the ended session is still listed");
            await Task.Delay(10);
        }
        Assert.Equal([bob.Jid!], (await sessions.ListAsync()).Select(s => s.Jid));
        Assert.False(await sessions.EndAsync(Jid.Parse(alice.Jid!)));
        var audited = Assert.Single(await node.App.Node.Storage.Audit.ListAsync(null, "admin@localhost", 10));
        Assert.Equal((AuditActions.SessionEnd, alice.Jid), (audited.Action, audited.Subject));
    }
}
