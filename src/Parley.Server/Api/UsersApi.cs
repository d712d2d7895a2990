using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Storage;

namespace Parley.Server.Api;

/// <summary>A new account: its bare JID and first password.</summary>
public sealed class UserCreation
{
    public required string Jid { get; init; }
    public required string Password { get; init; }
}

/// <summary>What to change of an account; fields left out stay as they are.</summary>
public sealed class UserChange
{
    public string? Password { get; init; }
    public bool? Disabled { get; init; }

    /// <summary>The name administrators know the account by, which searches find; "" clears it.</summary>
    public string? DisplayName { get; init; }
}

public sealed record UserSummary(string Jid, string? DisplayName, DateTimeOffset CreatedAt, bool Disabled);

public sealed record UserPage(int Total, int Offset, int Limit, IReadOnlyList<UserSummary> Users);

public sealed record UserDetail(string Jid, string? DisplayName, bool Disabled, bool Admin, IReadOnlyList<SessionInfo> Sessions);

/// <summary>/api/v1/users: accounts, through <see cref="AccountService"/>.</summary>
internal static class UsersApi
{
    public const int MaxPage = 500;

    public static void Map(RouteGroupBuilder api)
    {
        var users = api.MapGroup("/users").WithTags("Users");
        users.MapGet("/", ListAsync)
            .WithSummary("List accounts, ordered by JID; q finds those whose JID or display name contains it (any case, as plain text).")
            .Produces<UserPage>();
        users.MapPost("/", CreateAsync)
            .WithSummary("Create an account.")
            .Accepts<UserCreation>("application/json")
            .Produces<UserDetail>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        users.MapGet("/{jid}", GetAsync)
            .WithSummary("An account, whether it is disabled or an admin, and its sessions on every node.")
            .Produces<UserDetail>().ProducesProblem(StatusCodes.Status404NotFound);
        users.MapPatch("/{jid}", ChangeAsync)
            .WithSummary("Change an account's password or display name, or disable or enable it.")
            .Accepts<UserChange>("application/json")
            .Produces<UserDetail>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        users.MapDelete("/{jid}", RemoveAsync)
            .WithSummary("Remove an account and its data; its sessions end.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ListAsync(IParleyStorage storage, string? q, int? offset, int? limit, CancellationToken cancellationToken)
    {
        var from = offset ?? 0;
        var count = limit ?? 100;
        if (from < 0 || count is < 1 or > MaxPage)
        {
            return ApiProblems.BadRequest($"offset is 0 or more and limit 1 to {MaxPage}.");
        }
        var (total, page) = string.IsNullOrEmpty(q)
            ? (await storage.Accounts.CountAsync(null, cancellationToken), await storage.Accounts.ListAsync(null, from, count, cancellationToken))
            : (await storage.Accounts.CountFoundAsync(q, cancellationToken), await storage.Accounts.SearchAsync(q, from, count, cancellationToken));
        return TypedResults.Ok(new UserPage(total, from, count, [.. page.Select(Summary)]));
    }

    private static async Task<IResult> CreateAsync(HttpContext context, AccountService accounts, AdminRoles admins, SessionAdministration sessions)
    {
        var (body, problem) = await ApiProblems.ReadAsync<UserCreation>(context);
        if (problem is not null)
        {
            return problem;
        }
        if (!Jid.TryParse(body!.Jid, out var jid))
        {
            return ApiProblems.BadRequest($"'{body.Jid}' is not a valid JID.");
        }
        var result = await accounts.By(ApiCaller.Actor(context)).CreateAsync(jid, body.Password, context.RequestAborted);
        if (result.Outcome != AdministrationOutcome.Done)
        {
            return ApiProblems.From(result, $"The account {jid}");
        }
        return TypedResults.Created($"/api/v1/users/{Uri.EscapeDataString(jid.ToString())}",
            new UserDetail(jid.ToString(), null, false, await admins.IsAdminAsync(jid, context.RequestAborted), await sessions.ListAsync(jid, context.RequestAborted)));
    }

    private static async Task<IResult> GetAsync(string jid, IParleyStorage storage, AdminRoles admins, SessionAdministration sessions, CancellationToken cancellationToken)
    {
        if (ParseAccount(jid, out var account) is { } problem)
        {
            return problem;
        }
        return await DetailAsync(account, storage, admins, sessions, cancellationToken) is { } detail
            ? TypedResults.Ok(detail)
            : ApiProblems.NotFound($"There is no account {account}.");
    }

    private static async Task<IResult> ChangeAsync(string jid, HttpContext context, IParleyStorage storage, AccountService accounts, AdminRoles admins, SessionAdministration sessions)
    {
        if (ParseAccount(jid, out var account) is { } badJid)
        {
            return badJid;
        }
        var (body, problem) = await ApiProblems.ReadAsync<UserChange>(context);
        if (problem is not null)
        {
            return problem;
        }
        if (body!.Password is null && body.Disabled is null && body.DisplayName is null)
        {
            return ApiProblems.BadRequest("Nothing to change: give password, displayName or disabled.");
        }
        if (!await storage.Accounts.ExistsAsync(account.ToString(), context.RequestAborted))
        {
            return ApiProblems.NotFound($"There is no account {account}.");
        }
        var service = accounts.By(ApiCaller.Actor(context));
        // The password and the name are checked before anything changes, so a refused request changes nothing.
        if (body.Password is { } password && service.PasswordProblem(password) is { } weak)
        {
            return ApiProblems.BadRequest(weak);
        }
        if (body.DisplayName is { Length: > 0 } name && AccountInfo.DisplayNameProblem(name.Trim()) is { } badName)
        {
            return ApiProblems.BadRequest(badName);
        }
        if (body.DisplayName is not null && await service.SetDisplayNameAsync(account, body.DisplayName, context.RequestAborted) is { Outcome: not AdministrationOutcome.Done } named)
        {
            return ApiProblems.From(named, $"The account {account}");
        }
        if (body.Password is not null && await service.ChangePasswordAsync(account, body.Password, context.RequestAborted) is { Outcome: not AdministrationOutcome.Done } changed)
        {
            return ApiProblems.From(changed, $"The account {account}");
        }
        if (body.Disabled is { } disabled && await service.SetDisabledAsync(account, disabled, context.RequestAborted) is { Outcome: not AdministrationOutcome.Done } switched)
        {
            return ApiProblems.From(switched, $"The account {account}");
        }
        return await DetailAsync(account, storage, admins, sessions, context.RequestAborted) is { } detail
            ? TypedResults.Ok(detail)
            : ApiProblems.NotFound($"There is no account {account}.");
    }

    private static async Task<IResult> RemoveAsync(string jid, HttpContext context, AccountService accounts)
    {
        if (ParseAccount(jid, out var account) is { } problem)
        {
            return problem;
        }
        return await accounts.By(ApiCaller.Actor(context)).RemoveAsync(account, cancellationToken: context.RequestAborted)
            ? TypedResults.NoContent()
            : ApiProblems.NotFound($"There is no account {account}.");
    }

    private static async Task<UserDetail?> DetailAsync(Jid account, IParleyStorage storage, AdminRoles admins, SessionAdministration sessions, CancellationToken cancellationToken) =>
        await storage.Accounts.GetAsync(account.ToString(), cancellationToken) is { } info
            ? new UserDetail(account.ToString(), info.DisplayName, info.Disabled, await admins.IsAdminAsync(account, cancellationToken), await sessions.ListAsync(account, cancellationToken))
            : null;

    private static IResult? ParseAccount(string text, out Jid account)
    {
        if (Jid.TryParse(text, out var parsed) && parsed.Local is not null && parsed.IsBare)
        {
            account = parsed;
            return null;
        }
        account = null!;
        return ApiProblems.BadRequest($"'{text}' is not an account JID: write it as user@domain, without a resource.");
    }

    private static UserSummary Summary(AccountInfo account) => new(account.Jid, account.DisplayName, account.CreatedAt, account.Disabled);
}
