using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Parley.Ldap.Tests.Support;
using Parley.Server.Hosting;
using Parley.Server.Modules.Ldap;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;
using Parley.Tests.Shared;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// The data monitor: a node accepts clients only once its bus is connected and its first directory sync has completed
/// (or, for the directory alone, a timeout has passed); meanwhile it says why in the log and in `parley cluster status`,
/// and the other nodes go on serving. (Storage: PostgresNodeTests.A_node_whose_postgres_is_not_up_yet_says_why_accepts_no_client_and_starts_once_it_is.)
/// </summary>
public sealed class DataMonitorTests(SlapdForNodes slapd) : IClassFixture<SlapdForNodes>, IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task A_node_whose_directory_is_unreachable_waits_with_the_reason_refuses_clients_and_proceeds_after_the_timeout()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        var logs = new LogCapture();
        var c2sPort = 0;
        var clock = Stopwatch.StartNew();

        var starting = Task.Run(() => _cluster.StartNodeAsync("b", options =>
        {
            slapd.Configure(options, TestDirectory.UnreachableUrl());
            options.Module<DirectoryModuleOptions>().StartupSyncTimeoutSeconds = 4;
            c2sPort = options.Network.C2sPort;
        }, logs));

        var alarm = await logs.WaitForAsync("Not accepting clients yet: the first directory sync has not completed: ");
        await ClusterNodes.UntilAsync(async () => (await _cluster.StatusOfAsync("b")).GetProperty("state").GetString() == "waiting"
            && (await _cluster.StatusOfAsync("b")).GetProperty("reason").GetString()!.StartsWith("the first directory sync has not completed: ", StringComparison.Ordinal),
            "cluster status shows b waiting for its directory");
        Assert.False(starting.IsCompleted);
        await AssertRefusedAsync(c2sPort);
        // Only b waits: a serves, and sends b nobody.
        await a.AssertStillServesAsync();
        Assert.Equal("up", (await _cluster.StatusOfAsync("a")).GetProperty("state").GetString());
        Assert.False(ClusterNodes.View(a).Node("b")?.Up);

        await using var b = await starting.WaitAsync(XmppTestClient.Deadline);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(4), $"b accepted clients after {clock.Elapsed}, before its directory timeout");
        await logs.WaitForAsync("Accepting clients without a completed directory sync: none completed within Parley:Directory:StartupSyncTimeoutSeconds (4 s; the last: ");
        Assert.Equal(NodeReadiness.Ready, b.App.Web.Services.GetRequiredService<DataMonitor>().State);
        await ClusterNodes.UntilAsync(async () => (await _cluster.StatusOfAsync("b")).GetProperty("state").GetString() == "up", "b is up");
        // It serves: a local account (the directory's people cannot sign in while it is unreachable) homed on b.
        await b.CreateUserAsync("carol", "carol-password");
        await _cluster.AssignAsync([a, b], ("carol@localhost", "b"));
        await using var carol = await SlapdForNodes.SignInAsync(b, "carol", "carol-password");
        Assert.Single(b.App.Node.Sessions.All);
        Assert.Contains("ldap://127.0.0.1:", alarm);
    }

    [Fact]
    public async Task A_node_accepts_clients_once_its_first_directory_sync_has_completed()
    {
        var logs = new LogCapture();

        await using var node = await _cluster.StartNodeAsync("a", options => slapd.Configure(options), logs);

        // When the listeners open, the sync has made the directory's people accounts of the cluster.
        Assert.True(node.App.Web.Services.GetRequiredService<DirectorySyncService>().FirstCompletedSync.IsCompletedSuccessfully);
        Assert.True(await node.Accounts.ExistsAsync("alice@localhost"));
        Assert.Equal(NodeReadiness.Ready, node.App.Web.Services.GetRequiredService<DataMonitor>().State);
        Assert.Null(node.App.Web.Services.GetRequiredService<DataMonitor>().Reason);
        await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");
        await ClusterNodes.UntilAsync(async () => (await _cluster.StatusOfAsync("a")).GetProperty("state").GetString() == "up", "a is up");
    }

    [Fact]
    public async Task A_node_started_while_the_bus_is_down_waits_with_the_reason_and_serves_once_the_bus_is_back()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await _cluster.Nats.StopAsync();
        var logs = new LogCapture();
        var c2sPort = 0;

        var starting = Task.Run(() => _cluster.StartNodeAsync("b", options => c2sPort = options.Network.C2sPort, logs));

        await logs.WaitForAsync($"Not accepting clients yet: the cluster bus at {_cluster.Nats.Url} cannot be reached: ");
        await ClusterNodes.UntilAsync(async () => (await _cluster.StatusOfAsync("b")).GetProperty("reason").GetString()?.StartsWith(
            $"the cluster bus at {_cluster.Nats.Url} cannot be reached: ", StringComparison.Ordinal) == true, "cluster status shows why b waits");
        Assert.Equal("waiting", (await _cluster.StatusOfAsync("b")).GetProperty("state").GetString());
        // The text form says the same, on b's line: its state and, last, the reason.
        var text = await _cluster.ParleyAsync("cluster", "status");
        var line = Assert.Single(text.Output.Split('\n'), l => l.StartsWith("b\t", StringComparison.Ordinal)).Split('\t');
        Assert.Equal("waiting", line[1]);
        Assert.StartsWith($"the cluster bus at {_cluster.Nats.Url} cannot be reached: ", line[^1], StringComparison.Ordinal);
        await AssertRefusedAsync(c2sPort);
        Assert.False(starting.IsCompleted);

        await _cluster.Nats.StartAgainAsync();

        await using var b = await starting.WaitAsync(XmppTestClient.Deadline);
        await logs.WaitForAsync("Ready: accepting clients");
        // It serves an account homed on it (a new account may be homed on a, which would send its client there).
        await b.CreateUserAsync("carol", "carol-password");
        await _cluster.AssignAsync([a, b], ("carol@localhost", "b"));
        await using var carol = await XmppTestClient.LoginAsync(b, "carol", "carol-password");
        await carol.SendAsync("<iq to='localhost' type='get' id='still'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", (await carol.ReceiveAsync(e => e.GetAttribute("id") == "still")).GetAttribute("type"));
        await ClusterNodes.UntilAsync(async () => (await _cluster.StatusOfAsync("b")).GetProperty("state").GetString() == "up", "b is up");
        Assert.Equal(JsonNull, (await _cluster.StatusOfAsync("b")).GetProperty("reason").ValueKind);
    }

    private const System.Text.Json.JsonValueKind JsonNull = System.Text.Json.JsonValueKind.Null;

    /// <summary>A client that connects to the waiting node is refused, as by a node that is not running.</summary>
    private static async Task AssertRefusedAsync(int port)
    {
        using var tcp = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => tcp.ConnectAsync(IPAddress.Loopback, port));
    }
}
