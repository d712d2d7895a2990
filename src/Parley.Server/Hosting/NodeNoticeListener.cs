using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Server.ModuleContract;
using Parley.Storage;

namespace Parley.Server.Hosting;

/// <summary>
/// Hears what the <c>parley</c> CLI changed in the database while the node runs: every
/// Parley:Storage:NoticePollMilliseconds it reads the notices published since the last one it saw and hands each
/// to the handlers modules registered for its kind (<see cref="ModuleRegistry.OnNodeNotice"/>). A store that announces
/// notices (<see cref="INodeNoticeAnnouncer"/>, PostgreSQL's LISTEN/NOTIFY) wakes it at once instead, the poll then
/// only a safety net. Notices older than the node's start are history, not news. Once an hour it deletes notices
/// older than a day.
/// </summary>
public sealed partial class NodeNoticeListener(ParleyOptions options, IParleyStorage storage, ModuleRegistry modules, TimeProvider time, ILogger<NodeNoticeListener> logger)
    : BackgroundService
{
    private const int BatchSize = 100;
    private static readonly TimeSpan KeepNotices = TimeSpan.FromDays(1);
    private static readonly TimeSpan CleanupInterval = TimeSpan.FromHours(1);

    private readonly TimeSpan _pollInterval = TimeSpan.FromMilliseconds(options.Storage.NoticePollMilliseconds);
    private long _lastSeenId;
    private DateTimeOffset _lastCleanup = DateTimeOffset.MinValue;

    /// <summary>Takes the latest id before the node serves anyone, so that every later CLI change is heard.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _lastSeenId = await storage.Notices.LatestIdAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Hands every notice published since the last one seen to its handlers; returns how many notices there were.</summary>
    public async Task<int> HandleNewNoticesAsync(CancellationToken cancellationToken = default)
    {
        var handled = 0;
        while (true)
        {
            var notices = await storage.Notices.ReadAfterAsync(_lastSeenId, BatchSize, cancellationToken).ConfigureAwait(false);
            foreach (var notice in notices)
            {
                await HandleAsync(notice).ConfigureAwait(false);
                _lastSeenId = notice.Id;
                handled++;
            }
            if (notices.Count < BatchSize)
            {
                return handled;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (storage.Notices is INodeNoticeAnnouncer announcer)
        {
            await HearAnnouncedAsync(announcer, stoppingToken).ConfigureAwait(false);
            return;
        }
        using var timer = new PeriodicTimer(_pollInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await HandleNewNoticesSafelyAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads on every announcement, and at the poll interval anyway, in case an announcement was lost.</summary>
    private async Task HearAnnouncedAsync(INodeNoticeAnnouncer announcer, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await announcer.WaitForNoticeAsync(_pollInterval, stoppingToken).ConfigureAwait(false);
            await HandleNewNoticesSafelyAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task HandleNewNoticesSafelyAsync(CancellationToken stoppingToken)
    {
        try
        {
            await HandleNewNoticesAsync(stoppingToken).ConfigureAwait(false);
            await DeleteOldNoticesAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A busy or briefly unreachable database: the next poll starts again after the last notice handled.
            LogPollFailed(logger, e);
        }
    }

    private async Task HandleAsync(NodeNotice notice)
    {
        if (modules.NodeNotice(notice.Kind) is not { } handlers)
        {
            // Published by a newer CLI, or for a module this node does not run.
            LogUnknownKind(logger, notice.Kind, notice.Id);
            return;
        }
        // One module's failure does not keep the others, or later notices, from being handled.
        await handlers.RaiseAsync(notice.Subject).ConfigureAwait(false);
    }

    private async Task DeleteOldNoticesAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - _lastCleanup < CleanupInterval)
        {
            return;
        }
        _lastCleanup = now;
        await storage.Notices.DeleteOlderThanAsync(now - KeepNotices, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored a node notice of unknown kind {Kind} (id {Id})")]
    private static partial void LogUnknownKind(ILogger logger, string kind, long id);


    [LoggerMessage(Level = LogLevel.Error, Message = "Reading the node notices failed; the next poll tries again")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
