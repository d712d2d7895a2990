using System.Globalization;
using System.Text.Json;
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
