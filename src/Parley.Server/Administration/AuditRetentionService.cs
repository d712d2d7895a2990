using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// Enforces Parley:Audit:RetentionDays: at start and then every hour, deletes audit records older than that. Does
/// nothing when retention is 0 (keep forever).
/// </summary>
public sealed class AuditRetentionService(ParleyOptions options, IParleyStorage storage, TimeProvider time, ILogger<AuditRetentionService> logger)
    : RetentionService(() => options.Audit.RetentionDays, "audit records", time, logger)
{
    protected override Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        storage.Audit.DeleteOlderThanAsync(cutoff, cancellationToken);
}
