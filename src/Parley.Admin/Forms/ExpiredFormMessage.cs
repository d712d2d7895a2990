using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.Core.Infrastructure;

namespace Parley.Admin.Forms;

/// <summary>
/// A form whose anti-forgery token does not hold (the page was opened before the administrator signed in again, in
/// another session, or the form was not the console's) is refused with a page that says so instead of a bare 400.
/// </summary>
internal sealed class ExpiredFormMessage : IAlwaysRunResultFilter
{
    public const string Message = "This form is out of date (it was opened in an earlier session) or did not come from this console, so nothing was changed. "
        + "Open the page again and send the form from there.";

    public void OnResultExecuting(ResultExecutingContext context)
    {
        if (context.Result is IAntiforgeryValidationFailedResult)
        {
            context.Result = ConsoleMessagePage.Create(StatusCodes.Status400BadRequest, "Form out of date", Message);
        }
    }

    public void OnResultExecuted(ResultExecutedContext context)
    {
    }
}
