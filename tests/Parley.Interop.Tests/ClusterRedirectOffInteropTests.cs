using System.Globalization;
using System.Text.Json;
using Parley.Interop.Tests.Support;
using Parley.Tests.Shared;

namespace Parley.Interop.Tests;

/// <summary>
/// Two `parley serve --bus --node --redirect false` processes and python3-slixmpp: alice, homed on node a, signed in on
/// both nodes at once; node b SIGKILLed under her.
/// </summary>
public sealed class ClusterRedirectOffInteropTests : IAsyncLifetime
{
    private NatsServer _nats = null!;
    private ParleyProcess _a = null!;
    private ParleyProcess _b = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        var database = await (await PostgresCluster.Shared).CreateDatabaseAsync("redirectoff");
        _a = await ParleyProcess.StartAsync(postgres: database, serveFlags: ["--bus", _nats.Url, "--node", "a", "--redirect", "false"]);
        _b = await ParleyProcess.StartAsync(postgres: database, serveFlags: ["--bus", _nats.Url, "--node", "b", "--redirect", "false"]);
        // New accounts are spread (alice on a, bob on b); bob is moved to a, so that only alice has a session elsewhere.
        await _a.AddUsersAsync("alice", "bob");
        var assign = await _a.CliAsync(["cluster", "assign", "bob@localhost", "--node", "a"]);
        Assert.True(assign.ExitCode == 0, assign.Output);
        foreach (var node in new[] { _a, _b })
        {
            await node.WaitForOutputAsync("the latest bob@localhost on node a", TimeSpan.FromSeconds(30));
        }
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _nats.DisposeAsync();
    }

    [Fact]
    public async Task Alice_on_both_nodes_gets_a_bare_jid_message_on_both_and_when_node_b_is_killed_bob_sees_that_resource_go_and_she_chats_on()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_offhome_kill.py");
        await using var script = ExternalProcess.Start("/usr/bin/python3",
            [path, "127.0.0.1", Port(_a), Port(_b), "alice@localhost", "alice-secret", "bob@localhost", "bob-secret"]);

        await script.WaitForOutputAsync("kill node B now", TimeSpan.FromSeconds(120));
        await _b.DisposeAsync();
        Assert.True(await script.WaitForExitAsync(TimeSpan.FromSeconds(120)), script.Output);

        Assert.True(script.ExitCode == 0, $"slixmpp_offhome_kill.py failed:\n{script.Output}\nnode a:\n{_a.Output}");
        var result = JsonDocument.Parse(script.Output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
        Assert.True(result.GetProperty("bob_saw_away_go").GetBoolean());
        Assert.Equal(["to both", "still there?"], result.GetProperty("at_home_bodies").EnumerateArray().Select(body => body.GetString()));
        Assert.Equal(["yes"], result.GetProperty("bob_bodies").EnumerateArray().Select(body => body.GetString()));
        Assert.Empty(result.GetProperty("at_home_stream_errors").EnumerateArray());
        Assert.Contains("Node b is down: the session of alice@localhost/", _a.Output);
    }

    private static string Port(ParleyProcess node) => node.C2sPort.ToString(CultureInfo.InvariantCulture);
}
