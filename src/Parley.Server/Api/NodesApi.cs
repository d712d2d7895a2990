using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Server.Administration;

namespace Parley.Server.Api;

/// <summary>/api/v1/nodes: every node's status and dashboard samples, as the console's Dashboard and System status show them.</summary>
internal static class NodesApi
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/nodes", ListAsync).WithTags("Nodes")
            .WithSummary("Every node of the cluster (this node alone when it is not clustered), this node first: its version, storage, bus, directory sync, "
                + "data monitor and certificates, and its dashboard samples taken after 'after' (Unix seconds; the last hour unless given). "
                + "A node that does not answer within a second is listed with answering false and the reason.")
            .Produces<IReadOnlyList<NodeReport>>().ProducesProblem(StatusCodes.Status400BadRequest);

    private static async Task<IResult> ListAsync(IClusterNodeReports reports, long? after, CancellationToken cancellationToken) =>
        after is < 0
            ? ApiProblems.BadRequest("after is a time in Unix seconds: 0 or more.")
            : TypedResults.Ok(await reports.ReportsAsync(after ?? 0, cancellationToken).ConfigureAwait(false));
}
