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

    /// <summary>One bus message per node that serves some of the recipients.</summary>
    public async ValueTask SendEachAsync(IReadOnlyList<(Element Stanza, Jid To)> stanzas, Jid from)
    {
        var byNode = new Dictionary<string, List<(Element Stanza, Jid To)>>(StringComparer.Ordinal);
        foreach (var (stanza, to) in stanzas)
        {
            if (view.ServedElsewhere(to) is not { } node)
            {
                await bus.RouteHereAsync(stanza, from, to).ConfigureAwait(false);
                continue;
            }
            if (!byNode.TryGetValue(node.Name, out var batch))
            {
                byNode[node.Name] = batch = [];
            }
            batch.Add((stanza, to));
        }
        foreach (var (node, batch) in byNode)
        {
            await bus.SendEachAsync(node, batch, from).ConfigureAwait(false);
        }
    }
}
