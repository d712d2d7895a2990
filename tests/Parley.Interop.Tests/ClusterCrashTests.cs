using System.Globalization;
using System.Text.Json;
using Parley.Interop.Tests.Support;
using Parley.Storage;
using Parley.Tests.Shared;
using Xunit.Abstractions;

namespace Parley.Interop.Tests;

/// <summary>
/// Two `parley serve --bus` nodes on one PostgreSQL; alice on node a chats with bob on node b, and one of the nodes is
/// SIGKILLed mid-chat. What alice's node acknowledged (XEP-0198) and did not return as an error is in both archives,
/// what bob got is in his archive, and nothing is there twice (../shared/DESIGN.md §7, across nodes: a node answers
/// the bus request for a stanza only once it has archived and delivered or stored it).
/// </summary>
public sealed class ClusterCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private NatsServer _nats = null!;
    private string _database = null!;
    private ParleyProcess _a = null!;
    private ParleyProcess _b = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _database = await (await PostgresCluster.Shared).CreateDatabaseAsync("crash");
        _a = await ParleyProcess.StartAsync(postgres: _database, serveFlags: ["--bus", _nats.Url, "--node", "a"]);
        _b = await ParleyProcess.StartAsync(postgres: _database, serveFlags: ["--bus", _nats.Url, "--node", "b"]);
        await _a.AddUsersAsync("alice", "bob");
        foreach (var (user, node) in new[] { ("alice", "a"), ("bob", "b") })
        {
            var assign = await _a.CliAsync(["cluster", "assign", $"{user}@localhost", "--node", node]);
            Assert.True(assign.ExitCode == 0, assign.Output);
        }
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

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public async Task A_node_killed_mid_chat_across_nodes_keeps_every_acknowledged_message_and_archives_every_delivered_one_once(string killed)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "raw_crash_cluster.py");
        await using var clients = ExternalProcess.Start("/usr/bin/python3",
            [script, "127.0.0.1", Port(_a), Port(_b), "alice-secret", "bob-secret"]);
        await clients.WaitForOutputAsync("READY", TimeSpan.FromSeconds(60));
        await clients.WaitForOutputAsync("received 100", TimeSpan.FromSeconds(60));

        await (killed == "a" ? _a : _b).DisposeAsync();

        Assert.True(await clients.WaitForExitAsync(TimeSpan.FromSeconds(150)), clients.Output);
        var result = JsonDocument.Parse(clients.Output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
        var acked = result.GetProperty("acked").GetInt32();
        var errors = result.GetProperty("errors").EnumerateArray().Select(id => id.GetString()!).ToHashSet();
        var received = result.GetProperty("received").EnumerateArray().Select(body => body.GetString()!).ToList();
        output.WriteLine($"node {killed} killed: {result.GetProperty("sent")} sent, {acked} acknowledged, {errors.Count} returned as errors, {received.Count} received");
        Assert.True(acked >= 100 && received.Count >= 100, clients.Output[..Math.Min(2000, clients.Output.Length)]);
        if (killed == "b")
        {
            // Alice's node acknowledged all she sent after bob's node died: each was stored for bob or came back to her.
            Assert.True(result.GetProperty("sent").GetInt32() == acked, $"not all acknowledged; alice's stream ended with: {result.GetProperty("alice_last")}");
        }

        await using var storage = await StorageFactory.OpenAsync("postgres", _database, StorageOpenMode.ExistingOnly);
        var kept = Enumerable.Range(1, acked).Select(i => $"m{i}").Where(body => !errors.Contains(body)).ToList();
        List<string> bobs = [], alices = [], missing = kept;
        // What waited on alice's node for bob's lease to run out reaches his archive once it has.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            bobs = await CrashTests.ArchivedBodiesAsync(storage, "bob@localhost");
            alices = await CrashTests.ArchivedBodiesAsync(storage, "alice@localhost");
            missing = kept.Where(body => !bobs.Contains(body) || !alices.Contains(body)).ToList();
            if (missing.Count == 0)
            {
                break;
            }
            await Task.Delay(200);
        }

        Assert.True(missing.Count == 0,
            $"acknowledged ({acked}, {errors.Count} returned as errors) but not in both archives: {string.Join(", ", missing.Take(20))}");
        var unarchived = received.Where(body => !bobs.Contains(body)).ToList();
        Assert.True(unarchived.Count == 0, $"delivered to bob but not in his archive: {string.Join(", ", unarchived.Take(20))}");
        Assert.Equal(bobs.Count, bobs.Distinct().Count());
        Assert.Equal(received.Count, received.Distinct().Count());
    }

    private static string Port(ParleyProcess node) => node.C2sTlsPort.ToString(CultureInfo.InvariantCulture);
}
