using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Server.Api;

/// <summary>An account to give the admin role.</summary>
public sealed class AdminGrant
{
    public required string Jid { get; init; }
}

/// <summary>An administrator: granted the role in the database, or listed in Parley:Admins (configured).</summary>
public sealed record AdminInfo(string Jid, bool Configured);

/// <summary>/api/v1/admins: who holds the admin role, granted and revoked as <c>parley admin grant|revoke</c> do, through <see cref="AdminRoles"/>.</summary>
internal static class AdminsApi
{
    public static void Map(RouteGroupBuilder api)
    {
        var admins = api.MapGroup("/admins").WithTags("Administrators");
        admins.MapGet("/", ListAsync)
            .WithSummary("Every administrator, ordered by JID, and whether Parley:Admins lists it (else it was granted).")
            .Produces<IReadOnlyList<AdminInfo>>();
        admins.MapPost("/", GrantAsync)
            .WithSummary("Give an account of a served domain the admin role; it counts on every node at once.")
            .Accepts<AdminGrant>("application/json")
            .Produces<AdminInfo>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        admins.MapDelete("/{jid}", RevokeAsync)
            .WithSummary("Take the admin role away; an account listed in Parley:Admins keeps it (400 saying so).")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ListAsync(AdminRoles admins, CancellationToken cancellationToken) =>
        TypedResults.Ok((await admins.ListAsync(cancellationToken).ConfigureAwait(false)).Select(admin => new AdminInfo(admin.Jid, admin.Configured)).ToList());

    private static async Task<IResult> GrantAsync(HttpContext context, AdminRoles admins)
    {
        var (body, problem) = await ApiProblems.ReadAsync<AdminGrant>(context).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }
        if (!Jid.TryParse(body!.Jid, out var account))
        {
            return ApiProblems.BadRequest($"'{body.Jid}' is not a valid JID.");
        }
        var result = await admins.By(ApiCaller.Actor(context)).GrantAsync(account, context.RequestAborted).ConfigureAwait(false);
        return result.Outcome == AdministrationOutcome.Done
            ? TypedResults.Created($"{RestApi.Prefix}/admins/{Uri.EscapeDataString(account.ToString())}", new AdminInfo(account.ToString(), Configured: false))
            : ApiProblems.From(result, $"The admin role of {account}");
    }

    private static async Task<IResult> RevokeAsync(string jid, HttpContext context, AdminRoles admins)
    {
        if (!Jid.TryParse(jid, out var account))
        {
            return ApiProblems.BadRequest($"'{jid}' is not a valid JID.");
        }
        var result = await admins.By(ApiCaller.Actor(context)).RevokeAsync(account, context.RequestAborted).ConfigureAwait(false);
        return result.Outcome == AdministrationOutcome.Done ? TypedResults.NoContent() : ApiProblems.From(result, $"A granted admin role of {account}");
    }
}
