using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using Parley.Cluster.Resumption;
using Parley.Protocol;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;
using Parley.Storage;

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
    public async Task A_session_without_stream_management_is_copied_and_when_its_node_is_gone_the_peer_tells_its_contact_and_its_room()
    {
        await StartNodesAsync();
        await _a.CreateUserAsync("bob", "bob-password");
        await _cluster.AssignAsync(_nodes, ("bob@localhost", "b"));
        var rosters = _a.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("alice@localhost", new RosterItem("bob@localhost", null, Subscription.Both, false, false, []));
        await rosters.SetItemAsync("bob@localhost", new RosterItem("alice@localhost", null, Subscription.Both, false, false, []));
        await GroupAsync();
        const string room = "lobby@conference.localhost";
        await using var bob = await ClusterNodes.OnlineAsync(_b, "bob", "phone");
        await Muc.CreateAsync(bob, room, "bob");

        // No stream management: nothing to resume, but contacts and rooms must still learn that she went.
        await using var alice = await ClusterNodes.OnlineAsync(_a, "alice", "desk");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
        await alice.SendAsync($"<presence to='{room}/alice'><x xmlns='{Ns.Muc}'/></presence>");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/alice");
        await Eventually.TrueAsync(() => Copies(_b).CopiesOf("alice@localhost") is [{ Resumable: false, Presence: not null } copy]
            && copy.Kept.Values.Any(kept => kept.ToString().Contains(room, StringComparison.Ordinal)));

        // What node b hears when a crashed node a starts again: a new instance, so the old one's sessions are gone.
        await using (var restarted = new NatsConnection(NatsOpts.Default with { Url = _cluster.Nats.Url }))
        {
            await restarted.ConnectAsync();
            var headers = new NatsHeaders { [SessionReplicator.OriginHeader] = "a", [SessionReplicator.InstanceHeader] = "after-the-crash" };
            await restarted.RequestAsync<byte[], byte[]>(SessionReplicator.SubjectOf("b"), "<batch/>"u8.ToArray(), headers);
        }

        var gone = new HashSet<string>();
        await bob.ReceiveAsync(e =>
        {
            if (e.Name == "presence" && e.GetAttribute("type") == "unavailable")
            {
                gone.Add(e.GetAttribute("from")!);
            }
            return gone.IsSupersetOf(["alice@localhost/desk", $"{room}/alice"]);
        });
    }

    [Fact]
    public async Task The_copy_of_a_session_without_stream_management_follows_its_presence_and_goes_when_it_ends_or_enables_management()
    {
        await StartNodesAsync();
        await GroupAsync();
        await using (var alice = await ClusterNodes.OnlineAsync(_a, "alice", "desk"))
        {
            await Eventually.TrueAsync(() => Copies(_b).CopiesOf("alice@localhost") is [{ Resumable: false, Presence: not null }]);
            await alice.SendAsync("<presence type='unavailable'/>");
            await Eventually.TrueAsync(() => Copies(_b).CopiesOf("alice@localhost") is [{ Presence: null }]);
            await alice.SendAsync("</stream:stream>");
            Assert.True(await alice.IsClosedAsync());
        }
        await Eventually.TrueAsync(() => Copies(_b).CopiesOf("alice@localhost") is []);

        // Once it enables stream management, the session is copied with it, and only so.
        await using var managed = await ManagedAsync();
        await Eventually.TrueAsync(() => Copies(_b).CopiesOf("alice@localhost") is [{ Resumable: true }]);
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
