using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Ldap;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Server.Modules.VCard;
using Parley.Storage;

namespace Parley.Server.Modules.Ldap;

/// <summary>
/// Runs the directory sync in the node: once at start-up, then every <see cref="DirectoryOptions.SyncIntervalMinutes"/>.
/// Until one sync has completed, a failed one is tried again soon (the starting node waits for it: <see cref="Hosting.DataMonitor"/>).
/// </summary>
public sealed partial class DirectorySyncService(
    LdapDirectory directory, DirectoryOptions options, ParleyOptions node, IParleyStorage storage, AdministrationServices administration, TimeProvider time, ILogger<DirectorySyncService> logger, IVCards? vCards = null)
    : BackgroundService
{
    private readonly DirectorySync _sync = new(directory, options, storage, administration, node.EffectiveDomains[0], time, vCards);
    private readonly SemaphoreSlim _oneAtATime = new(1);
    private readonly TaskCompletionSource<DirectorySyncSummary> _startup = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstCompleted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // A failed first sync is tried again after this, doubled each time up to FirstSyncRetryMaxDelay.
    private static readonly TimeSpan FirstSyncRetryFirstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FirstSyncRetryMaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>The domain of the directory people's accounts: the node's first.</summary>
    public string Domain { get; } = node.EffectiveDomains[0];

    /// <summary>The summary of the sync at start-up, once it has run.</summary>
    public Task<DirectorySyncSummary> StartupSync => _startup.Task;

    /// <summary>Completes when a sync has completed without failure for the first time since the node started.</summary>
    public Task FirstCompletedSync => _firstCompleted.Task;

    /// <summary>How long the starting node waits for <see cref="FirstCompletedSync"/> (Parley:Directory:StartupSyncTimeoutSeconds).</summary>
    public TimeSpan StartupSyncTimeout => TimeSpan.FromSeconds(options.StartupSyncTimeoutSeconds);

    /// <summary>When the last sync ended and what it did (or why it failed); null before the first, or with no directory.</summary>
    public (DateTimeOffset At, DirectorySyncSummary Summary)? LastSync { get; private set; }

    /// <summary>Whether a directory is configured, so that syncs run.</summary>
    public bool IsConfigured => options.IsConfigured;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.IsConfigured)
        {
            return;
        }
        if (options.Tls == "none")
        {
            LogPlainLdap(logger, string.Join(", ", options.Servers));
        }
        var interval = options.SyncIntervalMinutes > 0 ? TimeSpan.FromMinutes(options.SyncIntervalMinutes) : Timeout.InfiniteTimeSpan;
        var summary = await RunOnceAsync(stoppingToken).ConfigureAwait(false);
        _startup.TrySetResult(summary);
        var retry = FirstSyncRetryFirstDelay;
        while (summary.Failure is not null)
        {
            await Task.Delay(retry, time, stoppingToken).ConfigureAwait(false);
            summary = await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, FirstSyncRetryMaxDelay.Ticks));
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
            await RunOnceAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc cref="DirectorySync.ProvisionAsync"/>
    public Task ProvisionAsync(DirectoryUser person, CancellationToken cancellationToken) => _sync.ProvisionAsync(person, cancellationToken);

    /// <summary>One sync now (after the one running, if any): what the schedule runs.</summary>
    public async Task<DirectorySyncSummary> RunOnceAsync(CancellationToken cancellationToken)
    {
        DirectorySyncSummary summary;
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            summary = await _sync.RunAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            summary = new DirectorySyncSummary { Failure = e.Message };
        }
        finally
        {
            _oneAtATime.Release();
        }
        LastSync = (time.GetUtcNow(), summary);
        if (summary.Failure is not null)
        {
            LogSyncFailed(logger, summary.Failure);
        }
        else
        {
            LogSynced(logger, summary.ToString());
            _firstCompleted.TrySetResult();
        }
        return summary;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Parley:Directory:Tls is none: passwords go to the directory ({Servers}) unencrypted. Use it only for a directory on this host.")]
    private static partial void LogPlainLdap(ILogger logger, string servers);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Summary}")]
    private static partial void LogSynced(ILogger logger, string summary);

    [LoggerMessage(Level = LogLevel.Error, Message = "Directory sync failed, nothing was changed: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string reason);
}
