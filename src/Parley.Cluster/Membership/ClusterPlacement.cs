using Parley.Cluster.Relay;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Sessions;

namespace Parley.Cluster.Membership;

/// <summary>
/// A client signed in on a node that does not serve its account is sent to the live node that does (RFC 6120
/// &lt;see-other-host/&gt;), so that all of a user's sessions are on one node; with Cluster:Redirect off it is served
/// here through that node instead (<see cref="SessionRelay"/>). An account homed on a node that is down is served here.
/// </summary>
public sealed class ClusterPlacement(ParleyOptions options, ClusterView view, SessionRelay relay) : ISessionPlacement
{
    public string? OtherHostFor(Jid account) => options.Cluster.Redirect ? view.ServedElsewhere(account)?.Address : null;

    public ISessionRelay? RelayFor(Jid account) => !options.Cluster.Redirect && view.ServedElsewhere(account) is not null ? relay : null;
}
