using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Parley.Admin.Forms;
using Parley.Admin.SignIn;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Admin;

/// <summary>
/// The web administration console at /admin (Razor Pages), served on the node's HTTP and HTTPS listeners. The CLI's
/// <c>serve</c> hands <see cref="AddToNode"/> to the host, so the node itself knows nothing of the console.
/// </summary>
public sealed class AdminConsole : IHttpEndpoints
{
    public const string Path = "/admin";

    /// <summary>The cookie scheme of the console's sign-in; named, so it is nobody else's default.</summary>
    public const string Scheme = "ParleyConsole";

    /// <summary>The policy every page but the sign-in page requires: a signed-in account that is an administrator now.</summary>
    public const string AdministratorsOnly = "ParleyAdministrators";

    /// <summary>Where the build puts the console's style sheet, script and chart library: admin/ beside the node's assemblies.</summary>
    private static readonly string FilesDirectory = System.IO.Path.Combine(AppContext.BaseDirectory, "admin");

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public static void AddToNode(IServiceCollection services)
    {
        services.AddSingleton<IHttpEndpoints, AdminConsole>();
        services.AddSingleton<ConsoleSignIn>();
        services.AddSingleton<IAuthorizationHandler, AdministratorHandler>();

        // Every node of a cluster must read the others' cookies and form tokens, so the keys live with the node's data.
        services.AddDataProtection()
            .SetApplicationName("Parley")
            .PersistKeysToFileSystem(new DirectoryInfo(System.IO.Path.Combine(DataDir(services), "data-protection-keys")));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "parley-admin-form";
            o.Cookie.Path = Path;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = "parley-admin";
            o.Cookie.Path = Path;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.SlidingExpiration = true;
            o.LoginPath = Path + "/sign-in";
            o.LogoutPath = Path + "/sign-out";
            o.Events.OnRedirectToLogin = context => AnswerUnauthenticated(context);
            o.Events.OnRedirectToAccessDenied = context => AnswerForbidden(context.HttpContext);
        });
        services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure<ParleyOptions>((o, options) =>
            o.ExpireTimeSpan = TimeSpan.FromSeconds(options.Web.ConsoleSessionTimeoutSeconds));
        services.AddAuthorizationBuilder().AddPolicy(AdministratorsOnly, policy => policy
            .AddAuthenticationSchemes(Scheme)
            .RequireAuthenticatedUser()
            .AddRequirements(new AdministratorRequirement()));
        services.AddRazorPages(o =>
        {
            o.Conventions.AuthorizeFolder("/", AdministratorsOnly);
            o.Conventions.AllowAnonymousToPage("/SignIn");
            o.Conventions.ConfigureFilter(new FormSizeLimit());
            o.Conventions.ConfigureFilter(new ExpiredFormMessage());
        }).AddApplicationPart(typeof(AdminConsole).Assembly);
    }

    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapRazorPages();
        var files = new PhysicalFileProvider(Directory.Exists(FilesDirectory) ? FilesDirectory : AppContext.BaseDirectory);
        endpoints.MapGet(Path + "/assets/{**file}", (string file) => Serve(files, file)).AllowAnonymous();
    }

    private static IResult Serve(PhysicalFileProvider files, string file)
    {
        var info = files.GetFileInfo(file);
        if (!info.Exists || info.IsDirectory || info.PhysicalPath is null)
        {
            return Results.NotFound();
        }
        var contentType = ContentTypes.TryGetContentType(info.Name, out var type) ? type : "application/octet-stream";
        return Results.File(info.PhysicalPath, contentType, lastModified: info.LastModified);
    }

    /// <summary>
    /// A page goes to the sign-in form, which says that the session ended when the browser still sent its cookie (an
    /// expired one: the administrator did not sign out); the dashboard's script, polling, gets 401 and shows that the
    /// session ended.
    /// </summary>
    private static Task AnswerUnauthenticated(Microsoft.AspNetCore.Authentication.RedirectContext<CookieAuthenticationOptions> context)
    {
        if (context.Request.Headers.Accept.ToString().Contains("application/json", StringComparison.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        }
        context.Response.Redirect(context.Request.Cookies.ContainsKey(context.Options.Cookie.Name!)
            ? QueryHelpers.AddQueryString(context.RedirectUri, "ended", "true")
            : context.RedirectUri);
        return Task.CompletedTask;
    }

    private static Task AnswerForbidden(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not an administrator</title></head><body>"
            + "<h1>403 — not an administrator</h1><p>This account may not use the administration console. "
            + $"<a href=\"{Path}/sign-in\">Sign in as another account</a>.</p></body></html>");
    }

    /// <summary>The node's data directory, from the options the host registered before the console.</summary>
    private static string DataDir(IServiceCollection services) =>
        services.Where(d => d.ServiceType == typeof(ParleyOptions)).Select(d => d.ImplementationInstance).OfType<ParleyOptions>().Single().DataDir;
}
