using System.Globalization;
using System.Text.Json;
using Parley.Cluster.Membership;
using Parley.Cluster.Rooms;
using Parley.Interop.Tests.Support;
using Parley.Tests.Shared;

namespace Parley.Interop.Tests;

/// <summary>
/// Two `parley serve --bus --node` processes on one PostgreSQL database and one nats-server, and python3-slixmpp
/// clients: alice homed on node a, bob on node b.
/// </summary>
public sealed partial class ClusterInteropTests : IAsyncLifetime
{
    private NatsServer _nats = null!;
    private string _database = null!;
    private ParleyProcess _a = null!;
    private ParleyProcess _b = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _database = await (await PostgresCluster.Shared).CreateDatabaseAsync("clusterinterop");
        _a = await ParleyProcess.StartAsync(postgres: _database, serveFlags: NodeFlags("a"));
        _b = await ParleyProcess.StartAsync(postgres: _database, serveFlags: NodeFlags("b"));
        await BothUpAsync();
        // Accounts created on a running cluster are spread over the nodes: alice on a, bob on b. A node logs the
        // change at the heartbeat that reads it, after it has read the nodes, so both then see the other up too.
        await _a.AddUsersAsync("alice", "bob");
        foreach (var node in new[] { _a, _b })
        {
            await node.WaitForOutputAsync("the latest bob@localhost on node b", TimeSpan.FromSeconds(30));
        }
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private string[] NodeFlags(string name) => ["--bus", _nats.Url, "--node", name];

