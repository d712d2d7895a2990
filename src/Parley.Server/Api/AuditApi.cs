using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Storage;

namespace Parley.Server.Api;

/// <summary>/api/v1/audit: the audit trail of administrative changes, read-only.</summary>
internal static class AuditApi
{
    public const int MaxRecords = 1000;

    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/audit", ListAsync).WithTags("Audit")
            .WithSummary("Audit records oldest first: since a time (ISO 8601), by one actor, at most max (100 unless given, up to 1000).")
            .Produces<IReadOnlyList<AuditRecord>>().ProducesProblem(StatusCodes.Status400BadRequest);

    private static async Task<IResult> ListAsync(IParleyStorage storage, DateTimeOffset? since, string? actor, int? max, CancellationToken cancellationToken)
    {
        if (max is < 1 or > MaxRecords)
        {
            return ApiProblems.BadRequest($"max is 1 to {MaxRecords}.");
        }
        return TypedResults.Ok(await storage.Audit.ListAsync(since, string.IsNullOrEmpty(actor) ? null : actor, max ?? 100, cancellationToken));
    }
}
