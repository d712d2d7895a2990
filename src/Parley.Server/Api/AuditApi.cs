using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Storage;

namespace Parley.Server.Api;

/// <summary>/api/v1/audit: the audit trail of administrative changes, read-only, newest first.</summary>
internal static class AuditApi
{
    public const int MaxRecords = 1000;

    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/audit", ListAsync).WithTags("Audit")
            .WithSummary("Audit records newest first: since a time (ISO 8601), by one actor (exactly), with an action containing a text (any case), "
                + "with an id below before (the next page: the last id of the page before), at most max (100 unless given, up to 1000).")
            .Produces<IReadOnlyList<AuditRecord>>().ProducesProblem(StatusCodes.Status400BadRequest);

    private static async Task<IResult> ListAsync(IParleyStorage storage, DateTimeOffset? since, string? actor, string? action, long? before, int? max,
        CancellationToken cancellationToken)
    {
        if (max is < 1 or > MaxRecords)
        {
            return ApiProblems.BadRequest($"max is 1 to {MaxRecords}.");
        }
        if (before is < 1)
        {
            return ApiProblems.BadRequest("before is an audit record's id, 1 or more.");
        }
        var search = new AuditSearch(since, string.IsNullOrEmpty(actor) ? null : actor, string.IsNullOrEmpty(action) ? null : action);
        return TypedResults.Ok(await storage.Audit.ListNewestFirstAsync(search, before, max ?? 100, cancellationToken).ConfigureAwait(false));
    }
}
