using System.Net;
using Microsoft.AspNetCore.Http;
using Parley.Server.Hosting;

namespace Parley.Server.Web;

/// <summary>
/// What the web endpoints need to know of a request: who sent it (behind a trusted proxy, the client it names),
/// whether it counts as secure, whether its page's origin may open a session, and the public URLs of the endpoints.
/// </summary>
public static class WebRequests
{
    public const string WebSocketPath = "/xmpp-websocket";
    public const string BoshPath = "/http-bind";

    /// <summary>The configuration's problems in Parley:Web.</summary>
    public static IEnumerable<string> Problems(WebOptions options)
    {
        foreach (var proxy in options.TrustedProxies)
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                yield return $"Parley:Web:TrustedProxies: '{proxy}' is not an IP address.";
            }
        }
        foreach (var origin in options.AllowedOrigins)
        {
            if (origin != "*" && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/"))
            {
                yield return $"Parley:Web:AllowedOrigins: '{origin}' is not an origin such as https://chat.example.com (or *).";
            }
        }
        if (options.PublicWebSocketUrl is { } ws && !(Uri.TryCreate(ws, UriKind.Absolute, out var wsUri) && wsUri.Scheme is "ws" or "wss"))
        {
            yield return $"Parley:Web:PublicWebSocketUrl: '{ws}' is not a ws:// or wss:// URL.";
        }
        if (options.PublicBoshUrl is { } bosh && !(Uri.TryCreate(bosh, UriKind.Absolute, out var boshUri) && boshUri.Scheme is "http" or "https"))
        {
            yield return $"Parley:Web:PublicBoshUrl: '{bosh}' is not an http:// or https:// URL.";
        }
        if (options.WebSocketPingSeconds < 0)
        {
            yield return "Parley:Web:WebSocketPingSeconds: must be 0 (no pings) or more.";
        }
        // BOSH clamps a client's wait between 1 and the maximum: below 1 every session would fail as it opened.
        if (options.BoshMaxWaitSeconds < 1)
        {
            yield return "Parley:Web:BoshMaxWaitSeconds: must be 1 or more.";
        }
        if (options.BoshInactivitySeconds < 1)
        {
            yield return "Parley:Web:BoshInactivitySeconds: must be 1 or more.";
        }
        if (options.BoshMaxSessionsPerIp < 1)
        {
            yield return "Parley:Web:BoshMaxSessionsPerIp: must be 1 or more.";
        }
        if (options.ConsoleSessionTimeoutSeconds < 1)
        {
            yield return "Parley:Web:ConsoleSessionTimeoutSeconds: must be 1 or more.";
        }
    }

    /// <summary>The request came through a proxy the operator trusts.</summary>
    private static bool FromTrustedProxy(HttpContext context, WebOptions options) =>
        context.Connection.RemoteIpAddress is { } remote && options.TrustedProxies.Any(proxy => IPAddress.TryParse(proxy, out var address) && Same(address, remote));

    private static bool Same(IPAddress a, IPAddress b) =>
        (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Equals(b.IsIPv4MappedToIPv6 ? b.MapToIPv4() : b);

    /// <summary>The client's address: the connection's, or the last one a trusted proxy added to X-Forwarded-For.</summary>
    public static string RemoteAddress(HttpContext context, WebOptions options)
    {
        if (FromTrustedProxy(context, options) && context.Request.Headers["X-Forwarded-For"].ToString() is { Length: > 0 } forwarded)
        {
            var last = forwarded[(forwarded.LastIndexOf(',') + 1)..].Trim();
            if (IPAddress.TryParse(last, out var client))
            {
                return client.ToString();
            }
        }
        return context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }

    /// <summary>
    /// HTTPS; or plain HTTP from loopback (a browser on this machine, or a local TLS-terminating proxy) unless that
    /// proxy says the client came over http; or from a trusted proxy that says X-Forwarded-Proto: https.
    /// </summary>
    public static bool IsSecure(HttpContext context, WebOptions options)
    {
        if (context.Request.IsHttps)
        {
            return true;
        }
        var proto = context.Request.Headers["X-Forwarded-Proto"].ToString();
        if (FromTrustedProxy(context, options) && string.Equals(proto, "https", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        return context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote)
            && (proto.Length == 0 || string.Equals(proto, "https", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>No Origin (a native client), the node's own pages, or a configured origin.</summary>
    public static bool OriginAllowed(HttpContext context, WebOptions options)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }
        if (options.AllowedOrigins.Any(allowed => allowed == "*" || string.Equals(allowed.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }
        // Same origin: the page came from the host the browser now asks (behind a proxy, the Host the proxy passes on).
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.IsDefaultPort ? uri.Host : uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The WebSocket URL a client of this request should use.</summary>
    public static string WebSocketUrl(HttpContext context, WebOptions options) =>
        options.PublicWebSocketUrl ?? $"{(IsHttpsForClient(context, options) ? "wss" : "ws")}://{context.Request.Host}{WebSocketPath}";

    /// <summary>The BOSH URL a client of this request should use.</summary>
    public static string BoshUrl(HttpContext context, WebOptions options) =>
        options.PublicBoshUrl ?? $"{(IsHttpsForClient(context, options) ? "https" : "http")}://{context.Request.Host}{BoshPath}";

    private static bool IsHttpsForClient(HttpContext context, WebOptions options) =>
        context.Request.IsHttps || (FromTrustedProxy(context, options) && string.Equals(context.Request.Headers["X-Forwarded-Proto"].ToString(), "https", StringComparison.OrdinalIgnoreCase));
}
