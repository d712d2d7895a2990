using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Routing;
using Parley.Xml;

namespace Parley.Cluster.Bus;

/// <summary>The router's way to users of the served domains whose home is another live node: over the bus to that node.</summary>
public sealed class BusRoute(ClusterView view, ClusterBus bus) : IRemoteRoute
{
    public bool Serves(Jid to) => to.Local is not null && view.ServedElsewhere(to) is not null;

    // The home may have changed since the router asked; then the stanza is this node's.
    public ValueTask SendAsync(Element stanza, Jid from, Jid to) =>
        view.ServedElsewhere(to) is { } node ? bus.SendAsync(node.Name, stanza, from, to) : bus.RouteHereAsync(stanza, from, to);
}
