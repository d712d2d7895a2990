using Microsoft.Extensions.Logging;
using Parley.Cluster.Relay;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Sessions;

namespace Parley.Cluster.Membership;

/// <summary>
/// A client signed in on a node that does not serve its account is sent to the live node that does (RFC 6120
/// &lt;see-other-host/&gt;), so that all of a user's sessions are on one node; with Cluster:Redirect off it is served
/// here through that node instead (<see cref="SessionRelay"/>). An account homed on a node that is down is served here.
/// A client that keeps coming back instead of going is answered later each time (<see cref="SendAwayPacing"/>).
/// </summary>
public sealed partial class ClusterPlacement(ParleyOptions options, ClusterView view, SessionRelay relay, SendAwayPacing pacing, ILogger<ClusterPlacement> logger)
    : ISessionPlacement
{
    public string? OtherHostFor(Jid account) => options.Cluster.Redirect ? view.ServedElsewhere(account)?.Address : null;

    public ISessionRelay? RelayFor(Jid account) => !options.Cluster.Redirect && view.ServedElsewhere(account) is not null ? relay : null;

    public async ValueTask BeforeSendingAwayAsync(Jid account, CancellationToken cancellationToken)
    {
        var delay = pacing.Record(account);
        if (delay > TimeSpan.Zero)
        {
            LogPaced(logger, account.Bare.ToString(), SendAwayPacing.FreeSendAways, (int)delay.TotalMilliseconds);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Account} was sent to its node more than {Free} times within a minute and keeps coming back; it is answered after {DelayMilliseconds} ms")]
    private static partial void LogPaced(ILogger logger, string account, int free, int delayMilliseconds);
}
