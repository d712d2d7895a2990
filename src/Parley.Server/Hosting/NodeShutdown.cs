using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Hosting;

/// <summary>
/// A stopping node (Ctrl-C, SIGTERM) tells every session &lt;system-shutdown/&gt; and ends it — stream
/// management sessions too, as they cannot be resumed here — so that what they held is stored, and
/// the listeners have no open connection to wait for. Runs before any service stops.
/// </summary>
public sealed partial class NodeShutdown(ParleyNode node, ILogger<NodeShutdown> logger) : IHostedLifecycleService
{
    /// <summary>Time for clients to close their streams after the stream error before they are dropped.</summary>
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(1);

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        node.BeginStopping();
        var connections = node.Connections.All.ToList();
        LogStopping(logger, connections.Count);
        foreach (var connection in connections)
        {
            connection.CloseForShutdown();
        }
        if (!await AllClosedAsync(CloseGrace, cancellationToken).ConfigureAwait(false))
        {
            foreach (var connection in node.Connections.All)
            {
                connection.Abort();
            }
            await AllClosedAsync(AbortGrace, cancellationToken).ConfigureAwait(false);
        }
        foreach (var session in node.Resumable.Expired(long.MaxValue))
        {
            var unacked = await node.SessionCloser.EndAsync(session).ConfigureAwait(false);
            LogHibernatedEnded(logger, session.Jid.ToString(), unacked);
        }
    }

    private async Task<bool> AllClosedAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)grace.TotalMilliseconds;
        while (node.Connections.Count > 0)
        {
            if (Environment.TickCount64 > deadline || cancellationToken.IsCancellationRequested)
            {
                return false;
            }
            await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
        }
        return true;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: telling {Count} client connections system-shutdown")]
    private static partial void LogStopping(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Jid}: hibernated session ended (it cannot be resumed after shutdown), {Unacked} unacknowledged messages delivered to another session or stored offline")]
    private static partial void LogHibernatedEnded(ILogger logger, string jid, int unacked);
}
