using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Filters;

namespace Parley.Admin.Forms;

/// <summary>
/// The most a console request may send: every form is a few fields, so a larger body is refused (413) before anything
/// reads it — ahead of the anti-forgery check, which reads the form. A body without a declared length is cut by the
/// server at the same size.
/// </summary>
internal sealed class FormSizeLimit : IAuthorizationFilter, IOrderedFilter
{
    public const long MaxBodyBytes = 64 * 1024;

    // Before the anti-forgery filter (order 1000), which reads the form.
    public int Order => -1000;

    public void OnAuthorization(AuthorizationFilterContext context)
    {
        var request = context.HttpContext.Request;
        if (request.ContentLength > MaxBodyBytes)
        {
            context.Result = ConsoleMessagePage.Create(StatusCodes.Status413PayloadTooLarge, "Too large",
                $"The console takes forms of at most {MaxBodyBytes / 1024} KiB; this one had {request.ContentLength / 1024} KiB. Nothing was changed.");
            return;
        }
        if (context.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }
    }
}
