using System.Text.Json;
using Parley.Cluster.Membership;
using Parley.Server.Modules.Registration;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// Membership and topology: node names are unique among running nodes, accounts get a home when they are created,
/// and `parley cluster status|assign|balance|group create` read and change the topology in the database.
/// </summary>
public sealed class ClusterTopologyTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task A_second_node_with_a_running_nodes_name_is_refused_and_the_name_is_free_once_the_first_stops()
    {
        var first = await _cluster.StartNodeAsync("a");
        var refusedPort = 0;

        var refused = await Assert.ThrowsAsync<ClusterJoinException>(() => _cluster.StartNodeAsync("a", options => refusedPort = options.Network.C2sPort));

        Assert.StartsWith($"another node named 'a' is running (at 127.0.0.1:{first.C2sPort}, its lease runs ", refused.Message);
        Assert.EndsWith("s more); stop it first or give this node another --node name.", refused.Message);
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(async () =>
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, refusedPort);
        });
        await using (var alice = await LoginAfterCreatingAsync(first, "alice"))
        {
            // The first node still serves.
            Assert.Single(first.App.Node.Sessions.All);
        }

        await first.DisposeAsync();
        await using var again = await _cluster.StartNodeAsync("a");
        Assert.Contains(again.Logs.Lines, line => line.StartsWith("Joined the cluster as node a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Accounts_created_on_a_running_cluster_are_spread_over_the_nodes_and_status_json_shows_each_node()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        var b = await _cluster.StartNodeAsync("b", options => options.Cluster.Advertise = "b.cluster.example");
        foreach (var user in new[] { "u1", "u2", "u3", "u4" })
        {
            var add = await _cluster.ParleyAsync("user", "add", $"{user}@localhost", "--password", "secret-1234");
            Assert.True(add.ExitCode == 0, add.Error);
        }
        Assert.Equal("a", await HomeAsync("u1@localhost"));
        await using var u1 = await XmppTestClient.LoginAsync(a, "u1", "secret-1234");
        // One heartbeat later the node's row counts the session.
        await ClusterNodes.UntilAsync(async () => (await Status()).GetProperty("nodes")[0].GetProperty("sessions").GetInt32() == 1, "node a counts u1's session");
        await b.DisposeAsync();

        var status = await Status();

        var nodes = status.GetProperty("nodes").EnumerateArray().ToArray();
        Assert.Equal(["a", "b"], nodes.Select(n => n.GetProperty("name").GetString()));
        Assert.Equal(
            ["name", "state", "group", "mode", "takesUsers", "address", "leaseAgeSeconds", "usersAssigned", "usersServed", "sessions", "reason"],
            nodes[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal("up", nodes[0].GetProperty("state").GetString());
        Assert.Equal($"127.0.0.1:{a.C2sPort}", nodes[0].GetProperty("address").GetString());
        Assert.InRange(nodes[0].GetProperty("leaseAgeSeconds").GetDouble(), 0, 5);
        Assert.Equal(JsonValueKind.Null, nodes[0].GetProperty("reason").ValueKind);
        Assert.Equal($"b.cluster.example:{b.C2sPort}", nodes[1].GetProperty("address").GetString());
        Assert.Equal("down", nodes[1].GetProperty("state").GetString());
        Assert.StartsWith("its lease ran out ", nodes[1].GetProperty("reason").GetString());
        Assert.Equal([1, 0], nodes.Select(n => n.GetProperty("sessions").GetInt32()));
        Assert.Equal([1, 0], nodes.Select(n => n.GetProperty("usersServed").GetInt32()));
        Assert.Equal([2, 2], nodes.Select(n => n.GetProperty("usersAssigned").GetInt32()));
        Assert.Empty(status.GetProperty("groups").EnumerateArray());
    }

    [Fact]
    public async Task Accounts_imported_from_a_file_or_registered_in_band_get_a_home_when_they_are_created()
    {
        await using var a = await _cluster.StartNodeAsync("a", options => options.Module<RegistrationOptions>().AllowRegistration = true);
        await using var b = await _cluster.StartNodeAsync("b");
        var file = Path.Combine(Path.GetTempPath(), $"parley-import-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(file, "jid,password\nu1@localhost,secret-1234\nu2@localhost,secret-1234\n");
        try
        {
            var import = await _cluster.ParleyAsync("user", "import", file);
            Assert.True(import.ExitCode == 0, import.Error);
        }
        finally
        {
            File.Delete(file);
        }

        await using (var client = await XmppTestClient.ConnectAsync(a.C2sPort))
        {
            await client.OpenStreamAsync();
            await client.StartTlsAsync();
            await client.SendAsync("<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>u3</username><password>secret-1234</password></query></iq>");
            Assert.Equal("result", (await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "reg")).GetAttribute("type"));
        }

        // The import creates its accounts in no set order: one each, whichever came first; then a tie goes to the first name.
        Assert.Equal(["a", "b"], new[] { await HomeAsync("u1@localhost"), await HomeAsync("u2@localhost") }.Order());
        Assert.Equal("a", await HomeAsync("u3@localhost"));
    }

    [Fact]
    public async Task Assign_to_an_unknown_node_and_a_group_of_three_are_refused_and_change_nothing()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        await a.CreateUserAsync("alice", "alice-password");
        var homeBefore = await HomeAsync("alice@localhost");

        var assign = await _cluster.ParleyAsync("cluster", "assign", "alice@localhost", "--node", "zz");
        var group = await _cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b,zz", "--mode", "balanced");
        var noAccount = await _cluster.ParleyAsync("cluster", "assign", "nobody@localhost", "--node", "a");

        Assert.Equal(1, assign.ExitCode);
        Assert.Contains("there is no node named zz; the cluster's nodes are a, b.", assign.Error);
        Assert.Equal(1, group.ExitCode);
        Assert.Contains("a presence redundancy group has one or two different nodes, not 3 (a, b, zz).", group.Error);
        Assert.Equal(1, noAccount.ExitCode);
        Assert.Contains("there is no account nobody@localhost.", noAccount.Error);
        Assert.Equal(homeBefore, await HomeAsync("alice@localhost"));
        Assert.Empty((await Status()).GetProperty("groups").EnumerateArray());
        Assert.DoesNotContain(await a.App.Node.Storage.Audit.ListAsync(null, null, 50), r => r.Action.StartsWith("cluster.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_group_of_one_node_is_accepted_and_that_node_takes_users_without_a_peer_to_copy_to()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");

        var solo = await _cluster.ParleyAsync("cluster", "group", "create", "solo", "--nodes", "a", "--mode", "balanced");

        Assert.Equal(0, solo.ExitCode);
        var group = Assert.Single((await Status()).GetProperty("groups").EnumerateArray());
        Assert.Equal("solo", group.GetProperty("name").GetString());
        Assert.Equal(["a"], group.GetProperty("nodes").EnumerateArray().Select(node => node.GetString()));
        await Eventually.TrueAsync(() => ClusterNodes.View(a).Node("a") is { Group: "solo" });
        Assert.Null(ClusterNodes.View(a).GroupPeer());
        await a.CreateUserAsync("alice", "alice-password");
        await a.CreateUserAsync("bob", "bob-password");
        Assert.Contains("a", new[] { await HomeAsync("alice@localhost"), await HomeAsync("bob@localhost") });
    }

    [Fact]
    public async Task An_active_standby_group_takes_users_on_its_first_node_only_and_balance_moves_them_off_the_standby()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        foreach (var user in new[] { "u1", "u2", "u3", "u4" })
        {
            await a.CreateUserAsync(user, "secret-1234");
        }

        var create = await _cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "active-standby");
        await a.CreateUserAsync("u5", "secret-1234");
        var balance = await _cluster.ParleyAsync("cluster", "balance");
        await _cluster.ParleyAsync("cluster", "assign", "u1@localhost", "--node", "b");

        Assert.True(create.ExitCode == 0, create.Error);
        Assert.Equal("a", await HomeAsync("u5@localhost"));
        Assert.Equal("moved 2 accounts to another home node", balance.Output.Trim());
        Assert.Equal("b", await HomeAsync("u1@localhost"));
        await Eventually.TrueAsync(() => ClusterNodes.View(a).HomeOf(Protocol.Jid.Parse("u1@localhost")) == "b");
        var status = await Status();
        var group = Assert.Single(status.GetProperty("groups").EnumerateArray());
        Assert.Equal("active-standby", group.GetProperty("mode").GetString());
        Assert.Equal(["a", "b"], group.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal([true, false], status.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("takesUsers").GetBoolean()));
        // The CLI's changes go through the console's and the API's service, so they are audited alike.
        var audit = await a.App.Node.Storage.Audit.ListAsync(null, null, 50);
        Assert.Equal([("cluster.group-create", "g1"), ("cluster.balance", "cluster"), ("cluster.assign", "u1@localhost")],
            audit.Where(r => r.Action.StartsWith("cluster.", StringComparison.Ordinal)).Select(r => (r.Action, r.Subject)));
        Assert.Equal("cli", audit.Last(r => r.Action == "cluster.assign").Origin);
    }

    [Fact]
    public async Task A_node_that_claimed_its_name_but_has_not_opened_its_listeners_is_waiting_and_no_client_is_sent_there()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await a.CreateUserAsync("carol", "carol-password");
        await using (var database = Npgsql.NpgsqlDataSource.Create(_cluster.Database))
        await using (var starting = database.CreateCommand("INSERT INTO cluster_nodes (name, address, lease_until) VALUES ('c', '127.0.0.1:1', now() + interval '1 hour')"))
        {
            await starting.ExecuteNonQueryAsync();
        }
        await _cluster.AssignAsync([a], ("carol@localhost", "c"));

        await using var carol = await XmppTestClient.LoginAsync(a, "carol", "carol-password");
        var c = (await Status()).GetProperty("nodes")[1];

        Assert.Single(a.App.Node.Sessions.All);
        Assert.Equal("waiting", c.GetProperty("state").GetString());
        Assert.Equal("starting: its listeners are not open yet", c.GetProperty("reason").GetString());
        Assert.Equal(1, c.GetProperty("usersAssigned").GetInt32());
    }

    private async Task<XmppTestClient> LoginAfterCreatingAsync(TestNode node, string user)
    {
        await node.CreateUserAsync(user, user + "-password");
        return await XmppTestClient.LoginAsync(node, user, user + "-password");
    }

    private async Task<JsonElement> Status()
    {
        var status = await _cluster.ParleyAsync("cluster", "status", "--json");
        Assert.True(status.ExitCode == 0, status.Error);
        return JsonDocument.Parse(status.Output).RootElement.Clone();
    }

    private async Task<string?> HomeAsync(string account)
    {
        await using var database = Npgsql.NpgsqlDataSource.Create(_cluster.Database);
        await using var read = database.CreateCommand("SELECT node FROM cluster_assignments WHERE jid = $1");
        read.Parameters.Add(new() { Value = account });
        return (string?)await read.ExecuteScalarAsync();
    }
}
