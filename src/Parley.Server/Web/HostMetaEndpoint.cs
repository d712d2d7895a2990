using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Xml;

namespace Parley.Server.Web;

/// <summary>
/// XEP-0156 discovery: /.well-known/host-meta (XRD) and /.well-known/host-meta.json list the node's web connection
/// endpoints, at the public URLs the operator set (behind a proxy) or else at the address the request came to.
/// </summary>
public sealed class HostMetaEndpoint(ParleyOptions options) : IHttpEndpoints
{
    public const string WebSocketRel = "urn:xmpp:alt-connections:websocket";
    public const string BoshRel = "urn:xmpp:alt-connections:xbosh";

    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/.well-known/host-meta", (HttpContext context) =>
        {
            AllowAnyOrigin(context);
            var xrd = new StringBuilder("<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n");
            foreach (var (rel, href) in Links(context))
            {
                xrd.Append($"  <Link rel='{rel}' href='{XmlEscaping.EscapeAttributeValue(href)}'/>\n");
            }
            return Results.Text(xrd.Append("</XRD>\n").ToString(), "application/xrd+xml; charset=utf-8");
        });
        routes.MapGet("/.well-known/host-meta.json", (HttpContext context) =>
        {
            AllowAnyOrigin(context);
            var links = Links(context).Select(link => new Dictionary<string, string> { ["rel"] = link.Rel, ["href"] = link.Href });
            return Results.Text(JsonSerializer.Serialize(new Dictionary<string, object> { ["links"] = links }), "application/json; charset=utf-8");
        });
    }

    /// <summary>Discovery is public: any page may read it (XEP-0156 §3.2 expects CORS).</summary>
    private static void AllowAnyOrigin(HttpContext context) => context.Response.Headers.AccessControlAllowOrigin = "*";

    private IEnumerable<(string Rel, string Href)> Links(HttpContext context)
    {
        yield return (WebSocketRel, WebRequests.WebSocketUrl(context, options.Web));
        yield return (BoshRel, WebRequests.BoshUrl(context, options.Web));
    }
}
