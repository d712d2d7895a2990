using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using Parley.Cluster.Resumption;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// The copy of each session's stream management state on the redundancy-group peer: made when the peer appears, kept
/// while the session lasts, dropped when it ends; what is not a batch of changes is dropped. (What a client gets from
/// it when its node is killed is shown with real processes in Parley.Interop.Tests' ClusterInteropTests.)
/// </summary>
public sealed class SessionReplicationTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();
    private readonly List<TestNode> _nodes = [];
    private TestNode _a = null!;
    private TestNode _b = null!;

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes))
        {
            await node.DisposeAsync();
        }
        await _cluster.DisposeAsync();
    }

    /// <summary>Nodes a and b, alice homed on a.</summary>
    private async Task StartNodesAsync()
    {
        _nodes.Add(_a = await _cluster.StartNodeAsync("a"));
        _nodes.Add(_b = await _cluster.StartNodeAsync("b"));
        await _a.CreateUserAsync("alice", "alice-password");
        await _cluster.AssignAsync(_nodes, ("alice@localhost", "a"));
    }

    private static PeerReplicas Copies(TestNode node) => node.App.Web.Services.GetRequiredService<PeerReplicas>();

    private async Task<XmppTestClient> ManagedAsync()
    {
        var alice = await XmppTestClient.LoginAsync(_a, "alice", "alice-password", "desk");
        await alice.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        var enabled = await alice.ReceiveAsync(e => e.Name == "enabled");
        Assert.Equal($"127.0.0.1:{_a.C2sPort}", enabled.GetAttribute("location"));
        return alice;
    }

    private async Task GroupAsync()
    {
        var group = await _cluster.ParleyAsync("cluster", "group", "create", "g1", "--nodes", "a,b", "--mode", "balanced");
        Assert.True(group.ExitCode == 0, group.Error);
    }

    [Fact]
    public async Task A_session_is_copied_once_the_node_has_a_group_peer_and_the_copy_goes_when_the_session_ends()
    {
        await StartNodesAsync();
        await using (var alice = await ManagedAsync())
        {
            // Without a group peer there is nowhere to copy to: the session is copied in full once there is one.
            Assert.Equal(0, Copies(_b).Count);
            await GroupAsync();
            await Eventually.TrueAsync(() => Copies(_b).Count == 1);
            // The peer may hold the copy a moment before this node logs that it sent it.
            await Eventually.TrueAsync(() => _a.Logs.Lines.Any(line => line.Contains("Stream management state of 1 sessions copied to the group peer b", StringComparison.Ordinal)));

            await alice.SendAsync("</stream:stream>");
            Assert.True(await alice.IsClosedAsync());
        }

        await Eventually.TrueAsync(() => Copies(_b).Count == 0);
    }

    [Fact]
    public async Task What_is_not_a_batch_of_changes_on_a_replica_subject_is_dropped_and_copying_goes_on()
    {
        await StartNodesAsync();
        await GroupAsync();
        await using (var stranger = new NatsConnection(NatsOpts.Default with { Url = _cluster.Nats.Url }))
        {
            await stranger.ConnectAsync();
            var headers = new NatsHeaders { [SessionReplicator.OriginHeader] = "a", [SessionReplicator.InstanceHeader] = "mallory" };
            await stranger.RequestAsync<byte[], byte[]>(SessionReplicator.SubjectOf("b"), "<batch><open id='x'"u8.ToArray(), headers);
            await stranger.RequestAsync<byte[], byte[]>(SessionReplicator.SubjectOf("b"), "<batch/>"u8.ToArray());
        }

        await using var alice = await ManagedAsync();

        await Eventually.TrueAsync(() => Copies(_b).Count == 1);
        Assert.Equal(2, _b.Logs.Lines.Count(line => line.Contains("A message on parley.replica.b is not a batch of stream management changes; dropped", StringComparison.Ordinal)));
    }
}
