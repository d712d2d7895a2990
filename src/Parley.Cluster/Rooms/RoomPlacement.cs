using System.Collections.Frozen;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Modules.Muc;

namespace Parley.Cluster.Rooms;

/// <summary>
/// Which node of the cluster runs a chat room: rendezvous (highest random weight) hashing of the room's bare JID over
/// the nodes that are up in <see cref="ClusterView"/>. Every node reads the same nodes from the database at every
/// heartbeat and computes the same answer, so the nodes agree within one heartbeat without asking each other or the
/// database; when a node goes down only its rooms move, and when one comes up only the rooms that hash to it.
/// </summary>
public sealed class RoomPlacement(ClusterView view, ParleyOptions options)
{
    private readonly FrozenSet<string> _services = options.IsEnabled("Muc")
        ? options.EffectiveDomains.Select(domain => $"{options.Module<MucOptions>().Subdomain}.{domain}").ToFrozenSet(StringComparer.Ordinal)
        : FrozenSet<string>.Empty;

    /// <summary>True for the address of a room (or an occupant) of a chat service of the served domains.</summary>
    public bool IsRoom(Jid address) => address.Local is not null && _services.Contains(address.Domain);

    /// <summary>
    /// The live node other than this one that runs <paramref name="room"/>, or null when this node runs it (also when
    /// no node is up in this node's view yet: then the room is served where it is asked for).
    /// </summary>
    public ClusterNodeState? HostedElsewhere(Jid room)
    {
        var host = HostOf(room.Bare.ToString(), view.Nodes);
        return host is not null && host.Name != view.Self ? host : null;
    }

    /// <summary>The up node with the highest weight for <paramref name="room"/> (a bare room JID), or null when none is up.</summary>
    public static ClusterNodeState? HostOf(string room, ReadOnlySpan<ClusterNodeState> nodes)
    {
        ClusterNodeState? host = null;
        var highest = 0UL;
        foreach (var node in nodes)
        {
            if (!node.Up)
            {
                continue;
            }
            var weight = Weight(node.Name, room);
            // Ties (practically never) go to the lower name, so every node breaks them alike.
            if (host is null || weight > highest || (weight == highest && string.CompareOrdinal(node.Name, host.Name) < 0))
            {
                host = node;
                highest = weight;
            }
        }
        return host;
    }

    /// <summary>
    /// A weight that is the same in every process (string.GetHashCode is randomized per process): 64-bit FNV-1a over
    /// both names, then MurmurHash3's finalizer to spread FNV's weak low bits.
    /// </summary>
    public static ulong Weight(string node, string room)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in node)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        // A separator, so that node "ab" + room "c" and node "a" + room "bc" weigh differently.
        hash = (hash ^ 0xFFFF) * 1099511628211UL;
        foreach (var c in room)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        hash ^= hash >> 33;
        hash *= 0xFF51AFD7ED558CCDUL;
        hash ^= hash >> 33;
        hash *= 0xC4CEB9FE1A85EC53UL;
        hash ^= hash >> 33;
        return hash;
    }
}
