using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Hosting;

/// <summary>
/// Keeps what a store holds for a configured number of days: at start and then every hour, deletes what is older.
/// Does nothing while the retention is 0 (keep forever).
/// </summary>
/// <param name="retentionDays">The days now: asked at every run, so a runtime setting counts from the next hour.</param>
/// <param name="what">What is deleted, for the log: "archived messages", "audit records".</param>
public abstract partial class RetentionService(Func<int> retentionDays, string what, TimeProvider time, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>Deletes what is older than the retention period as of <paramref name="now"/>; returns how many went.</summary>
    public async Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var days = retentionDays();
        if (days <= 0)
        {
            return 0;
        }
        var deleted = await DeleteOlderThanAsync(now.AddDays(-days), cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            LogDeleted(logger, deleted, what, days);
        }
        return deleted;
    }

    /// <summary>Deletes what was stored before <paramref name="cutoff"/>; returns how many went.</summary>
    protected abstract Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await DeleteExpiredAsync(time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The next run tries again; the store only grows a little meanwhile.
                LogFailed(logger, e, what);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} {What} older than {Days} days")]
    private static partial void LogDeleted(ILogger logger, int count, string what, int days);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention of {What} failed; it runs again in an hour")]
    private static partial void LogFailed(ILogger logger, Exception exception, string what);
}
