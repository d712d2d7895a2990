using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Server.Streams;

namespace Parley.Server.Web;

/// <summary>
/// XMPP over WebSocket (RFC 7395) at /xmpp-websocket: a browser's (or a native client's) client stream, negotiated and
/// served by the same <see cref="ClientStream"/> as a TCP connection.
/// </summary>
public sealed class WebSocketEndpoint(ParleyNode node, ConnectionLimiter limiter) : IHttpEndpoints
{
    public const string SubProtocol = "xmpp";

    public void Map(IEndpointRouteBuilder endpoints) => endpoints.Map(WebRequests.WebSocketPath, AcceptAsync);

    private async Task AcceptAsync(HttpContext context)
    {
        var options = node.Options.Web;
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            await context.Response.WriteAsync("This is the XMPP over WebSocket endpoint (RFC 7395): connect with a WebSocket and the subprotocol 'xmpp'.\n").ConfigureAwait(false);
            return;
        }
        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(SubProtocol, StringComparer.Ordinal))
        {
            // RFC 7395 §3.1: no XMPP without the subprotocol; Prosody answers the same way.
            context.Response.StatusCode = StatusCodes.Status501NotImplemented;
            await context.Response.WriteAsync("The WebSocket subprotocol 'xmpp' is required (RFC 7395 §3.1).\n").ConfigureAwait(false);
            return;
        }
        if (!WebRequests.OriginAllowed(context, options))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync("Pages of this origin may not open XMPP sessions here (Parley:Web:AllowedOrigins).\n").ConfigureAwait(false);
            return;
        }
        var remote = WebRequests.RemoteAddress(context, options);
        var address = IPAddress.TryParse(remote, out var parsed) ? parsed : IPAddress.None;
        if (!limiter.TryEnter(address))
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return;
        }
        try
        {
            var ping = TimeSpan.FromSeconds(options.WebSocketPingSeconds);
            var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                SubProtocol = SubProtocol,
                KeepAliveInterval = ping,
                KeepAliveTimeout = ping == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : ping,
            }).ConfigureAwait(false);
            var transport = new WebSocketStreamTransport(socket, context.Connection.Id + ":" + context.TraceIdentifier, remote,
                WebRequests.IsSecure(context, options), context.Request.IsHttps, context.RequestAborted, context.Abort, node.XmlLimits, pinged: ping > TimeSpan.Zero);
            await new ClientStream(transport, node).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            limiter.Leave(address);
        }
    }
}
