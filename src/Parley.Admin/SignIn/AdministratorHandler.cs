using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Admin.SignIn;

/// <summary>The signed-in account must be an administrator.</summary>
public sealed class AdministratorRequirement : IAuthorizationRequirement;

/// <summary>
/// Asks <see cref="AdminRoles"/> on every request, so an account whose role is revoked loses the console at once, and
/// an account that signed in with a right password but is no administrator gets 403 on every page.
/// </summary>
public sealed class AdministratorHandler(AdminRoles admins) : AuthorizationHandler<AdministratorRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, AdministratorRequirement requirement)
    {
        if (context.User.FindFirstValue(ClaimTypes.Name) is { } name && Jid.TryParse(name, out var account)
            && await admins.IsAdminAsync(account).ConfigureAwait(false))
        {
            context.Succeed(requirement);
        }
    }
}
