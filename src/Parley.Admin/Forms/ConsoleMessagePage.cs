using System.Net;
using Microsoft.AspNetCore.Mvc;

namespace Parley.Admin.Forms;

/// <summary>A short page that says why a request was refused and what to do, for answers given before any page runs.</summary>
internal static class ConsoleMessagePage
{
    public static ContentResult Create(int status, string title, string message) => new()
    {
        StatusCode = status,
        ContentType = "text/html; charset=utf-8",
        Content = $"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title></head><body>"
            + $"<h1>{WebUtility.HtmlEncode(title)}</h1><p class=\"problem\">{WebUtility.HtmlEncode(message)}</p>"
            + $"<p><a href=\"{AdminConsole.Path}\">Back to the console</a></p></body></html>",
    };
}
