using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Server.Modules.Ldap;

namespace Parley.Server.Hosting;

/// <summary>Whether a node accepts clients yet.</summary>
public enum NodeReadiness
{
    /// <summary>Its listeners are not open: what it serves from is not ready (<see cref="DataMonitor.Reason"/> says what).</summary>
    Waiting,

    /// <summary>Its listeners are open.</summary>
    Ready,
}

/// <summary>
/// The node's data monitor (Cisco's "IM and Presence Data Monitor"): a node accepts clients only once what it serves
/// from is ready. Storage reachable and migrated is waited for before the node is built (<see cref="ParleyHost"/>), the
/// cluster bus where it connects, and the first directory sync here, for at most Parley:Directory:StartupSyncTimeoutSeconds.
/// As the last hosted service to start it keeps the listeners closed until then: a client that connects meanwhile is
/// refused as by a node that is not running, and tries the next address it knows. While it waits the node says why: in
/// its log (a warning, again every <see cref="AlarmInterval"/> or when the reason changes) and, in a cluster, in
/// <c>parley cluster status</c> (the membership stores <see cref="Reason"/> with the node's lease).
/// </summary>
public sealed partial class DataMonitor(ILogger<DataMonitor> logger, TimeProvider time, DirectorySyncService? directory = null) : IHostedService
{
    /// <summary>How often a node that still waits for the same reason says so again.</summary>
    public static readonly TimeSpan AlarmInterval = TimeSpan.FromSeconds(30);

    // How often the reason is read again while the first directory sync has not completed.
    private static readonly TimeSpan DirectoryPoll = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private string? _alarmed;
    private long _alarmedAt;

    public NodeReadiness State { get; private set; } = NodeReadiness.Waiting;

    /// <summary>Why the node does not accept clients yet; null once it does.</summary>
    public string? Reason { get; private set; } = "starting: its listeners are not open yet";

    /// <summary>The node waits for <paramref name="reason"/>: logged at once when it is new, else every <see cref="AlarmInterval"/>.</summary>
    public void Waiting(string reason)
    {
        lock (_gate)
        {
            Reason = reason;
            var now = time.GetTimestamp();
            if (reason == _alarmed && time.GetElapsedTime(_alarmedAt, now) < AlarmInterval)
            {
                return;
            }
            _alarmed = reason;
            _alarmedAt = now;
        }
        LogWaiting(logger, reason);
    }

    /// <summary>Waits for the first directory sync (when a directory is configured), then lets the listeners open.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (directory is { IsConfigured: true } && directory.StartupSyncTimeout > TimeSpan.Zero)
        {
            await WaitForFirstSyncAsync(directory, cancellationToken).ConfigureAwait(false);
        }
        lock (_gate)
        {
            State = NodeReadiness.Ready;
            Reason = null;
        }
        if (_alarmed is not null)
        {
            LogProceeding(logger);
        }
    }

    private async Task WaitForFirstSyncAsync(DirectorySyncService directory, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (!directory.FirstCompletedSync.IsCompleted)
        {
            if (time.GetElapsedTime(started) >= directory.StartupSyncTimeout)
            {
                LogNoFirstSync(logger, (int)directory.StartupSyncTimeout.TotalSeconds, directory.LastSync?.Summary.Failure ?? "it has not ended");
                return;
            }
            Waiting(directory.LastSync?.Summary.Failure is { } failure
                ? $"the first directory sync has not completed: {failure}"
                : "the first directory sync is running");
            await Task.WhenAny(directory.FirstCompletedSync, Task.Delay(DirectoryPoll, time, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not accepting clients yet: {Reason}")]
    private static partial void LogWaiting(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready: accepting clients")]
    private static partial void LogProceeding(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Accepting clients without a completed directory sync: none completed within Parley:Directory:StartupSyncTimeoutSeconds ({Seconds} s; the last: {Failure}); the sync goes on trying")]
    private static partial void LogNoFirstSync(ILogger logger, int seconds, string failure);
}
