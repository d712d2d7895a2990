using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Sessions;

namespace Parley.Cluster.Membership;

/// <summary>
/// With Parley:Cluster:Redirect on, a client signed in on a node that does not serve its account is sent to the live
/// node that does (RFC 6120 &lt;see-other-host/&gt;); an account homed on a node that is down is served here.
/// </summary>
public sealed class ClusterPlacement(ParleyOptions options, ClusterView view) : ISessionPlacement
{
    public string? OtherHostFor(Jid account) => options.Cluster.Redirect ? view.ServedElsewhere(account)?.Address : null;
}
