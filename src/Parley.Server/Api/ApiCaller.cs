using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Administration;
using Parley.Storage;

namespace Parley.Server.Api;

/// <summary>
/// Who calls the REST API (or /metrics when it needs a token): the API token of the request's
/// <c>Authorization: Bearer</c> header, checked against the database at every request so that a revoked token is
/// refused at once.
/// </summary>
public static class ApiCaller
{
    /// <summary>
    /// Finds the request's token; with <paramref name="change"/>, it must also be allowed to change things.
    /// </summary>
    /// <returns>A 401 or 403 problem to answer with, or null when the request may go on (<see cref="Actor"/> then names the caller).</returns>
    public static async Task<IResult?> RefusalAsync(HttpContext context, bool change)
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        ApiToken? token = null;
        if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            token = await context.RequestServices.GetRequiredService<ApiTokens>().AuthenticateAsync(header[scheme.Length..].Trim(), context.RequestAborted);
        }
        if (token is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiProblems.Problem(StatusCodes.Status401Unauthorized, "Not authenticated",
                header.Length == 0
                    ? "Send an API token (parley admin token create NAME) as 'Authorization: Bearer TOKEN'."
                    : "The API token is not valid: unknown, revoked or mistyped.");
        }
        if (change && token.ReadOnly)
        {
            return ApiProblems.Problem(StatusCodes.Status403Forbidden, "Read-only token",
                $"The token '{token.Name}' may only read; create a read-write token to change anything.");
        }
        context.Items[typeof(ApiToken)] = token;
        return null;
    }

    /// <summary>The audit trail's actor for the authenticated request: the token's name and the client's IP address.</summary>
    public static AdminActor Actor(HttpContext context)
    {
        var token = (ApiToken)context.Items[typeof(ApiToken)]!;
        return new AdminActor(ApiTokens.ActorName(token), context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }
}

/// <summary>The token check on every route of the REST API: reading needs a token, changing a read-write one.</summary>
internal sealed class ApiTokenFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var method = context.HttpContext.Request.Method;
        var change = !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method);
        if (await ApiCaller.RefusalAsync(context.HttpContext, change) is { } refusal)
        {
            return refusal;
        }
        // Minimal APIs run the filters also when a query or route value could not be bound, with the status set to 400
        // and no body: the client gets a problem as for any other bad request.
        return context.HttpContext.Response.StatusCode == StatusCodes.Status400BadRequest
            ? ApiProblems.BadRequest("A query value is not of its type: a number, or a time such as 2026-01-31T08:00:00Z.")
            : await next(context);
    }
}