    private async Task BothUpAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var status = await _a.CliAsync(["cluster", "status", "--json"]);
            Assert.True(status.ExitCode == 0, status.Output);
            var states = JsonDocument.Parse(status.Output[status.Output.IndexOf('{')..]).RootElement.GetProperty("nodes").EnumerateArray()
                .Select(node => node.GetProperty("state").GetString());
            if (states.SequenceEqual(["up", "up"]))
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the nodes are not both up: {status.Output}");
        }
    }

    [Fact]
    public async Task Slixmpp_clients_on_two_nodes_subscribe_and_chat_and_bob_follows_see_other_host_to_his_node()
    {
        var result = await RunChatAsync(_a, _a);

        Assert.Equal(["see-other-host"], result.GetProperty("bob_stream_errors").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(_b.C2sPort, result.GetProperty("bob_port").GetInt32());
        Assert.Equal(_a.C2sPort, result.GetProperty("alice_port").GetInt32());
        Assert.StartsWith("bob@localhost/", result.GetProperty("alice_saw").GetString());
        Assert.StartsWith("alice@localhost/", result.GetProperty("bob_saw").GetString());
        Assert.Equal("hello from node one", result.GetProperty("received_by_bob").GetProperty("body").GetString());
        Assert.Equal("hello from node two", result.GetProperty("received_by_alice").GetProperty("body").GetString());
    }

    [Fact]
    public async Task After_a_sigkill_of_alices_node_slixmpp_alice_is_served_by_the_other_node_and_chats_with_bob()
    {
        await _a.DisposeAsync();
        await _b.WaitForOutputAsync("Cluster node a is down", TimeSpan.FromSeconds(30));

        var result = await RunChatAsync(_b, _b);

        Assert.Equal([], result.GetProperty("bob_stream_errors").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(_b.C2sPort, result.GetProperty("alice_port").GetInt32());
        Assert.Equal("hello from node one", result.GetProperty("received_by_bob").GetProperty("body").GetString());
        Assert.Equal("hello from node two", result.GetProperty("received_by_alice").GetProperty("body").GetString());
    }

    [Fact]
    public async Task Slixmpp_clients_on_two_nodes_share_one_room_and_read_each_others_groupchat()
    {
        var result = await RunRoomAsync("team@conference.localhost", "chat", _a, _b);

        Assert.Equal(_a.C2sPort, result.GetProperty("alice_port").GetInt32());
        Assert.Equal(_b.C2sPort, result.GetProperty("bob_port").GetInt32());
        Assert.Equal(["Alice", "Bob"], Strings(result, "alice_sees"));
        Assert.Equal(["Alice", "Bob"], Strings(result, "bob_sees"));
        Assert.Equal(["hello from node a", "hello from node b"], Strings(result, "alice_read"));
        Assert.Equal(["hello from node a", "hello from node b"], Strings(result, "bob_read"));
    }

    [Fact]
    public async Task After_a_sigkill_of_a_persistent_rooms_node_slixmpp_clients_find_it_with_its_history_on_the_other_node()
    {
        const string Room = "plans@conference.localhost";
        var created = await _a.CliAsync(["room", "create", Room, "--owner", "alice@localhost", "--name", "Plans"]);
        Assert.True(created.ExitCode == 0, created.Output);
        await RunRoomAsync(Room, "chat", _a, _b);
        var (runsRoom, left) = RoomPlacement.HostOf(Room, [NodeUp("a"), NodeUp("b")])!.Name == "a" ? (_a, _b) : (_b, _a);

        await runsRoom.DisposeAsync();
        await left.WaitForOutputAsync($"Cluster node {(runsRoom == _a ? "a" : "b")} is down", TimeSpan.FromSeconds(30));
        var result = await RunRoomAsync(Room, "after-kill", left, left);

        Assert.Equal(["hello from node a", "hello from node b"], Strings(result, "history").Order());
        Assert.Equal(["alice after the kill", "bob after the kill"], Strings(result, "alice_read"));
        Assert.Equal(["alice after the kill", "bob after the kill"], Strings(result, "bob_read"));
    }

    /// <summary>Runs slixmpp_cluster_muc.py: alice on <paramref name="aliceNode"/> and bob on <paramref name="bobNode"/> in <paramref name="room"/>.</summary>
    private async Task<JsonElement> RunRoomAsync(string room, string phase, ParleyProcess aliceNode, ParleyProcess bobNode)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_cluster_muc.py");
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [path, "127.0.0.1", room, phase, Port(aliceNode), "alice@localhost", "alice-secret", Port(bobNode), "bob@localhost", "bob-secret"],
            TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"slixmpp_cluster_muc.py failed:\n{output}\nnode a:\n{_a.Output}\nnode b:\n{_b.Output}");
        return JsonDocument.Parse(output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
    }

    private static ClusterNodeState NodeUp(string name) => new(name, "", Up: true, Group: null, FailedOver: false, FallbackDue: true);

    [Fact]
    public async Task A_second_serve_with_a_running_nodes_name_exits_with_a_clear_message()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "parley-interop-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (exitCode, output) = await ExternalProcess.RunAsync("dotnet",
                [ParleyProcess.ParleyDll, "serve", "--domain", "localhost", "--data-dir", dataDir, "--bind", "127.0.0.1", "--c2s-port", "0",
                 "--c2s-tls-port", "0", "--http-port", "0", "--https-port", "0", "--postgres", _database, .. NodeFlags("a")], TimeSpan.FromSeconds(60));

            Assert.Equal(1, exitCode);
            Assert.Contains($"cannot join the cluster: another node named 'a' is running (at 127.0.0.1:{_a.C2sPort}, its lease runs ", output);
        }
        finally
        {
            if (Directory.Exists(dataDir))
            {
                Directory.Delete(dataDir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_raw_client_whose_node_is_sigkilled_resumes_on_the_group_peer_and_gets_exactly_the_stanzas_it_had_not_acknowledged()
    {
        var location = $"127.0.0.1:{_a.C2sPort}";

        var result = await KillAlicesNodeUnderAsync("resume");

        Assert.Equal(location, result.GetProperty("location").GetString());
        var resumed = result.GetProperty("resumed").GetString()!;
        Assert.Matches("^<resumed [^>]*h=['\"]1['\"]", resumed);
        Assert.Contains(result.GetProperty("previd").GetString()!, resumed);
        // m1 and m2 were acknowledged on node a; m3 and m4 come again once each, then the chat goes on.
        Assert.Equal(["m3", "m4", "m5"], Strings(result, "bodies"));
        Assert.Equal(["before", "back on node b"], Strings(result, "bob_got"));
    }

    /// <param name="mode">login: the client never asked for resumption; fresh: it did, but signs in again instead.</param>
    [Theory]
    [InlineData("login")]
    [InlineData("fresh")]
    public async Task A_raw_client_that_signs_in_again_on_the_group_peer_after_a_sigkill_gets_the_messages_it_had_not_acknowledged_once(string mode)
    {
        var result = await KillAlicesNodeUnderAsync(mode);

        // From offline storage (or handed straight to the new session if it was already there), stamped with when they came.
        Assert.Equal(["m3", "m4", "m5"], Strings(result, "bodies"));
        Assert.Equal(2, result.GetProperty("delayed").GetInt32());
        Assert.Equal(["before", "back on node b"], Strings(result, "bob_got"));
    }

    [Fact]
    public async Task Slixmpp_whose_node_is_sigkilled_resumes_its_stream_on_the_group_peer_gets_what_it_missed_once_and_its_contact_sees_it_again()
    {
        var result = await KillAlicesNodeUnderAsync("slixmpp_cluster_resume.py", [Port(_a), Port(_b)]);

        Assert.Equal($"127.0.0.1:{_a.C2sPort}", result.GetProperty("location").GetString());
        // Resumed at the first try, even when it came before node b knew that node a was dead: no new session was bound.
        Assert.Equal(1, result.GetProperty("resumed").GetInt32());
        Assert.Equal(1, result.GetProperty("starts").GetInt32());
        Assert.Equal(["m1", "m2", "m3", "m4"], Strings(result, "bodies"));
        Assert.True(result.GetProperty("bob_saw_alice_again").GetBoolean());
        Assert.Equal(_b.C2sPort, result.GetProperty("alice_port").GetInt32());
    }

    [Fact]
    public async Task A_raw_client_resumed_on_the_group_peer_keeps_its_rooms_client_state_carbons_pushes_and_directed_presence()
    {
        // One room runs on the peer and keeps alice; the other ran on the killed node and is gone with it.
        var kept = RoomRunningOn("b", "kept");
        var moved = RoomRunningOn("a", "moved");

        var result = await KillAlicesNodeUnderAsync("raw_resume_state.py",
            [_a.C2sTlsPort.ToString(CultureInfo.InvariantCulture), _b.C2sTlsPort.ToString(CultureInfo.InvariantCulture), kept, moved]);

        // Still inactive (XEP-0352): bob's three presence updates were held and only the latest came, before his message.
        Assert.Equal(["s3"], Strings(result, "statuses"));
        // Still an occupant of the room on the peer: she reads it and speaks in it, and bob never saw her leave.
        Assert.Equal(["after the move", "still here?", "yes"], Strings(result, "bodies"));
        Assert.Equal("result", result.GetProperty("ping_kept").GetString());
        Assert.Equal(0, result.GetProperty("bob_saw_alice_leave_the_room_before_she_closed").GetInt32());
        // The room of the killed node is gone: her self-ping says she is not in it (XEP-0410), and she joins again.
        Assert.Equal("error not-acceptable", result.GetProperty("ping_moved").GetString());
        Assert.True(result.GetProperty("rejoined").GetBoolean());
        // She had asked for her roster and block list and turned carbons on: her other device's changes and messages reach her.
        Assert.Equal("carol@localhost", result.GetProperty("roster_push").GetString());
        Assert.Equal("mallory@localhost", result.GetProperty("block_push").GetString());
        Assert.Equal("from the tablet", result.GetProperty("carbon").GetString());
        // That bob then got her unavailable presence, from her directed presence and from the room, the script waited for.
    }

    [Fact]
    public async Task A_session_its_client_cannot_resume_ends_on_the_group_peer_and_its_contact_and_room_see_it_go()
    {
        // Stream management without resumption: node b holds a copy of the session, but the client cannot take it back.
        var room = RoomRunningOn("b", "gone");

        var result = await KillAlicesNodeUnderAsync("raw_gone.py",
            [_a.C2sTlsPort.ToString(CultureInfo.InvariantCulture), _b.C2sTlsPort.ToString(CultureInfo.InvariantCulture), room]);

        // Without it, bob would see alice online, and in the room, until something failed to reach her.
        Assert.True(result.GetProperty("contact_unavailable").GetBoolean(), result.ToString());
        Assert.True(result.GetProperty("room_unavailable").GetBoolean(), result.ToString());
    }

    /// <summary>A temporary room's address that <paramref name="node"/> runs while both nodes are up.</summary>
    private static string RoomRunningOn(string node, string prefix)
    {
        for (var i = 0; ; i++)
        {
            var room = $"{prefix}{i}@conference.localhost";
            if (RoomPlacement.HostOf(room, [NodeUp("a"), NodeUp("b")])!.Name == node)
            {
                return room;
            }
        }
    }

    private Task<JsonElement> KillAlicesNodeUnderAsync(string mode) =>
        KillAlicesNodeUnderAsync("raw_resume.py", [_a.C2sTlsPort.ToString(CultureInfo.InvariantCulture), _b.C2sTlsPort.ToString(CultureInfo.InvariantCulture), mode]);

    /// <summary>
    /// Groups a and b, runs <paramref name="script"/> HOST ARGUMENTS and SIGKILLs node a when the script prints KILL
    /// (once what alice acknowledged has been answered there, so node b holds it); returns the script's JSON line.
    /// </summary>
    private async Task<JsonElement> KillAlicesNodeUnderAsync(string script, string[] arguments)
    {
        var group = await _a.CliAsync(["cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "balanced"]);
        Assert.True(group.ExitCode == 0, group.Output);
        await _a.WaitForOutputAsync("copied to the group peer b", TimeSpan.FromSeconds(30));
        await using var clients = ExternalProcess.Start("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "Clients", script), "127.0.0.1", .. arguments]);
        await clients.WaitForOutputAsync("KILL", TimeSpan.FromSeconds(60));

        await _a.DisposeAsync();

        Assert.True(await clients.WaitForExitAsync(TimeSpan.FromSeconds(90)) && clients.ExitCode == 0,
            $"{script} failed:\n{clients.Output}\nnode a:\n{_a.Output}\nnode b:\n{_b.Output}");
        return JsonDocument.Parse(clients.Output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
    }

    private static string[] Strings(JsonElement result, string property) =>
        [.. result.GetProperty(property).EnumerateArray().Select(item => item.GetString()!)];

    /// <summary>Runs slixmpp_cluster_chat.py with alice connecting to <paramref name="aliceNode"/> and bob first to <paramref name="bobNode"/>.</summary>
    private async Task<JsonElement> RunChatAsync(ParleyProcess aliceNode, ParleyProcess bobNode)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_cluster_chat.py");
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [path, "127.0.0.1", Port(aliceNode), "alice@localhost", "alice-secret", Port(bobNode), "bob@localhost", "bob-secret"], TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"slixmpp_cluster_chat.py failed:\n{output}\nnode a:\n{_a.Output}\nnode b:\n{_b.Output}");
        return JsonDocument.Parse(output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
    }

    private static string Port(ParleyProcess node) => node.C2sPort.ToString(CultureInfo.InvariantCulture);
}
