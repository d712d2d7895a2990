using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Modules.Mam;

/// <summary>
/// Enforces Parley:Archive:RetentionDays: at start and then every hour, deletes archived messages (of users and
/// rooms) older than that. Does nothing when retention is 0 (keep forever).
/// </summary>
public sealed class ArchiveRetentionService(ArchiveOptions options, IParleyStorage storage, TimeProvider time, ILogger<ArchiveRetentionService> logger)
    : RetentionService(options.RetentionDays, "archived messages", time, logger)
{
    protected override Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        storage.Archive.DeleteOlderThanAsync(cutoff, cancellationToken);
}
