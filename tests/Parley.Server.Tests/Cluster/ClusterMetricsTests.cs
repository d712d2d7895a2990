using Parley.Server.Tests.Api;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>A cluster node's /metrics carries the cluster's instruments: its lease's age, the nodes it sees, the bus traffic.</summary>
[Collection(NodeMetricsCollection.Name)]
public sealed class ClusterMetricsTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task A_scrape_shows_the_lease_age_both_nodes_up_and_bus_messages_counted_once_a_chat_crossed()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        await a.CreateUserAsync("alice", "alice-password");
        await a.CreateUserAsync("bob", "bob-password");
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"), ("bob@localhost", "b"));
        await using var alice = await XmppTestClient.LoginAsync(a, "alice", "alice-password", "desk");
        await using var bob = await XmppTestClient.LoginAsync(b, "bob", "bob-password", "phone");
        await alice.SendAsync("<message to='bob@localhost/phone' type='chat' id='m'><body>counted</body></message>");
        await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "m");

        using var http = new HttpClient();
        Dictionary<string, double> families = [];
        var deadline = DateTime.UtcNow + XmppTestClient.Deadline;
        // The exporter answers repeated scrapes from a short cache: the traffic is waited for.
        while (families.GetValueOrDefault("parley_cluster_bus_messages") < 1 && DateTime.UtcNow < deadline)
        {
            families = await MetricsEndpointTests.ParseAsync(await http.GetStringAsync($"http://127.0.0.1:{a.HttpPort}/metrics"));
        }

        Assert.True(families.GetValueOrDefault("parley_cluster_bus_messages") >= 1, "the message to bob's node is not counted");
        var leaseAge = families["parley_cluster_lease_age_seconds"];
        Assert.InRange(leaseAge, 0, a.Options.Cluster.LeaseMilliseconds / 1000.0);
        Assert.Equal(2, families["parley_cluster_nodes"]);
    }
}
