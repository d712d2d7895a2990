using Parley.Protocol;
using Parley.Server.Sessions;

namespace Parley.Cluster.Membership;

/// <summary>
/// A client signed in on a node that does not serve its account is sent to the live node that does (RFC 6120
/// &lt;see-other-host/&gt;), so that all of a user's sessions are on one node; an account homed on a node that is
/// down is served here.
/// </summary>
public sealed class ClusterPlacement(ClusterView view) : ISessionPlacement
{
    public string? OtherHostFor(Jid account) => view.ServedElsewhere(account)?.Address;
}
