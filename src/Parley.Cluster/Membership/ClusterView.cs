using System.Collections.Concurrent;
using System.Collections.Frozen;
using Parley.Protocol;

namespace Parley.Cluster.Membership;

/// <summary>
/// A node of the cluster as this node last read it: whether it is up (its lease is live, its listeners are open and it
/// is not failed over by hand), where clients reach it, its redundancy group, and whether it takes its users back from
/// its group peer yet (its fallback delay has passed since it started, or fallback was asked for by hand).
/// </summary>
public sealed record ClusterNodeState(string Name, string Address, bool Up, string? Group, bool FailedOver, bool FallbackDue);

/// <summary>
/// What this node knows of the cluster, read from the database at every heartbeat (<see cref="ClusterMembership"/>):
/// each node's state and address, and each account's home node. Routing asks it on every stanza, so it answers from
/// memory; a change made elsewhere is seen here within one heartbeat.
/// </summary>
public sealed class ClusterView(string self)
{
    private volatile FrozenDictionary<string, ClusterNodeState> _nodes = FrozenDictionary<string, ClusterNodeState>.Empty;
    private readonly ConcurrentDictionary<string, string> _homes = new(StringComparer.Ordinal);

    /// <summary>This node's name.</summary>
    public string Self { get; } = self;

    /// <summary>The highest assignment revision read so far.</summary>
    public long Revision { get; private set; }

    /// <summary>The node an account is homed on, or null when it has none (created before the cluster, and no node that takes users has started since).</summary>
    public string? HomeOf(Jid account) => _homes.TryGetValue(account.Bare.ToString(), out var node) ? node : null;

    public ClusterNodeState? Node(string name) => _nodes.GetValueOrDefault(name);

    /// <summary>Every node as last read, up or not.</summary>
    public ReadOnlySpan<ClusterNodeState> Nodes => _nodes.Values.AsSpan();

    /// <summary>
    /// The live node other than this one that serves <paramref name="account"/>, or null when this node serves it.
    /// An account is served by its home node while that is up and its fallback delay has passed; until then, or while it
    /// is down or failed over by hand, by the live peer of its redundancy group (failover); with neither, or without a
    /// home, by whichever node has it in hand, from the shared database.
    /// </summary>
    public ClusterNodeState? ServedElsewhere(Jid account)
    {
        if (HomeOf(account) is not { } home || Node(home) is not { } node)
        {
            return null;
        }
        var peer = node.Up && node.FallbackDue ? null : PeerOf(node);
        if (home == Self && !node.FailedOver && (node.FallbackDue || peer is null))
        {
            // A node serves its own users even before the others see it up, unless its peer keeps them until the fallback delay has passed.
            return null;
        }
        var serving = node.Up && node.FallbackDue ? node : peer;
        return serving is not null && serving.Name != Self ? serving : null;
    }

    /// <summary>The other node of this node's redundancy group, up or not; null when this node has no group or is alone in it.</summary>
    public ClusterNodeState? GroupPeer()
    {
        if (Node(Self) is not { Group: { } group })
        {
            return null;
        }
        foreach (var other in _nodes.Values)
        {
            if (other.Group == group && other.Name != Self)
            {
                return other;
            }
        }
        return null;
    }

    private ClusterNodeState? PeerOf(ClusterNodeState node)
    {
        if (node.Group is null)
        {
            return null;
        }
        foreach (var other in _nodes.Values)
        {
            if (other.Up && other.Group == node.Group && other.Name != node.Name)
            {
                return other;
            }
        }
        return null;
    }

    /// <summary>When this node last renewed its lease (<see cref="Environment.TickCount64"/>); 0 before it joined.</summary>
    public long LastRenewed { get; internal set; }

    internal void SetNodes(IEnumerable<ClusterNodeState> nodes) =>
        _nodes = nodes.ToFrozenDictionary(node => node.Name, StringComparer.Ordinal);

    internal void SetHome(string account, string node, long revision)
    {
        _homes[account] = node;
        Revision = Math.Max(Revision, revision);
    }

    internal void ForgetHomesExcept(IReadOnlySet<string> accounts)
    {
        foreach (var account in _homes.Keys)
        {
            if (!accounts.Contains(account))
            {
                _homes.TryRemove(account, out _);
            }
        }
    }
}
