using Parley.Protocol;

namespace Parley.Server.Sessions;

/// <summary>
/// Which node serves a signed-in account: this one, or (in a cluster) another one the client is sent to with
/// RFC 6120 &lt;see-other-host/&gt; before it binds a resource.
/// </summary>
public interface ISessionPlacement
{
    /// <summary>Null to serve the account here; else the address ("host:port") of the node that serves it.</summary>
    string? OtherHostFor(Jid account);

    /// <summary>For an account another node serves and whose clients are served here all the same: the way to that node; else null.</summary>
    ISessionRelay? RelayFor(Jid account) => null;

    /// <summary>
    /// Waits before a client is sent to another node: long for an account whose client keeps coming back to the wrong
    /// node, so that its loop costs the node nothing.
    /// </summary>
    ValueTask BeforeSendingAwayAsync(Jid account, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>A single node serves every account itself.</summary>
public sealed class ServedHere : ISessionPlacement
{
    public string? OtherHostFor(Jid account) => null;
}
