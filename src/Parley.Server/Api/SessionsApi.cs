using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Server.Api;

/// <summary>/api/v1/sessions: the sessions this node serves, and ending one (a kick), through <see cref="SessionAdministration"/>.</summary>
internal static class SessionsApi
{
    public static void Map(RouteGroupBuilder api)
    {
        var sessions = api.MapGroup("/sessions").WithTags("Sessions");
        sessions.MapGet("/", List)
            .WithSummary("The sessions this node serves, ordered by full JID; user gives one account's.")
            .Produces<IReadOnlyList<SessionInfo>>().ProducesProblem(StatusCodes.Status400BadRequest);
        // The full JID has a '/' before its resource: the route takes the rest of the path.
        sessions.MapDelete("/{**fullJid}", EndAsync)
            .WithSummary("End the session of a full JID (user@domain/resource) with <policy-violation/>.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static IResult List(SessionAdministration sessions, string? user)
    {
        if (user is null)
        {
            return TypedResults.Ok(sessions.List());
        }
        return Jid.TryParse(user, out var account) && account.Local is not null
            ? TypedResults.Ok(sessions.List(account))
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
            : ApiProblems.NotFound($"No session {jid} is served here.");
    }
}
