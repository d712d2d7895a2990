using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using Npgsql;
using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Storage;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// A node that goes away: its redundancy-group peer serves its users until it is back, then sends them home; a node
/// that alone has lost the database stops serving before its lease runs out.
/// </summary>
public sealed class FailoverTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task While_a_node_is_down_its_group_peer_serves_its_users_and_sends_them_home_when_it_is_back()
    {
        var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        await ContactsInOneGroupAsync(_cluster, a, b);
        await using var bob = await XmppTestClient.LoginAsync(b, "bob", "bob-password", "phone");
        await bob.AnnounceAsync();

        await a.DisposeAsync();
        await Eventually.TrueAsync(() => ClusterNodes.View(b).Node("a") is { Up: false });

        // Failover: b accepts alice, and bob sees her come back.
        await using (var alice = await XmppTestClient.LoginAsync(b, "alice", "alice-password", "desk"))
        {
            await alice.AnnounceAsync();
            await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk" && e.GetAttribute("type") is null);
            await bob.SendAsync("<message to='alice@localhost' type='chat' id='f1'><body>you moved</body></message>");
            Assert.Equal("you moved", (await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "f1")).ChildText("body"));

            // Fallback: a is back, and b sends alice home.
            await using var back = await _cluster.StartNodeAsync("a");
            var error = await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
            Assert.Equal($"127.0.0.1:{back.C2sPort}", error.ChildText("see-other-host", Ns.StreamErrors));
            Assert.Contains(b.Logs.Lines, line => line.Contains("alice@localhost/desk is served by node a now; its client is sent there", StringComparison.Ordinal));

            await using var home = await XmppTestClient.LoginAsync(back, "alice", "alice-password", "desk");
            await home.AnnounceAsync();
            await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk" && e.GetAttribute("type") is null);
            Assert.Single(back.App.Node.Sessions.All);
        }
    }

    [Fact]
    public async Task Failover_by_hand_moves_a_running_nodes_users_to_its_peer_and_fallback_brings_them_back()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        await a.CreateUserAsync("alice", "alice-password");
        var alone = await _cluster.ParleyAsync("cluster", "failover", "a");
        Assert.Equal(1, alone.ExitCode);
        Assert.Contains("node a has no redundancy-group peer that is up to take its users (parley cluster group create).", alone.Error);
        Assert.Equal(0, (await _cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "balanced")).ExitCode);
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"));
        var onA = await XmppTestClient.LoginAsync(a, "alice", "alice-password", "desk");

        var failover = await _cluster.ParleyAsync("cluster", "failover", "a");

        Assert.True(failover.ExitCode == 0, failover.Error);
        var sent = await onA.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.Equal($"127.0.0.1:{b.C2sPort}", sent.ChildText("see-other-host", Ns.StreamErrors));
        await onA.DisposeAsync();
        // Nodes read the change at their own heartbeats; within one, a client may be sent on once more.
        await Eventually.TrueAsync(() => ClusterNodes.View(b).Node("a") is { FailedOver: true });
        await using (var onB = await XmppTestClient.LoginAsync(b, "alice", "alice-password", "desk"))
        {
            Assert.Single(b.App.Node.Sessions.All);

            Assert.Equal(0, (await _cluster.ParleyAsync("cluster", "fallback", "a")).ExitCode);

            var home = await onB.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
            Assert.Equal($"127.0.0.1:{a.C2sPort}", home.ChildText("see-other-host", Ns.StreamErrors));
        }
        await Eventually.TrueAsync(() => ClusterNodes.View(a).Node("a") is { FailedOver: false });
        await using var back = await XmppTestClient.LoginAsync(a, "alice", "alice-password", "desk");
        Assert.Single(a.App.Node.Sessions.All);
    }

    [Fact]
    public async Task A_node_that_is_back_gets_its_users_only_once_it_has_been_up_for_the_fallback_delay()
    {
        const int Delay = 3;
        var (b, alice) = await AliceFailedOverToBAsync();
        await using var nodeB = b;
        await using var client = alice;

        await using var back = await _cluster.StartNodeAsync("a", options => options.Cluster.FallbackDelaySeconds = Delay);
        var up = System.Diagnostics.Stopwatch.StartNew();

        // Within the delay a is up, the status says when her clients go home, and a itself sends a new one of hers to b.
        await ClusterNodes.UntilAsync(async () => (await _cluster.StatusOfAsync("a")).GetProperty("reason").GetString()?.StartsWith(
            "its users come back from its group peer in ", StringComparison.Ordinal) == true, "cluster status shows a's fallback delay");
        Assert.Equal("up", (await _cluster.StatusOfAsync("a")).GetProperty("state").GetString());
        await using (var early = await XmppTestClient.ConnectAsync(back.C2sPort))
        {
            await early.OpenStreamAsync();
            await early.StartTlsAsync();
            await early.AuthenticateAsync("alice", "alice-password");
            await early.SendAsync("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
            Assert.Equal("see-other-host", await early.ExpectStreamErrorAsync());
        }
        Assert.True(up.Elapsed < TimeSpan.FromSeconds(Delay), $"the checks within the delay took {up.Elapsed}");
        Assert.Single(b.App.Node.Sessions.All);

        // Then b sends her home.
        var error = await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.Equal($"127.0.0.1:{back.C2sPort}", error.ChildText("see-other-host", Ns.StreamErrors));
        Assert.True(up.Elapsed >= TimeSpan.FromSeconds(Delay - 0.5), $"sent home {up.Elapsed} after a was back, before its fallback delay of {Delay} s");
        // Nodes see the delay end at their own heartbeats; within one, a client may be sent on once more.
        await Eventually.TrueAsync(() => ClusterNodes.View(back).Node("a") is { FallbackDue: true });
        await using var home = await XmppTestClient.LoginAsync(back, "alice", "alice-password", "desk");
        Assert.Single(back.App.Node.Sessions.All);
    }

    [Fact]
    public async Task A_node_that_is_back_gets_its_users_at_the_peers_rate_a_few_each_heartbeat()
    {
        var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b", options => options.Cluster.SendAwayPerHeartbeat = 1);
        await a.CreateUserAsync("alice", "alice-password");
        Assert.Equal(0, (await _cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "balanced")).ExitCode);
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"));
        await a.DisposeAsync();
        await Eventually.TrueAsync(() => ClusterNodes.View(b).Node("a") is { Up: false });
        var devices = new List<XmppTestClient>();
        try
        {
            foreach (var resource in new[] { "desk", "phone", "tablet" })
            {
                devices.Add(await XmppTestClient.LoginAsync(b, "alice", "alice-password", resource));
            }

            await using var back = await _cluster.StartNodeAsync("a");
            var sentHome = new List<TimeSpan>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var device in devices)
            {
                var error = await device.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
                Assert.Equal($"127.0.0.1:{back.C2sPort}", error.ChildText("see-other-host", Ns.StreamErrors));
                sentHome.Add(clock.Elapsed);
            }

            // One a heartbeat (200 ms here): the three cannot all have gone within the first two heartbeats.
            var heartbeat = TimeSpan.FromMilliseconds(b.App.Node.Options.Cluster.HeartbeatMilliseconds);
            Assert.True(sentHome.Max() - sentHome.Min() >= 2 * heartbeat - TimeSpan.FromMilliseconds(50),
                $"the three were sent home within {sentHome.Max() - sentHome.Min()}, one a heartbeat of {heartbeat} allows no less than two");
            Assert.Equal(3, b.Logs.Lines.Count(line => line.Contains("is served by node a now; its client is sent there", StringComparison.Ordinal)));
        }
        finally
        {
            foreach (var device in devices)
            {
                await device.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Fallback_by_hand_sends_users_home_at_once_whatever_is_left_of_the_delay()
    {
        var (b, alice) = await AliceFailedOverToBAsync();
        await using var nodeB = b;
        await using var client = alice;
        await using var back = await _cluster.StartNodeAsync("a", options => options.Cluster.FallbackDelaySeconds = 600);
        await ClusterNodes.UntilAsync(async () => (await _cluster.StatusOfAsync("a")).GetProperty("state").GetString() == "up", "a is up");

        var fallback = await _cluster.ParleyAsync("cluster", "fallback", "a");
        var asked = System.Diagnostics.Stopwatch.StartNew();

        Assert.True(fallback.ExitCode == 0, fallback.Error);
        var error = await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.Equal($"127.0.0.1:{back.C2sPort}", error.ChildText("see-other-host", Ns.StreamErrors));
        Assert.True(asked.Elapsed < TimeSpan.FromSeconds(5), $"sent home {asked.Elapsed} after the fallback");
        Assert.Equal(JsonValueKind.Null, (await _cluster.StatusOfAsync("a")).GetProperty("reason").ValueKind);
    }

    [Theory]
    [InlineData(false, "the other nodes still renew theirs")]
    [InlineData(true, "the bus is lost too")]
    public async Task A_node_that_lost_the_database_alone_or_with_the_bus_closes_its_sessions_with_system_shutdown_before_its_lease_runs_out(bool busLostToo, string why)
    {
        await using var b = await _cluster.StartNodeAsync("b");
        // Roles belong to the whole PostgreSQL server, which the tests share.
        var cut = await RoleAsync("node_a_" + Guid.NewGuid().ToString("N")[..8]);
        var a = await _cluster.StartNodeAsync("a", options => options.Storage.ConnectionString = cut.ConnectionString);
        await b.CreateUserAsync("alice", "alice-password");
        Assert.Equal(0, (await _cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "balanced")).ExitCode);
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"));
        await using var alice = await XmppTestClient.LoginAsync(a, "alice", "alice-password", "desk");

        if (busLostToo)
        {
            // nats-server goes for every node, the database only for a: b still renews, and a can ask no one.
            await _cluster.Nats.StopAsync();
        }
        await cut.RevokeAsync();
        var fenced = System.Diagnostics.Stopwatch.StartNew();

        var error = await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.NotNull(error.Child("system-shutdown", Ns.StreamErrors));
        Assert.True(fenced.Elapsed < TimeSpan.FromMilliseconds(a.Options.Cluster.LeaseMilliseconds) + TimeSpan.FromSeconds(2),
            $"fenced after {fenced.ElapsedMilliseconds} ms");
        Assert.Contains(a.Logs.Lines, line => line.Contains($"Node a cannot renew its lease and {why}", StringComparison.Ordinal)
            && line.Contains("it stops serving before its lease runs out (fencing)", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => !a.App.Node.Sessions.All.Any());

        // Once a's lease has run out, its group peer b serves alice (with or without the bus): one node at a time.
        await Eventually.TrueAsync(() => ClusterNodes.View(b).Node("a") is { Up: false });
        await using var again = await XmppTestClient.LoginAsync(b, "alice", "alice-password", "desk");
        Assert.Single(b.App.Node.Sessions.All);
        Assert.Empty(a.App.Node.Sessions.All);
        await a.DisposeAsync();
    }

    [Fact]
    public async Task When_a_nodes_lease_runs_out_only_its_group_peer_takes_its_users_and_the_other_group_is_untouched()
    {
        // Groups g1 = a,b and g2 = c,d, one user homed on each node; a alone loses the database, so its lease really runs out.
        var cut = await RoleAsync("node_a_" + Guid.NewGuid().ToString("N")[..8]);
        var a = await _cluster.StartNodeAsync("a", options => options.Storage.ConnectionString = cut.ConnectionString);
        await using var b = await _cluster.StartNodeAsync("b");
        await using var c = await _cluster.StartNodeAsync("c");
        await using var d = await _cluster.StartNodeAsync("d");
        TestNode[] nodes = [a, b, c, d];
        for (var i = 1; i <= nodes.Length; i++)
        {
            await b.CreateUserAsync($"u{i}", $"u{i}-password");
        }
        Assert.Equal(0, (await _cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "balanced")).ExitCode);
        Assert.Equal(0, (await _cluster.ParleyAsync("cluster", "group", "create", "g2", "--nodes", "c,d", "--mode", "balanced")).ExitCode);
        await _cluster.AssignAsync(nodes, ("u1@localhost", "a"), ("u2@localhost", "b"), ("u3@localhost", "c"), ("u4@localhost", "d"));
        var u1 = await XmppTestClient.LoginAsync(a, "u1", "u1-password", "desk");
        await using var u2 = await XmppTestClient.LoginAsync(b, "u2", "u2-password", "desk");
        await using var u3 = await XmppTestClient.LoginAsync(c, "u3", "u3-password", "desk");
        await using var u4 = await XmppTestClient.LoginAsync(d, "u4", "u4-password", "desk");
        var sessionsBefore = new[] { b, c, d }.Select(node => node.App.Node.Sessions.All.Single().Id).ToArray();

        await cut.RevokeAsync();

        Assert.NotNull((await u1.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams)).Child("system-shutdown", Ns.StreamErrors));
        await u1.DisposeAsync();
        await Eventually.TrueAsync(() => new[] { b, c, d }.All(node => ClusterNodes.View(node).Node("a") is { Up: false }));
        // Every node, in either group, sends u1 to a's group peer b, and b serves her.
        foreach (var node in new[] { c, d })
        {
            Assert.Equal($"127.0.0.1:{b.C2sPort}", await SentElsewhereAsync(node, "u1"));
        }
        await using var moved = await XmppTestClient.LoginAsync(b, "u1", "u1-password", "desk");
        Assert.Equal(2, b.App.Node.Sessions.All.Count());
        // The other group is untouched: u3 and u4 are in the same sessions on c and d, which took nobody, and u2 on b too.
        Assert.Equal(sessionsBefore, new[] { b, c, d }.Select(node => node.App.Node.Sessions.All.Single(session => session.Jid.Local != "u1").Id));
        Assert.Single(c.App.Node.Sessions.All);
        Assert.Single(d.App.Node.Sessions.All);
        foreach (var (user, client) in new[] { ("u2", u2), ("u3", u3), ("u4", u4) })
        {
            await moved.SendAsync($"<message to='{user}@localhost/desk' type='chat' id='to-{user}'><body>still there?</body></message>");
            await client.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == $"to-{user}");
        }
        await a.DisposeAsync();
    }

    /// <summary>Signs <paramref name="user"/> in on <paramref name="node"/> and returns the address its bind is sent to (see-other-host).</summary>
    private static async Task<string?> SentElsewhereAsync(TestNode node, string user)
    {
        await using var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        await client.OpenStreamAsync();
        await client.StartTlsAsync();
        await client.AuthenticateAsync(user, user + "-password");
        await client.SendAsync("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
        return (await client.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams)).ChildText("see-other-host", Ns.StreamErrors);
    }

    [Fact]
    public async Task While_the_database_is_down_for_every_node_all_keep_serving_and_stanzas_that_need_storage_get_errors()
    {
        var cluster = new ClusterNodes(ownPostgres: true);
        await cluster.InitializeAsync();
        try
        {
            await using var a = await cluster.StartNodeAsync("a");
            await using var b = await cluster.StartNodeAsync("b");
            await a.CreateUserAsync("alice", "alice-password");
            await a.CreateUserAsync("bob", "bob-password");
            await a.CreateUserAsync("carol", "carol-password");
            await cluster.AssignAsync([a, b], ("alice@localhost", "a"), ("bob@localhost", "b"));
            await using var alice = await XmppTestClient.LoginAsync(a, "alice", "alice-password", "desk");
            await using var bob = await XmppTestClient.LoginAsync(b, "bob", "bob-password", "desk");

            await cluster.Postgres.StopServerAsync();
            var down = System.Diagnostics.Stopwatch.StartNew();

            await a.Logs.WaitForAsync("Node a cannot renew its lease and no other node can: the database is down for all, every node keeps serving");
            await b.Logs.WaitForAsync("Node b cannot renew its lease and no other node can: the database is down for all, every node keeps serving");
            // Well past the lease, both still serve their clients.
            var lease = TimeSpan.FromMilliseconds(a.Options.Cluster.LeaseMilliseconds);
            var sent = 0;
            await ClusterNodes.UntilAsync(async () =>
            {
                foreach (var client in new[] { alice, bob })
                {
                    var id = $"ping{++sent}";
                    await client.SendAsync($"<iq to='localhost' type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>");
                    Assert.Equal("result", (await client.ReceiveAsync(e => e.GetAttribute("id") == id)).GetAttribute("type"));
                }
                return down.Elapsed > 2 * lease;
            }, "both nodes answer past the lease");
            Assert.Single(a.App.Node.Sessions.All);
            Assert.Single(b.App.Node.Sessions.All);
            Assert.DoesNotContain(a.Logs.Lines.Concat(b.Logs.Lines), line => line.Contains("(fencing)", StringComparison.Ordinal));

            // Carol is offline: the message can only be kept in storage.
            await alice.SendAsync("<message to='carol@localhost' type='chat' id='offline'><body>for later</body></message>");
            var bounced = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "offline");
            Assert.Equal("error", bounced.GetAttribute("type"));
            Assert.NotNull(bounced.Child("error")?.Child("internal-server-error", Ns.Stanzas));

            await cluster.Postgres.StartServerAsync();
            await ClusterNodes.UntilAsync(async () => (await cluster.StatusOfAsync("a")).GetProperty("state").GetString() == "up"
                && (await cluster.StatusOfAsync("b")).GetProperty("state").GetString() == "up", "both nodes renew again");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task After_the_database_was_down_for_every_node_past_the_leases_the_first_node_back_does_not_take_over_its_peers_users()
    {
        var cluster = new ClusterNodes(ownPostgres: true);
        await cluster.InitializeAsync();
        try
        {
            // b renews several times as often as a: once the database is back, b reads the cluster before a has renewed.
            await using var a = await cluster.StartNodeAsync("a", options => options.Cluster.HeartbeatMilliseconds = 450);
            await using var b = await cluster.StartNodeAsync("b", options => options.Cluster.HeartbeatMilliseconds = 100);
            // a counts as up once it has renewed after opening its listeners, which at its pace b may not have read yet.
            await Eventually.TrueAsync(() => ClusterNodes.View(b).Node("a") is { Up: true });
            await ContactsInOneGroupAsync(cluster, a, b);
            await using var bob = await XmppTestClient.LoginAsync(b, "bob", "bob-password", "phone");
            await bob.AnnounceAsync();
            await using var alice = await XmppTestClient.LoginAsync(a, "alice", "alice-password", "desk");
            await alice.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
            await alice.ReceiveAsync(e => e.Name == "enabled");
            await alice.AnnounceAsync();
            await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
            // b holds the copy of alice's stream that it would take over if a died.
            await Eventually.TrueAsync(() => b.App.Web.Services.GetRequiredService<Parley.Cluster.Resumption.PeerReplicas>().Count == 1);

            await cluster.Postgres.StopServerAsync();
            await a.Logs.WaitForAsync("Node a cannot renew its lease and no other node can");
            await b.Logs.WaitForAsync("Node b cannot renew its lease and no other node can");
            var lease = TimeSpan.FromMilliseconds(a.Options.Cluster.LeaseMilliseconds);
            await AnswersPingsForAsync(alice, 2 * lease, "alice's stream on a goes on while every lease runs out");
            await cluster.Postgres.StartServerAsync();
            await ClusterNodes.UntilAsync(async () => (await cluster.StatusOfAsync("a")).GetProperty("state").GetString() == "up"
                && (await cluster.StatusOfAsync("b")).GetProperty("state").GetString() == "up", "both nodes renew again");

            // Well past a lease and the takeover it would have started, alice is served by a alone and bob still sees her.
            await AnswersPingsForAsync(alice, 3 * lease, "alice's stream on a goes on past the lease");
            Assert.DoesNotContain(b.App.Node.Sessions.All, session => session.Jid.ToString().StartsWith("alice@", StringComparison.Ordinal));
            Assert.DoesNotContain(b.Logs.Lines, line => line.Contains("Took over the sessions of node a", StringComparison.Ordinal));
            Assert.DoesNotContain(a.Logs.Lines, line => line.Contains("(fencing)", StringComparison.Ordinal));
            await alice.SendAsync("<message to='bob@localhost' type='chat' id='still'><body>still here</body></message>");
            var toBob = new List<Parley.Xml.Element>();
            await bob.ReceiveAsync(e =>
            {
                toBob.Add(e);
                return e.Name == "message" && e.GetAttribute("id") == "still";
            });
            Assert.DoesNotContain(toBob, e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>The client's server answers its pings, one after another, for <paramref name="time"/>.</summary>
    private static async Task AnswersPingsForAsync(XmppTestClient client, TimeSpan time, string what)
    {
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        var sent = 0;
        await ClusterNodes.UntilAsync(async () =>
        {
            var id = $"lease-ping{++sent}";
            await client.SendAsync($"<iq to='localhost' type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>");
            Assert.Equal("result", (await client.ReceiveAsync(e => e.GetAttribute("id") == id)).GetAttribute("type"));
            return elapsed.Elapsed > time;
        }, what);
    }

    /// <summary>Nodes a and b in one balanced group; alice homed on a and bob on b, each subscribed to the other.</summary>
    private async Task ContactsInOneGroupAsync(ClusterNodes cluster, TestNode a, TestNode b)
    {
        await a.CreateUserAsync("alice", "alice-password");
        await a.CreateUserAsync("bob", "bob-password");
        await SubscribedBothWaysAsync(a, "alice@localhost", "bob@localhost");
        var group = await cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "balanced");
        Assert.True(group.ExitCode == 0, group.Error);
        await cluster.AssignAsync([a, b], ("alice@localhost", "a"), ("bob@localhost", "b"));
    }

    /// <summary>Nodes a and b in one group, alice homed on a; a stops and alice signs in on b. Returns b and her client there.</summary>
    private async Task<(TestNode B, XmppTestClient Alice)> AliceFailedOverToBAsync()
    {
        var a = await _cluster.StartNodeAsync("a");
        var b = await _cluster.StartNodeAsync("b");
        await a.CreateUserAsync("alice", "alice-password");
        Assert.Equal(0, (await _cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "balanced")).ExitCode);
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"));
        await a.DisposeAsync();
        await Eventually.TrueAsync(() => ClusterNodes.View(b).Node("a") is { Up: false });
        return (b, await XmppTestClient.LoginAsync(b, "alice", "alice-password", "desk"));
    }

    private async Task SubscribedBothWaysAsync(TestNode node, string user, string contact)
    {
        var rosters = node.App.Node.Storage.Rosters;
        await rosters.SetItemAsync(user, new RosterItem(contact, null, Subscription.Both, false, false, []));
        await rosters.SetItemAsync(contact, new RosterItem(user, null, Subscription.Both, false, false, []));
    }

    /// <summary>A login role of the cluster's database that the test can lock out while others keep theirs.</summary>
    private async Task<DatabaseRole> RoleAsync(string name)
    {
        await using var database = NpgsqlDataSource.Create(_cluster.Database);
        await using (var create = database.CreateCommand($"""
            CREATE ROLE {name} LOGIN PASSWORD '{name}-password';
            GRANT ALL ON SCHEMA public TO {name};
            GRANT ALL ON ALL TABLES IN SCHEMA public TO {name};
            GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {name};
            """))
        {
            await create.ExecuteNonQueryAsync();
        }
        var connection = new NpgsqlConnectionStringBuilder(_cluster.Database) { Username = name, Password = $"{name}-password" }.ConnectionString;
        return new DatabaseRole(_cluster.Database, name, connection);
    }

    private sealed record DatabaseRole(string AdminConnection, string Name, string ConnectionString)
    {
        /// <summary>Refuses the role new connections and ends those it has: the database is lost to its node alone.</summary>
        public async Task RevokeAsync()
        {
            await using var database = NpgsqlDataSource.Create(AdminConnection);
            await using var revoke = database.CreateCommand($"""
                ALTER ROLE {Name} NOLOGIN;
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{Name}';
                """);
            await revoke.ExecuteNonQueryAsync();
        }
    }
}
