using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Server.Api;

/// <summary>An account and the node that becomes its home.</summary>
public sealed class ClusterAssignment
{
    public required string Jid { get; init; }
    public required string Node { get; init; }
}

public sealed record ClusterBalance(int Moved);

/// <summary>A presence redundancy group to create, as <c>parley cluster group create NAME --nodes A[,B] --mode MODE</c>.</summary>
public sealed class ClusterGroupCreation
{
    public required string Name { get; init; }
    /// <summary>One node, or two; in active-standby mode the first takes users and the second waits.</summary>
    public required IReadOnlyList<string> Nodes { get; init; }
    /// <summary>balanced or active-standby.</summary>
    public required string Mode { get; init; }
}

/// <summary>/api/v1/cluster: the cluster's nodes and groups, and what <c>parley cluster</c> changes (group create too), through <see cref="ClusterAdministration"/>.</summary>
internal static class ClusterApi
{
    private const string NotClustered = "This node is not part of a cluster (it runs without Parley:Cluster:Bus).";

    public static void Map(RouteGroupBuilder api)
    {
        var cluster = api.MapGroup("/cluster").WithTags("Cluster");
        cluster.MapGet("/", StatusAsync)
            .WithSummary("Every node's state, lease age, group, mode, users assigned and served, sessions and the reason it is not up; the groups. 404 when the node is not clustered.")
            .Produces<ClusterOverview>().ProducesProblem(StatusCodes.Status404NotFound);
        cluster.MapPost("/balance", BalanceAsync)
            .WithSummary("Spread the accounts evenly over the nodes that take users; says how many moved.")
            .Produces<ClusterBalance>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        cluster.MapPost("/assignments", AssignAsync)
            .WithSummary("Make a node the home of an account.")
            .Accepts<ClusterAssignment>("application/json")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        cluster.MapPost("/groups", CreateGroupAsync)
            .WithSummary("Create a presence redundancy group of one or two nodes that are in no group yet (balanced: both take users; active-standby: the first does, the second waits).")
            .Accepts<ClusterGroupCreation>("application/json")
            .Produces<ClusterGroupInfo>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        cluster.MapPost("/nodes/{node}/failover", (string node, HttpContext context, ClusterAdministration administration) => FailOverAsync(node, true, context, administration))
            .WithSummary("Let a node's group peer serve its users while the node keeps running (maintenance).")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        cluster.MapPost("/nodes/{node}/fallback", (string node, HttpContext context, ClusterAdministration administration) => FailOverAsync(node, false, context, administration))
            .WithSummary("Let a node serve its own users again after a failover by hand.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> StatusAsync(ClusterAdministration administration, CancellationToken cancellationToken) =>
        await administration.StatusAsync(cancellationToken) is { } status ? TypedResults.Ok(status) : ApiProblems.NotFound(NotClustered);

    private static async Task<IResult> BalanceAsync(HttpContext context, ClusterAdministration administration)
    {
        if (!administration.Clustered)
        {
            return ApiProblems.NotFound(NotClustered);
        }
        var (result, moved) = await administration.By(ApiCaller.Actor(context)).BalanceAsync(context.RequestAborted);
        return result.Outcome == AdministrationOutcome.Done ? TypedResults.Ok(new ClusterBalance(moved)) : ApiProblems.From(result, "The cluster");
    }

    private static async Task<IResult> AssignAsync(HttpContext context, ClusterAdministration administration)
    {
        if (!administration.Clustered)
        {
            return ApiProblems.NotFound(NotClustered);
        }
        var (body, problem) = await ApiProblems.ReadAsync<ClusterAssignment>(context);
        if (problem is not null)
        {
            return problem;
        }
        if (!Jid.TryParse(body!.Jid, out var account) || account.Local is null || !account.IsBare)
        {
            return ApiProblems.BadRequest($"'{body.Jid}' is not an account JID: write it as user@domain, without a resource.");
        }
        var result = await administration.By(ApiCaller.Actor(context)).AssignAsync(account, body.Node, context.RequestAborted);
        return result.Outcome == AdministrationOutcome.Done ? TypedResults.NoContent() : ApiProblems.From(result, $"The account {account}");
    }

    private static async Task<IResult> CreateGroupAsync(HttpContext context, ClusterAdministration administration)
    {
        if (!administration.Clustered)
        {
            return ApiProblems.NotFound(NotClustered);
        }
        var (body, problem) = await ApiProblems.ReadAsync<ClusterGroupCreation>(context);
        if (problem is not null)
        {
            return problem;
        }
        if (body!.Nodes is null)
        {
            return ApiProblems.BadRequest("'nodes' is null: give one node or two, as [\"a\", \"b\"].");
        }
        var result = await administration.By(ApiCaller.Actor(context)).CreateGroupAsync(body.Name, body.Nodes, body.Mode, context.RequestAborted);
        return result.Outcome == AdministrationOutcome.Done
            ? TypedResults.Created(RestApi.Prefix + "/cluster", new ClusterGroupInfo(body.Name, body.Mode, body.Nodes))
            : ApiProblems.From(result, $"The group {body.Name}");
    }

    private static async Task<IResult> FailOverAsync(string node, bool failedOver, HttpContext context, ClusterAdministration administration)
    {
        if (!administration.Clustered)
        {
            return ApiProblems.NotFound(NotClustered);
        }
        var result = await administration.By(ApiCaller.Actor(context)).SetFailedOverAsync(node, failedOver, context.RequestAborted);
        return result.Outcome == AdministrationOutcome.Done ? TypedResults.NoContent() : ApiProblems.From(result, $"The node {node}");
    }
}
