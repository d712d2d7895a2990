using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Routing;

/// <summary>
/// A way off this node for addresses it does not serve itself: another server's domain
/// (server-to-server, later), or a user homed on another node of the cluster (the bus, later).
/// The router asks the routes in turn and the first that serves the address takes the stanza;
/// whatever comes back (answers to probes, IQ results, messages) re-enters through
/// <see cref="Router.RouteAsync"/> like any stanza from outside.
/// </summary>
public interface IRemoteRoute
{
    /// <summary>True when this route carries stanzas to <paramref name="to"/>.</summary>
    bool Serves(Jid to);

    /// <summary>Sends the stanza on its way. It must not be changed afterwards: it may be shared.</summary>
    ValueTask SendAsync(Element stanza, Jid from, Jid to);

    /// <summary>
    /// Sends stanzas from one sender to several recipients (a presence broadcast, probes), each as
    /// <see cref="SendAsync"/> would. A route that can carry them together, to each destination at once, does so.
    /// </summary>
    async ValueTask SendEachAsync(IReadOnlyList<(Element Stanza, Jid To)> stanzas, Jid from)
    {
        foreach (var (stanza, to) in stanzas)
        {
            await SendAsync(stanza, from, to).ConfigureAwait(false);
        }
    }
}
