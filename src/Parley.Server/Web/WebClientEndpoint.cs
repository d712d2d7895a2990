using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Server.Modules.Muc;

namespace Parley.Server.Web;

/// <summary>
/// The bundled web client at /chat: Converse.js (fetched by npm at build time into webclient/converse beside the node)
/// with a configuration that leaves the user only a name and a password to type. It connects over WebSocket, or over
/// BOSH alone at /chat?transport=bosh. Where the build had no npm, /chat says how to get it.
/// </summary>
public sealed class WebClientEndpoint(ParleyOptions options, string filesDirectory) : IHttpEndpoints
{
    public const string Path = "/chat";

    /// <summary>Where the build puts Converse.js: webclient/converse beside the node's assemblies.</summary>
    public static readonly string BuiltDirectory = System.IO.Path.Combine(AppContext.BaseDirectory, "webclient", "converse");

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public WebClientEndpoint(ParleyOptions options)
        : this(options, BuiltDirectory)
    {
    }

    public bool IsInstalled => File.Exists(System.IO.Path.Combine(filesDirectory, "converse.min.js"));

    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path, (HttpContext context) => IsInstalled
            ? Results.Content(Page(context), "text/html; charset=utf-8")
            : Results.Content(NotInstalledPage, "text/html; charset=utf-8", statusCode: StatusCodes.Status404NotFound));
        if (!IsInstalled)
        {
            return;
        }
        var files = new PhysicalFileProvider(filesDirectory);
        endpoints.MapGet(Path + "/dist/{**file}", (string file) => Serve(files, file));
        // Converse's OMEMO library fetches its WebAssembly relative to the page, and /chat resolves that to the root:
        // without this, OMEMO fails to start in every browser.
        endpoints.MapGet("/" + OmemoWasm, () => Serve(files, OmemoWasm));
    }

    private const string OmemoWasm = "curve25519_compiled.wasm";

    private static IResult Serve(PhysicalFileProvider files, string file)
    {
        var info = files.GetFileInfo(file);
        if (!info.Exists || info.IsDirectory || info.PhysicalPath is null)
        {
            return Results.NotFound();
        }
        var contentType = ContentTypes.TryGetContentType(info.Name, out var type) ? type : "application/octet-stream";
        return Results.File(info.PhysicalPath, contentType, lastModified: info.LastModified, enableRangeProcessing: true);
    }

    private string Page(HttpContext context)
    {
        var domain = options.EffectiveDomains[0];
        var settings = new Dictionary<string, object?>
        {
            ["assets_path"] = Path + "/dist/",
            // ?transport=bosh: for networks whose proxies break WebSockets (Converse uses WebSocket when it has both).
            ["websocket_url"] = UsesBoshOnly(context) ? null : WebRequests.WebSocketUrl(context, options.Web),
            ["bosh_service_url"] = WebRequests.BoshUrl(context, options.Web),
            ["discover_connection_methods"] = false,
            ["authentication"] = "login",
            ["auto_login"] = false,
            ["allow_registration"] = false,
            ["default_domain"] = domain,
            ["locked_domain"] = domain,
            ["muc_domain"] = options.IsEnabled("Muc") ? $"{options.Module<MucOptions>().Subdomain}.{domain}" : null,
            ["muc_nickname_from_jid"] = true,
            ["view_mode"] = "fullscreen",
            ["play_sounds"] = false,
            ["show_send_button"] = true,
            ["loglevel"] = "warn",
        };
        var json = JsonSerializer.Serialize(settings).Replace("</", "<\\/", StringComparison.Ordinal);
        return $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <title>{{WebUtility.HtmlEncode(domain)}} chat</title>
              <link rel="stylesheet" href="{{Path}}/dist/converse.min.css">
            </head>
            <body class="converse-fullscreen">
              <noscript>The chat needs JavaScript.</noscript>
              <script type="module">
                import bundled from "{{Path}}/dist/converse.min.js";
                // Converse's full-screen footer shows its sponsors' logos from conversejs.org: defined empty here first
                // (Converse skips elements that exist), so that the company's chat page calls no third party.
                customElements.define("converse-footer", class extends HTMLElement {});
                (window.converse ?? bundled).initialize({{json}});
              </script>
            </body>
            </html>
            """;
    }

    private static bool UsesBoshOnly(HttpContext context) =>
        string.Equals(context.Request.Query["transport"], "bosh", StringComparison.OrdinalIgnoreCase);

    private const string NotInstalledPage = """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>Web client not installed</title></head>
        <body>
          <h1>The web client is not installed</h1>
          <p>This node was built without npm, so the web client (Converse.js) was not fetched.
          Install npm (<code>sudo apt-get install npm</code>) and build Parley again
          (<code>dotnet build</code>, or <code>scripts/install.sh</code>): the build fetches the version pinned in
          <code>web/package-lock.json</code> and the node serves it here.</p>
          <p>XMPP over WebSocket is served at <code>/xmpp-websocket</code> meanwhile; any XMPP client works too.</p>
        </body>
        </html>
        """;
}
