using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Server.Api;

/// <summary>/api/v1/sessions: the sessions of the cluster, and ending one (a kick), through <see cref="SessionAdministration"/>.</summary>
internal static class SessionsApi
{
    public static void Map(RouteGroupBuilder api)
    {
        var sessions = api.MapGroup("/sessions").WithTags("Sessions");
        sessions.MapGet("/", ListAsync)
            .WithSummary("The sessions every node of the cluster serves (this node's alone when it is not clustered), ordered by full JID; user gives one account's.")
            .Produces<IReadOnlyList<SessionInfo>>().ProducesProblem(StatusCodes.Status400BadRequest);
        // The full JID has a '/' before its resource: the route takes the rest of the path.
        sessions.MapDelete("/{**fullJid}", EndAsync)
            .WithSummary("End the session of a full JID (user@domain/resource) with <policy-violation/>, on whichever node serves it.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ListAsync(SessionAdministration sessions, string? user, CancellationToken cancellationToken)
    {
        if (user is null)
        {
            return TypedResults.Ok(await sessions.ListAsync(cancellationToken: cancellationToken).ConfigureAwait(false));
        }
        return Jid.TryParse(user, out var account) && account.Local is not null
            ? TypedResults.Ok(await sessions.ListAsync(account, cancellationToken).ConfigureAwait(false))
            : ApiProblems.BadRequest($"'{user}' is not an account JID such as alice@example.com.");
    }

    private static async Task<IResult> EndAsync(string fullJid, HttpContext context, SessionAdministration sessions)
    {
        var text = Uri.UnescapeDataString(fullJid);
        if (!Jid.TryParse(text, out var jid) || jid.Local is null || jid.IsBare)
        {
            return ApiProblems.BadRequest($"'{text}' is not a session's full JID such as alice@example.com/phone.");
        }
        return await sessions.By(ApiCaller.Actor(context)).EndAsync(jid, context.RequestAborted)
            ? TypedResults.NoContent()
            : ApiProblems.NotFound($"No node serves a session {jid}.");
    }
}
