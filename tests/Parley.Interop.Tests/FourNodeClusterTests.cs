using System.Globalization;
using System.Text.Json;
using Parley.Interop.Tests.Support;
using Parley.Tests.Shared;
using Xunit.Abstractions;

namespace Parley.Interop.Tests;

/// <summary>
/// The issue's cluster proof: PostgreSQL, nats-server and four `parley serve` processes in two redundancy groups, one
/// python3-slixmpp client per user. Every user first reaches a node that is not its home and follows
/// &lt;see-other-host/&gt; (or, with <c>--redirect false</c>, is served there); all see each other, chat, and talk in one
/// room whose occupants are on every node; nodes are SIGKILLed; their users sign in at the group peer (one resumes
/// its XEP-0198 stream there instead) and are seen again, with every message sent to them meanwhile delivered exactly once; the killed nodes start again and
/// their users are sent home (fallback).
/// </summary>
public sealed class FourNodeClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] Names = ["a", "b", "c", "d"];

    // CI runs on two shared cores: the issue's 5 s goal is measured by the benchmark, CI asserts this.
    private static readonly TimeSpan FailoverLimit = TimeSpan.FromSeconds(10);

    private NatsServer _nats = null!;
    private string _database = null!;
    private readonly Dictionary<string, ParleyProcess> _nodes = [];
    private Dictionary<string, string> _homes = [];

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _database = await (await PostgresCluster.Shared).CreateDatabaseAsync("fournodes");
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes.Values)
        {
            await node.DisposeAsync();
        }
        await _nats.DisposeAsync();
    }

    [Fact]
    public async Task Balanced_groups_one_node_killed_in_each_its_users_come_back_on_the_peer_and_go_home_when_it_returns()
    {
        await FormClusterAsync("balanced", new() { ["u1"] = "a", ["u2"] = "b", ["u3"] = "c", ["u4"] = "d" });

        var result = await RunAsync(kill: ["a", "c"], peer: new() { ["a"] = "b", ["c"] = "d" });

        AssertServedBy(result, "served_by", new() { ["u1"] = "a", ["u2"] = "b", ["u3"] = "c", ["u4"] = "d" });
        AssertServedBy(result, "moved_served_by", new() { ["u1"] = "b", ["u3"] = "d" });
        AssertServedBy(result, "home_served_by", new() { ["u1"] = "a", ["u3"] = "c" });
        AssertAwayMessagesOnce(result, moved: ["u1", "u3"], stayed: ["u2", "u4"]);
        AssertResumed(result, "u1");
        AssertFailoverWithinLimit(result);
    }

    [Fact]
    public async Task With_redirect_off_users_are_served_where_they_connect_and_those_on_a_killed_node_come_back_on_its_peer()
    {
        // Each user connects to the node after its home and is served there: u1 and u2 (homed on a) on b, u3 and u4
        // (homed on c) on d. Node b, which holds connections but no one's home, is killed.
        await FormClusterAsync("balanced", new() { ["u1"] = "a", ["u2"] = "a", ["u3"] = "c", ["u4"] = "c" }, redirect: false);

        var result = await RunAsync(kill: ["b"], peer: new() { ["b"] = "a" }, redirect: false);

        Assert.All(result.GetProperty("first_hops").EnumerateObject(), hops => Assert.Equal(0, hops.Value.GetArrayLength()));
        AssertServedBy(result, "served_by", new() { ["u1"] = "b", ["u2"] = "b", ["u3"] = "d", ["u4"] = "d" });
        AssertServedBy(result, "moved_served_by", new() { ["u1"] = "a", ["u2"] = "a" });
        AssertFailoverWithinLimit(result);
    }

    [Fact]
    public async Task Active_standby_groups_the_active_node_killed_its_users_come_back_on_the_standby_and_go_home_when_it_returns()
    {
        await FormClusterAsync("active-standby", new() { ["u1"] = "a", ["u2"] = "a", ["u3"] = "c", ["u4"] = "c" });

        var result = await RunAsync(kill: ["a"], peer: new() { ["a"] = "b" });

        AssertServedBy(result, "served_by", new() { ["u1"] = "a", ["u2"] = "a", ["u3"] = "c", ["u4"] = "c" });
        AssertServedBy(result, "moved_served_by", new() { ["u1"] = "b", ["u2"] = "b" });
        AssertServedBy(result, "home_served_by", new() { ["u1"] = "a", ["u2"] = "a" });
        AssertAwayMessagesOnce(result, moved: ["u1", "u2"], stayed: ["u3", "u4"]);
        AssertResumed(result, "u1");
        AssertFailoverWithinLimit(result);
    }

    /// <summary>Groups g1 = a,b and g2 = c,d in <paramref name="mode"/>; the users with mutual rosters, each homed as given.</summary>
    private async Task FormClusterAsync(string mode, Dictionary<string, string> homes, bool redirect = true)
    {
        foreach (var name in Names)
        {
            _nodes[name] = await ParleyProcess.StartAsync(postgres: _database,
                serveFlags: ["--bus", _nats.Url, "--node", name, .. redirect ? Array.Empty<string>() : ["--redirect", "false"]]);
        }
        _homes = homes;
        var a = _nodes["a"];
        await AllUpAsync();
        await CliAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", mode);
        await CliAsync("cluster", "group", "create", "g2", "--nodes", "c,d", "--mode", mode);
        await a.AddUsersAsync([.. homes.Keys]);
        foreach (var (user, node) in homes)
        {
            await CliAsync("cluster", "assign", $"{user}@localhost", "--node", node);
        }
        var csv = Path.Combine(a.DataDir, "rosters.csv");
        Directory.CreateDirectory(a.DataDir);
        await File.WriteAllLinesAsync(csv, ["jid,contact_jid,name,group,subscription",
            .. from user in homes.Keys from contact in homes.Keys where string.CompareOrdinal(user, contact) < 0
               select $"{user}@localhost,{contact}@localhost,{contact},Team,both"]);
        await CliAsync("roster", "import", csv);
        // Nodes read home changes in order at their heartbeats: once each has read the sentinel's, it has read all.
        await a.AddUsersAsync("sentinel");
        try
        {
            foreach (var node in _nodes.Values)
            {
                await node.WaitForOutputAsync("the latest sentinel@localhost on node", TimeSpan.FromSeconds(30));
            }
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message[..Math.Min(200, e.Message.Length)]}\n{NodeOutputs()}", e);
        }
    }

    private async Task<JsonElement> RunAsync(string[] kill, Dictionary<string, string> peer, bool redirect = true)
    {
        var config = new
        {
            host = "127.0.0.1",
            nodes = _nodes.ToDictionary(node => node.Key, node => new { port = node.Value.C2sPort, pid = node.Value.Pid }),
            kill,
            peer,
            redirect,
            room = "team@conference.localhost",
            // With redirect off, a message sent to a user whose connection's node just died reaches the stand-in
            // session its home node keeps until that node's lease runs out, and is lost (docs/clustering.md).
            away_messages = redirect,
            users = _homes.Select(home => new
            {
                jid = $"{home.Key}@localhost",
                password = $"{home.Key}-secret",
                home = home.Value,
                // Never the home: every first sign-in is sent on with <see-other-host/>, or served there with redirect off.
                first = Names[(Array.IndexOf(Names, home.Value) + 1) % Names.Length],
                // u1 resumes its stream at the peer (XEP-0198); the others sign in again there.
                stream_management = redirect && home.Key == "u1",
            }),
        };
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_cluster_four.py");
        await using var script = ExternalProcess.Start("/usr/bin/python3", [path, JsonSerializer.Serialize(config)]);
        try
        {
            await script.WaitForOutputAsync("BACK", TimeSpan.FromSeconds(180));
        }
        catch (TimeoutException e)
        {
            // The script may have ended with its result still on the way through the output pipe.
            await script.WaitForExitAsync(TimeSpan.FromSeconds(10));
            throw new TimeoutException($"{e.Message.Split("Output:")[0]}\nscript:\n{script.Output}\n{NodeOutputs()}", e);
        }
        foreach (var name in kill)
        {
            // Its name is free again once its lease has run out.
            await _nodes[peer[name]].WaitForOutputAsync($"Cluster node {name} is down", TimeSpan.FromSeconds(30));
            _nodes[name] = await _nodes[name].RestartAsync();
        }
        Assert.True(await script.WaitForExitAsync(TimeSpan.FromSeconds(180)), $"the script did not finish:\n{script.Output}");
        Assert.True(script.ExitCode == 0, $"slixmpp_cluster_four.py failed:\n{script.Output}\n{NodeOutputs()}");
        var result = script.Output.Split('\n').Last(line => line.StartsWith('{'));
        output.WriteLine(result);
        return JsonDocument.Parse(result).RootElement;
    }

    private void AssertServedBy(JsonElement result, string property, Dictionary<string, string> expected)
    {
        var served = result.GetProperty(property).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(expected.ToDictionary(e => $"{e.Key}@localhost", e => _nodes[e.Value].C2sPort), served);
    }

    private static void AssertAwayMessagesOnce(JsonElement result, string[] moved, string[] stayed)
    {
        var received = result.GetProperty("away_received");
        foreach (var user in moved)
        {
            Assert.Equal(
                stayed.Select(sender => $"away {sender}@localhost to {user}@localhost").Order(StringComparer.Ordinal),
                received.GetProperty($"{user}@localhost").EnumerateArray().Select(body => body.GetString()!));
        }
    }

    /// <summary>The user's client resumed its stream at the peer, without a new session.</summary>
    private static void AssertResumed(JsonElement result, string user)
    {
        var resumption = result.GetProperty("resumption").GetProperty($"{user}@localhost");
        Assert.Equal(1, resumption.GetProperty("resumed").GetInt32());
        Assert.False(resumption.GetProperty("started_again").GetBoolean());
    }

    private static void AssertFailoverWithinLimit(JsonElement result)
    {
        var seconds = result.GetProperty("failover_seconds").GetDouble();
        Assert.True(seconds < FailoverLimit.TotalSeconds, string.Create(CultureInfo.InvariantCulture, $"the last moved user was seen again {seconds:0.0} s after the kill"));
    }

    private async Task CliAsync(params string[] arguments)
    {
        var run = await _nodes["a"].CliAsync(arguments);
        Assert.True(run.ExitCode == 0, $"parley {string.Join(' ', arguments)}:\n{run.Output}");
    }

    private async Task AllUpAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var status = await _nodes["a"].CliAsync(["cluster", "status", "--json"]);
            Assert.True(status.ExitCode == 0, status.Output);
            var states = JsonDocument.Parse(status.Output[status.Output.IndexOf('{')..]).RootElement.GetProperty("nodes").EnumerateArray()
                .Select(node => node.GetProperty("state").GetString());
            if (states.Count(state => state == "up") == Names.Length)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the four nodes are not all up: {status.Output}");
        }
    }

    private string NodeOutputs() => string.Join("\n", _nodes.Select(node => $"node {node.Key}:\n{node.Value.Output}"));
}
