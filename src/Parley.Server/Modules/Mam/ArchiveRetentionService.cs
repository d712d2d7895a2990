using Microsoft.Extensions.Logging;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Modules.Mam;

/// <summary>
/// Enforces the archive's retention (Parley:Archive:RetentionDays, or the runtime setting archive-retention-days): at
/// start and then every hour, deletes archived messages (of users and rooms) older than that. Does nothing while
/// retention is 0 (keep forever).
/// </summary>
public sealed class ArchiveRetentionService(RuntimeSettings settings, IParleyStorage storage, TimeProvider time, ILogger<ArchiveRetentionService> logger)
    : RetentionService(() => settings.Current.ArchiveRetentionDays, "archived messages", time, logger)
{
    protected override Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        storage.Archive.DeleteOlderThanAsync(cutoff, cancellationToken);
}
