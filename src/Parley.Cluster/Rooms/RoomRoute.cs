using Parley.Cluster.Bus;
using Parley.Protocol;
using Parley.Server.Routing;
using Parley.Xml;

namespace Parley.Cluster.Rooms;

/// <summary>
/// The router's way to chat rooms that run on another node (<see cref="RoomPlacement"/>): stanzas to the room and its
/// occupant JIDs cross the bus to that node's subject, where they arrive at its chat service. What the room sends its
/// occupants comes back through <see cref="BusRoute"/> to the node that serves each of them.
/// </summary>
public sealed class RoomRoute(RoomPlacement placement, ClusterBus bus) : IRemoteRoute
{
    public bool Serves(Jid to) => placement.IsRoom(to) && placement.HostedElsewhere(to) is not null;

    public ValueTask SendAsync(Element stanza, Jid from, Jid to) =>
        // The room may have moved here since the router asked.
        placement.HostedElsewhere(to) is { } node ? bus.SendAsync(node.Name, stanza, from, to) : bus.RouteHereAsync(stanza, from, to);
}
