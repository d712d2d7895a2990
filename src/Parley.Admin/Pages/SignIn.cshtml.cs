using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Parley.Admin.SignIn;
using Parley.Server.Administration;
using Parley.Server.Web;

namespace Parley.Admin.Pages;

/// <summary>The sign-in form, under the login banner; the only page open without signing in.</summary>
public sealed class SignInModel(ConsoleSignIn signIn, LoginBanner banner) : ConsolePage
{
    public string? Banner { get; private set; }

    public string Name { get; private set; } = "";

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>Set when the console sent the browser here because its session had ended.</summary>
    [BindProperty(SupportsGet = true)]
    public bool Ended { get; set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        if (Ended)
        {
            var timeout = Options.Web.ConsoleSessionTimeoutSeconds;
            Problem = $"Your session ended: the console signs you out after {(timeout % 60 == 0 ? $"{timeout / 60} minutes" : $"{timeout} seconds")} "
                + "without a request. Sign in again; a form sent after the session ended was not done.";
        }
        Banner = await banner.GetAsync(cancellationToken);
    }

    public async Task<IActionResult> OnPostAsync(string? name, string? password, CancellationToken cancellationToken)
    {
        Name = name ?? "";
        var result = await signIn.CheckAsync(Name, password ?? "", WebRequests.RemoteAddress(HttpContext, Options.Web),
            WebRequests.IsSecure(HttpContext, Options.Web), cancellationToken);
        if (result.Account is not { } account)
        {
            Problem = result.Problem;
            Banner = await banner.GetAsync(cancellationToken);
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, account.ToString())], AdminConsole.Scheme);
        await HttpContext.SignInAsync(AdminConsole.Scheme, new ClaimsPrincipal(identity));
        return LocalRedirect(ReturnUrl is { } url && Url.IsLocalUrl(url) && url.StartsWith(AdminConsole.Path, StringComparison.Ordinal) ? url : AdminConsole.Path);
    }
}
