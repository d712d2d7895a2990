using System.Security.Claims;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Server.Web;

namespace Parley.Admin.Pages;

/// <summary>
/// What every console page shares: the node's options, the application services acting as the signed-in
/// administrator (so each change is audited with who and from where), and one line saying what a form did.
/// </summary>
public abstract class ConsolePage : PageModel
{
    protected ParleyOptions Options => HttpContext.RequestServices.GetRequiredService<ParleyOptions>();

    /// <summary>The signed-in administrator and the client's address, as the audit trail records them.</summary>
    protected AdminActor Administrator => new(User.FindFirstValue(ClaimTypes.Name) ?? "unknown", WebRequests.RemoteAddress(HttpContext, Options.Web));

    protected AdministrationServices Administration => HttpContext.RequestServices.GetRequiredService<AdministrationServices>().By(Administrator);

    /// <summary>What the last form did, shown above the page's content.</summary>
    public string? Notice { get; protected set; }

    /// <summary>Why the last form was not done, shown above the page's content.</summary>
    public string? Problem { get; protected set; }

    /// <summary>Sets <see cref="Notice"/> or <see cref="Problem"/> from a service's result.</summary>
    protected void Report(AdministrationResult result, string done, string notFound, string alreadyExists = "It exists already.")
    {
        switch (result.Outcome)
        {
            case AdministrationOutcome.Done:
                Notice = done;
                break;
            case AdministrationOutcome.NotFound:
                Problem = notFound;
                break;
            case AdministrationOutcome.AlreadyExists:
                Problem = alreadyExists;
                break;
            default:
                Problem = result.Problem;
                break;
        }
    }
}
