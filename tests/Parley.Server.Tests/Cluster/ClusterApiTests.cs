using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.Protocol;
using Parley.Server.Tests.Api;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// /api/v1/cluster on a two-node cluster: status, assign, balance, failover, fallback and group create, as the CLI's topology
/// does them; and the sessions and room occupants of the whole cluster, whichever node is asked.
/// </summary>
public sealed class ClusterApiTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    private async Task<HttpClient> ClientAsync(TestNode node, string name, bool readOnly = false)
    {
        var (exitCode, output, error) = await _cluster.ParleyAsync(readOnly ? ["admin", "token", "create", name, "--read-only"] : ["admin", "token", "create", name]);
        Assert.True(exitCode == 0, error);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", output.Trim());
        return http;
    }

    private static async Task<JsonElement[]> NodesAsync(HttpClient http) =>
        (await http.GetFromJsonAsync<JsonElement>("/api/v1/cluster")).GetProperty("nodes").EnumerateArray().ToArray();

    [Fact]
    public async Task A_token_sees_both_nodes_assigns_and_balances_each_change_audited_and_a_read_only_token_changes_nothing()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        foreach (var user in new[] { "u1", "u2", "u3", "u4" })
        {
            var add = await _cluster.ParleyAsync("user", "add", $"{user}@localhost", "--password", "secret-1234");
            Assert.True(add.ExitCode == 0, add.Error);
        }
        using var ops = await ClientAsync(b, "ops");
        using var viewer = await ClientAsync(b, "viewer", readOnly: true);

        await ClusterNodes.UntilAsync(async () => (await NodesAsync(viewer)).Select(n => n.GetProperty("state").GetString()).SequenceEqual(["up", "up"]), "both nodes up");
        var nodes = await NodesAsync(viewer);
        Assert.Equal(["a", "b"], nodes.Select(n => n.GetProperty("name").GetString()));
        Assert.Equal([2, 2], nodes.Select(n => n.GetProperty("usersAssigned").GetInt32()));
        Assert.InRange(nodes[0].GetProperty("leaseAgeSeconds").GetDouble(), 0, 5);

        foreach (var user in new[] { "u2", "u4" })
        {
            using var assigned = await ops.PostAsync("/api/v1/cluster/assignments", ApiTestNode.Json($$"""{"jid":"{{user}}@localhost","node":"a"}"""));
            Assert.Equal(HttpStatusCode.NoContent, assigned.StatusCode);
        }
        await ClusterNodes.UntilAsync(async () => (await NodesAsync(ops)).Select(n => n.GetProperty("usersAssigned").GetInt32()).SequenceEqual([4, 0]), "all four homed on a");

        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/api/v1/cluster/balance", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/api/v1/cluster/assignments", ApiTestNode.Json("""{"jid":"u1@localhost","node":"b"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/api/v1/cluster/nodes/a/failover", null)).StatusCode);
        using (var stranger = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{b.HttpPort}") })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("/api/v1/cluster")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.PostAsync("/api/v1/cluster/balance", null)).StatusCode);
        }
        Assert.Equal([4, 0], (await NodesAsync(ops)).Select(n => n.GetProperty("usersAssigned").GetInt32()));

        using var balanced = await ops.PostAsync("/api/v1/cluster/balance", null);
        Assert.Equal(HttpStatusCode.OK, balanced.StatusCode);
        Assert.Equal(2, (await balanced.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("moved").GetInt32());
        await ClusterNodes.UntilAsync(async () => (await NodesAsync(ops)).Select(n => n.GetProperty("usersAssigned").GetInt32()).SequenceEqual([2, 2]), "two homed on each node");

        var audit = await b.App.Node.Storage.Audit.ListAsync(null, "token:ops", 10);
        Assert.Equal(["cluster.assign", "cluster.assign", "cluster.balance"], audit.Select(r => r.Action));
        Assert.Equal(["u2@localhost", "u4@localhost"], audit.Take(2).Select(r => r.Subject));
    }

    [Fact]
    public async Task A_token_creates_a_redundancy_group_seen_in_the_status_and_audited_and_bad_groups_are_refused_with_the_reason()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        await using var c = await _cluster.StartNodeAsync("c");
        using var ops = await ClientAsync(a, "ops");
        using var viewer = await ClientAsync(a, "viewer", readOnly: true);

        Assert.Contains("one or two different nodes, not 3", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/groups",
            ApiTestNode.Json("""{"name":"g1","nodes":["a","b","c"],"mode":"balanced"}""")), 400)).GetProperty("detail").GetString());
        Assert.Contains("there is no node named nowhere; the cluster's nodes are a, b, c", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/groups",
            ApiTestNode.Json("""{"name":"g1","nodes":["a","nowhere"],"mode":"balanced"}""")), 400)).GetProperty("detail").GetString());
        Assert.Contains("'mirrored' is not a mode: use balanced or active-standby", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/groups",
            ApiTestNode.Json("""{"name":"g1","nodes":["a","b"],"mode":"mirrored"}""")), 400)).GetProperty("detail").GetString());
        Assert.Contains("'g 1' is not a group name", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/groups",
            ApiTestNode.Json("""{"name":"g 1","nodes":["a","b"],"mode":"balanced"}""")), 400)).GetProperty("detail").GetString());
        Assert.Contains("A required field is missing: name, nodes, mode", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/groups",
            ApiTestNode.Json("""{"name":"g1","mode":"balanced"}""")), 400)).GetProperty("detail").GetString());
        Assert.Contains("'nodes' is null", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/groups",
            ApiTestNode.Json("""{"name":"g1","nodes":null,"mode":"balanced"}""")), 400)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/api/v1/cluster/groups",
            ApiTestNode.Json("""{"name":"g1","nodes":["a","b"],"mode":"balanced"}"""))).StatusCode);
        Assert.Empty((await viewer.GetFromJsonAsync<JsonElement>("/api/v1/cluster")).GetProperty("groups").EnumerateArray());

        using var created = await ops.PostAsync("/api/v1/cluster/groups", ApiTestNode.Json("""{"name":"g1","nodes":["a","b"],"mode":"active-standby"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(["a", "b"], (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        var status = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/cluster");
        var group = Assert.Single(status.GetProperty("groups").EnumerateArray());
        Assert.Equal(("g1", "active-standby"), (group.GetProperty("name").GetString(), group.GetProperty("mode").GetString()));
        Assert.Equal([true, false, true], status.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("takesUsers").GetBoolean()));

        Assert.Contains("node b is already in group g1", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/groups",
            ApiTestNode.Json("""{"name":"g2","nodes":["b","c"],"mode":"balanced"}""")), 400)).GetProperty("detail").GetString());
        var audit = Assert.Single(await a.App.Node.Storage.Audit.ListAsync(null, "token:ops", 10));
        Assert.Equal(("cluster.group-create", "g1", "active-standby: a, b"), (audit.Action, audit.Subject, audit.Details));
    }

    [Fact]
    public async Task A_token_fails_a_node_over_to_its_group_peer_and_back_its_user_is_sent_each_way_and_both_are_audited()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        await a.CreateUserAsync("alice", "alice-password");
        using var ops = await ClientAsync(a, "ops");
        Assert.Equal(HttpStatusCode.Created, (await ops.PostAsync("/api/v1/cluster/groups", ApiTestNode.Json("""{"name":"g1","nodes":["a","b"],"mode":"balanced"}"""))).StatusCode);
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"));
        var onA = await XmppTestClient.LoginAsync(a, "alice", "alice-password", "desk");

        Assert.Equal(HttpStatusCode.NoContent, (await ops.PostAsync("/api/v1/cluster/nodes/a/failover", null)).StatusCode);

        var sent = await onA.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.Equal($"127.0.0.1:{b.C2sPort}", sent.ChildText("see-other-host", Ns.StreamErrors));
        await onA.DisposeAsync();
        await ClusterNodes.UntilAsync(async () => (await NodesAsync(ops))[0].GetProperty("reason").GetString()?.Contains("failed over by hand", StringComparison.Ordinal) == true,
            "the status says a is failed over");
        await Eventually.TrueAsync(() => ClusterNodes.View(b).Node("a") is { FailedOver: true });
        await using (var onB = await XmppTestClient.LoginAsync(b, "alice", "alice-password", "desk"))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await ops.PostAsync("/api/v1/cluster/nodes/a/fallback", null)).StatusCode);

            var home = await onB.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
            Assert.Equal($"127.0.0.1:{a.C2sPort}", home.ChildText("see-other-host", Ns.StreamErrors));
        }
        await ClusterNodes.UntilAsync(async () => (await NodesAsync(ops))[0].GetProperty("reason").GetString() is null, "the status says a serves its users again");
        Assert.Contains("there is no node named nowhere", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/nodes/nowhere/fallback", null), 400))
            .GetProperty("detail").GetString());

        var audit = await a.App.Node.Storage.Audit.ListAsync(null, "token:ops", 10);
        Assert.Equal([("cluster.group-create", "g1"), ("cluster.failover", "a"), ("cluster.fallback", "a")], audit.Select(r => (r.Action, r.Subject)));
    }

    [Fact]
    public async Task A_session_served_by_the_other_node_is_listed_with_its_node_and_ended_from_this_one_and_audited()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        await a.CreateUserAsync("alice", "alice-password");
        await _cluster.AssignAsync([a, b], ("alice@localhost", "b"));
        await using var onB = await XmppTestClient.LoginAsync(b, "alice", "alice-password", "desk");
        using var ops = await ClientAsync(a, "ops");

        var listed = await ops.GetFromJsonAsync<JsonElement>("/api/v1/sessions?user=alice@localhost");
        var session = Assert.Single(listed.EnumerateArray());
        Assert.Equal(("alice@localhost/desk", "b"), (session.GetProperty("jid").GetString(), session.GetProperty("node").GetString()));
        Assert.Contains(("alice@localhost/desk", "b"), (await ops.GetFromJsonAsync<JsonElement>("/api/v1/sessions")).EnumerateArray()
            .Select(s => (s.GetProperty("jid").GetString(), s.GetProperty("node").GetString())));
        Assert.Equal("b", (await ops.GetFromJsonAsync<JsonElement>("/api/v1/users/alice@localhost")).GetProperty("sessions")[0].GetProperty("node").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await ops.DeleteAsync("/api/v1/sessions/alice@localhost/desk")).StatusCode);

        Assert.Equal("policy-violation", await onB.ExpectStreamErrorAsync());
        await Eventually.TrueAsync(() => !b.App.Node.Sessions.All.Any());
        Assert.Equal("No node serves a session alice@localhost/desk.", (await ApiTestNode.ProblemAsync(await ops.DeleteAsync("/api/v1/sessions/alice@localhost/desk"), 404))
            .GetProperty("detail").GetString());
        var audit = Assert.Single(await a.App.Node.Storage.Audit.ListAsync(null, "token:ops", 10));
        Assert.Equal(("session.end", "alice@localhost/desk", "from 127.0.0.1"), (audit.Action, audit.Subject, audit.Details));
    }

    [Fact]
    public async Task With_redirect_off_a_client_relayed_through_the_other_node_is_listed_once_by_each_node_with_the_node_it_is_connected_to()
    {
        await using var a = await _cluster.StartNodeAsync("a", options => options.Cluster.Redirect = false);
        await using var b = await _cluster.StartNodeAsync("b", options => options.Cluster.Redirect = false);
        await a.CreateUserAsync("alice", "alice-password");
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"));
        await using var onA = await XmppTestClient.LoginAsync(a, "alice", "alice-password", "desk");
        await using var onB = await XmppTestClient.LoginAsync(b, "alice", "alice-password", "phone");
        using var opsA = await ClientAsync(a, "ops-a");
        using var opsB = await ClientAsync(b, "ops-b");

        foreach (var ops in new[] { opsA, opsB })
        {
            foreach (var query in new[] { "/api/v1/sessions?user=alice@localhost", "/api/v1/sessions" })
            {
                var listed = await ops.GetFromJsonAsync<JsonElement>(query);
                Assert.Equal([("alice@localhost/desk", "a"), ("alice@localhost/phone", "b")],
                    listed.EnumerateArray().Select(s => (s.GetProperty("jid").GetString(), s.GetProperty("node").GetString())));
            }
        }

        Assert.Equal(HttpStatusCode.NoContent, (await opsB.DeleteAsync("/api/v1/sessions/alice@localhost/phone")).StatusCode);

        Assert.Equal("policy-violation", await onB.ExpectStreamErrorAsync());
        await ClusterNodes.UntilAsync(async () => (await opsA.GetFromJsonAsync<JsonElement>("/api/v1/sessions")).EnumerateArray()
            .Select(s => s.GetProperty("jid").GetString()).SequenceEqual(["alice@localhost/desk"]), "only the session connected to a is left");
    }

    [Fact]
    public async Task A_rooms_occupants_on_both_nodes_are_listed_by_the_node_that_does_not_run_it_as_by_the_one_that_does()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        foreach (var user in new[] { "alice", "bob" })
        {
            await a.CreateUserAsync(user, user + "-password");
        }
        await _cluster.AssignAsync([a, b], ("alice@localhost", "a"), ("bob@localhost", "b"));
        var room = ClusterRoomTests.RoomRunningOn(a, "b");
        using var opsA = await ClientAsync(a, "ops-a");
        using var opsB = await ClientAsync(b, "ops-b");
        Assert.Equal(HttpStatusCode.Created, (await opsA.PostAsync("/api/v1/rooms", ApiTestNode.Json($$"""{"jid":"{{room}}","owners":["alice@localhost"],"name":"Team"}"""))).StatusCode);
        await using var alice = await ClusterNodes.OnlineAsync(a, "alice", "home");
        await using var bob = await ClusterNodes.OnlineAsync(b, "bob", "home");
        Assert.Empty((await opsA.GetFromJsonAsync<JsonElement[]>($"/api/v1/rooms/{room}/occupants"))!);

        await Muc.JoinAsync(alice, room, "Alice");
        await Muc.JoinAsync(bob, room, "Bob");

        foreach (var ops in new[] { opsA, opsB })
        {
            var occupants = await ops.GetFromJsonAsync<JsonElement[]>($"/api/v1/rooms/{room}/occupants");
            Assert.Equal([("Alice", "alice@localhost", "moderator", "owner"), ("Bob", "bob@localhost", "participant", "none")], occupants!
                .Select(o => (o.GetProperty("nick").GetString(), o.GetProperty("jid").GetString(), o.GetProperty("role").GetString(), o.GetProperty("affiliation").GetString()))
                .OrderBy(o => o.Item1, StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Refused_changes_say_why_and_change_nothing_and_an_unclustered_node_has_no_cluster()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        var add = await _cluster.ParleyAsync("user", "add", "u1@localhost", "--password", "secret-1234");
        Assert.True(add.ExitCode == 0, add.Error);
        using var ops = await ClientAsync(a, "ops");

        Assert.Contains("there is no node named nowhere", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/assignments",
            ApiTestNode.Json("""{"jid":"u1@localhost","node":"nowhere"}""")), 400)).GetProperty("detail").GetString());
        Assert.Contains("there is no account nobody@localhost", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/assignments",
            ApiTestNode.Json("""{"jid":"nobody@localhost","node":"a"}""")), 400)).GetProperty("detail").GetString());
        await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/assignments", ApiTestNode.Json("""{"jid":"u1@localhost"}""")), 400);
        await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/assignments", ApiTestNode.Json("""{"jid":"u1@localhost/phone","node":"a"}""")), 400);
        Assert.Contains("has no redundancy-group peer", (await ApiTestNode.ProblemAsync(await ops.PostAsync("/api/v1/cluster/nodes/a/failover", null), 400))
            .GetProperty("detail").GetString());
        Assert.DoesNotContain("failed over", (await NodesAsync(ops))[0].GetProperty("reason").GetString() ?? "");
        Assert.Empty(await a.App.Node.Storage.Audit.ListAsync(null, "token:ops", 10));

        await using var single = await TestNode.StartAsync();
        var (exitCode, token, error) = await single.RunParleyAsync("admin", "token", "create", "ops");
        Assert.True(exitCode == 0, error);
        using var alone = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{single.HttpPort}") };
        alone.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        Assert.Contains("not part of a cluster", (await ApiTestNode.ProblemAsync(await alone.GetAsync("/api/v1/cluster"), 404)).GetProperty("detail").GetString());
        await ApiTestNode.ProblemAsync(await alone.PostAsync("/api/v1/cluster/balance", null), 404);
        await ApiTestNode.ProblemAsync(await alone.PostAsync("/api/v1/cluster/groups", ApiTestNode.Json("""{"name":"g1","nodes":["a"],"mode":"balanced"}""")), 404);
    }
}
