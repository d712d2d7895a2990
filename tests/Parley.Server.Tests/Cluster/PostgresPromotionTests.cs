using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// Two nodes on a PostgreSQL primary and its streaming-replication standby, given both hosts as docs/clustering.md
/// says: the primary dies, the standby is promoted (what pg_auto_failover or Patroni would do), and the cluster goes on
/// by itself on the new primary, without fencing anyone.
/// </summary>
public sealed class PostgresPromotionTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new(ownPostgres: true, standby: true);
    private TestNode _a = null!;
    private TestNode _b = null!;

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        var nodes = await _cluster.StartHomesAsync(["a", "b"], ["alice", "bob"]);
        (_a, _b) = (nodes[0], nodes[1]);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task When_the_primary_dies_and_its_standby_is_promoted_the_nodes_keep_their_clients_and_chat_and_archive_go_on()
    {
        await using var alice = await ClusterNodes.OnlineAsync(_a, "alice", "desk");
        await using var bob = await ClusterNodes.OnlineAsync(_b, "bob", "phone");
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='before'><body>before the failover</body></message>");
        await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "before");

        await _cluster.Postgres.StopServerAsync();
        await _cluster.Standby.PromoteAsync();

        // Both nodes renew their leases on the new primary by themselves, and `cluster status` reads it.
        var promotedAt = DateTime.UtcNow;
        await ClusterNodes.UntilAsync(async () =>
        {
            var status = await _cluster.ParleyAsync("cluster", "status", "--json");
            return status.ExitCode == 0 && System.Text.Json.JsonDocument.Parse(status.Output).RootElement.GetProperty("nodes").EnumerateArray()
                .All(node => node.GetProperty("state").GetString() == "up" && node.GetProperty("leaseAgeSeconds").GetDouble() < (DateTime.UtcNow - promotedAt).TotalSeconds);
        }, "both nodes renew their leases on the promoted standby");

        // Nobody was fenced or sent away: the same streams go on, and what needs storage works again.
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='after'><body>after the failover</body></message>");
        var after = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "after");
        Assert.Equal("after the failover", after.ChildText("body"));
        await ClusterNodes.UntilAsync(async () =>
            (await _b.App.Node.Storage.Archive.QueryAsync(new Parley.Storage.ArchiveQuery("bob@localhost"))).Messages
                .Any(message => message.Xml.Contains("after the failover", StringComparison.Ordinal)),
            "the message is in bob's archive on the new primary");
        await bob.SendAsync("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
        Assert.Equal("result", (await bob.ReceiveAsync(e => e.GetAttribute("id") == "roster")).GetAttribute("type"));
    }
}
