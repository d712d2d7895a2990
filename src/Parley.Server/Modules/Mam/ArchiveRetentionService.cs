using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Modules.Mam;

/// <summary>
/// Enforces Parley:Archive:RetentionDays: at start and then every hour, deletes archived messages (of users and
/// rooms) older than that. Does nothing when retention is 0 (keep forever).
/// </summary>
public sealed partial class ArchiveRetentionService(ArchiveOptions options, IParleyStorage storage, TimeProvider time, ILogger<ArchiveRetentionService> logger)
    : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    private readonly int _retentionDays = options.RetentionDays;

    /// <summary>Deletes what is older than the retention period as of <paramref name="now"/>; returns how many messages went.</summary>
    public async Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        if (_retentionDays <= 0)
        {
            return 0;
        }
        var deleted = await storage.Archive.DeleteOlderThanAsync(now.AddDays(-_retentionDays), cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            LogDeleted(logger, deleted, _retentionDays);
        }
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_retentionDays <= 0)
        {
            return;
        }
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await DeleteExpiredAsync(time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The next run tries again; the archive only grows a little meanwhile.
                LogFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Archive retention deleted {Count} messages older than {Days} days")]
    private static partial void LogDeleted(ILogger logger, int count, int days);

    [LoggerMessage(Level = LogLevel.Error, Message = "Archive retention failed; it runs again in an hour")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
