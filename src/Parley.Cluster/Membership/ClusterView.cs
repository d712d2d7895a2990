using System.Collections.Concurrent;
using System.Collections.Frozen;
using Parley.Protocol;

namespace Parley.Cluster.Membership;

/// <summary>A node of the cluster as this node last read it: whether its lease is live, and where clients reach it.</summary>
public sealed record ClusterNodeState(string Name, string Address, bool Up);

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

    /// <summary>The node an account is homed on, or null when it has none (created before the cluster, or a directory user).</summary>
    public string? HomeOf(Jid account) => _homes.TryGetValue(account.Bare.ToString(), out var node) ? node : null;

    public ClusterNodeState? Node(string name) => _nodes.GetValueOrDefault(name);

    /// <summary>
    /// The live node other than this one that serves <paramref name="account"/>, or null when this node serves it: it
    /// is homed here, it has no home, or its home is down (then this node serves it from the shared database).
    /// </summary>
    public ClusterNodeState? ServedElsewhere(Jid account) =>
        HomeOf(account) is { } home && home != Self && Node(home) is { Up: true } node ? node : null;

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
