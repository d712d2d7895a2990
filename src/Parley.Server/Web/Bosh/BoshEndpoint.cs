using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Server.Streams;
using Parley.Xml;

namespace Parley.Server.Web.Bosh;

/// <summary>
/// XEP-0124 BOSH with XEP-0206 (XMPP over BOSH) at /http-bind: sessions, request ids and their cache, long polling,
/// restarts, pause and terminate; CORS for the origins a WebSocket accepts.
/// </summary>
public sealed partial class BoshEndpoint(ParleyNode node, BoshSessions sessions, ILogger<BoshEndpoint> logger) : IHttpEndpoints
{
    public const string HttpBind = "http://jabber.org/protocol/httpbind";
    public const string XBosh = "urn:xmpp:xbosh";
    private const int MaxPauseSeconds = 120;

    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(WebRequests.BoshPath, HandleAsync);
        endpoints.MapMethods(WebRequests.BoshPath, ["OPTIONS"], (HttpContext context) =>
        {
            AllowOrigin(context);
            return Results.NoContent();
        });
        endpoints.MapGet(WebRequests.BoshPath, () => Results.Text("This is the BOSH endpoint (XEP-0124, XEP-0206): POST <body/> elements to it.\n"));
    }

    /// <summary>CORS for pages the node accepts (its own, configured origins); others get no CORS headers and the browser stops them.</summary>
    private bool AllowOrigin(HttpContext context)
    {
        if (!WebRequests.OriginAllowed(context, node.Options.Web))
        {
            return false;
        }
        if (context.Request.Headers.Origin.ToString() is { Length: > 0 } origin)
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.AccessControlAllowMethods = "POST, GET, OPTIONS";
            headers.AccessControlAllowHeaders = "Content-Type";
            headers.AccessControlMaxAge = "86400";
            headers.Vary = "Origin";
        }
        return true;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (!AllowOrigin(context))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        var limit = node.Options.Limits.MaxStanzaBytes;
        var (text, complete) = await ReadBodyAsync(context.Request, limit).ConfigureAwait(false);
        if (!complete)
        {
            await RefuseAsync(context, text, "policy-violation", StatusCodes.Status413PayloadTooLarge).ConfigureAwait(false);
            return;
        }
        Element body;
        try
        {
            body = ElementParser.Parse(text, HttpBind, node.XmlLimits with { MaxStanzaBytes = limit });
        }
        catch (XmlStreamException)
        {
            await RefuseAsync(context, text, "bad-request", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }
        if (body.Name != "body" || body.Namespace != HttpBind || !long.TryParse(body.GetAttribute("rid"), NumberStyles.None, CultureInfo.InvariantCulture, out var rid))
        {
            await TerminateAsync(context, "bad-request", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }
        if (body.GetAttribute("sid") is not { } sid)
        {
            await CreateAsync(context, body, rid).ConfigureAwait(false);
            return;
        }
        if (sessions.Find(sid) is not { } session)
        {
            await TerminateAsync(context, "item-not-found").ConfigureAwait(false);
            return;
        }
        await ContinueAsync(context, session, body, rid).ConfigureAwait(false);
    }

    /// <summary>The body's text, or only its first <paramref name="limit"/> bytes (not complete) when it is larger.</summary>
    private static async Task<(string Text, bool Complete)> ReadBodyAsync(HttpRequest request, int limit)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        var complete = true;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                buffer.Write(chunk, 0, (int)(limit - buffer.Length));
                complete = false;
                break;
            }
            buffer.Write(chunk, 0, read);
        }
        return (Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), complete);
    }

    /// <summary>
    /// A body too large or not well-formed. If its start tag names one of the node's sessions and one of its next
    /// rids, the session ends with the terminal condition in an HTTP 200 answer (XEP-0124 §17.3) rather than linger;
    /// a body that names no session gets the HTTP status of XEP-0124's older versions.
    /// </summary>
    private async Task RefuseAsync(HttpContext context, string text, string condition, int status)
    {
        if (SessionNamedIn(text) is { } session)
        {
            session.Abort();
            await TerminateAsync(context, condition).ConfigureAwait(false);
            return;
        }
        await TerminateAsync(context, condition, status).ConfigureAwait(false);
    }

    private BoshSession? SessionNamedIn(string text)
    {
        var end = text.IndexOf('>', StringComparison.Ordinal);
        if (end < 0)
        {
            return null;
        }
        Element start;
        try
        {
            start = ElementParser.Parse(text[..end].TrimEnd('/') + "/>", HttpBind, node.XmlLimits);
        }
        catch (XmlStreamException)
        {
            return null;
        }
        return start.GetAttribute("sid") is { } sid && sessions.Find(sid) is { } session
            && long.TryParse(start.GetAttribute("rid"), NumberStyles.None, CultureInfo.InvariantCulture, out var rid)
            && rid > session.LastRid && rid <= session.LastRid + session.Requests
            ? session
            : null;
    }

    private async Task CreateAsync(HttpContext context, Element body, long rid)
    {
        var options = node.Options.Web;
        var wait = int.TryParse(body.GetAttribute("wait"), NumberStyles.None, CultureInfo.InvariantCulture, out var asked)
            ? Math.Clamp(asked, 1, options.BoshMaxWaitSeconds)
            : options.BoshMaxWaitSeconds;
        // Never more held requests than the client asked for (XEP-0124 §7.1): hold='0' is a client that polls.
        var hold = int.TryParse(body.GetAttribute("hold"), NumberStyles.None, CultureInfo.InvariantCulture, out var askedHold)
            ? Math.Min(askedHold, BoshSession.MaxHold)
            : BoshSession.MaxHold;
        var acknowledges = body.GetAttribute("ack") == "1";
        var session = sessions.TryCreate(rid, WebRequests.RemoteAddress(context, options), WebRequests.IsSecure(context, options), wait, hold, acknowledges);
        if (session is null)
        {
            await TerminateAsync(context, "policy-violation").ConfigureAwait(false);
            return;
        }
        _ = RunAsync(session);
        session.Accept(rid, [new XmlStreamEvent(XmlStreamEventKind.StreamStart, StreamHeader(body))]);
        var answer = await session.HoldAsync(rid, atOnce: false, context.RequestAborted).ConfigureAwait(false);
        var attributes = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $" sid='{session.Sid}' wait='{wait}' hold='{session.Hold}' requests='{session.Requests}'")
            .Append(CultureInfo.InvariantCulture, $" inactivity='{options.BoshInactivitySeconds}' polling='1' maxpause='{MaxPauseSeconds}' ver='1.11'")
            .Append(CultureInfo.InvariantCulture, $" from='{XmlEscaping.EscapeAttributeValue(body.GetAttribute("to") ?? node.Options.EffectiveDomains[0])}'")
            .Append(CultureInfo.InvariantCulture, $" authid='{session.StreamId}' xmpp:version='1.0' xmpp:restartlogic='true' secure='{(session.IsSecure ? "true" : "false")}'");
        if (acknowledges)
        {
            attributes.Append(CultureInfo.InvariantCulture, $" ack='{rid}'");
        }
        await RespondAsync(context, answer, attributes.ToString()).ConfigureAwait(false);
    }

    private async Task RunAsync(BoshSession session)
    {
        try
        {
            await new ClientStream(session, node).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            sessions.Remove(session);
        }
    }

    private async Task ContinueAsync(HttpContext context, BoshSession session, Element body, long rid)
    {
        if (rid <= session.LastRid)
        {
            // A request the client sent again (its connection broke): the same answer again, or the session is lost.
            if (session.TryGetAnswered(rid, out var answered))
            {
                await RespondAsync(context, answered).ConfigureAwait(false);
            }
            else
            {
                await TerminateAsync(context, "item-not-found").ConfigureAwait(false);
            }
            return;
        }
        if (rid > session.LastRid + session.Requests)
        {
            session.Abort();
            await TerminateAsync(context, "item-not-found").ConfigureAwait(false);
            return;
        }
        if (rid > session.LastRid + 1)
        {
            LogAheadOfPredecessor(logger, session.Sid, rid, session.Wait);
        }
        if (!await session.WaitForPredecessorAsync(rid, context.RequestAborted).ConfigureAwait(false))
        {
            // A request before it was lost (XEP-0124 §17.2): recoverable, the client sends it and this one again.
            await (session.Closed.IsCancellationRequested ? TerminateAsync(context, "item-not-found") : WriteBodyAsync(context, " type='error'", "")).ConfigureAwait(false);
            return;
        }

        var events = new List<XmlStreamEvent>();
        if (HasRestart(body))
        {
            events.Add(new XmlStreamEvent(XmlStreamEventKind.StreamStart, StreamHeader(body)));
        }
        foreach (var child in body.Children())
        {
            events.Add(new XmlStreamEvent(XmlStreamEventKind.Element, child));
        }
        if (body.GetAttribute("type") == "terminate")
        {
            events.Add(new XmlStreamEvent(XmlStreamEventKind.StreamEnd, null));
        }
        session.Accept(rid, events);
        if (int.TryParse(body.GetAttribute("pause"), NumberStyles.None, CultureInfo.InvariantCulture, out var pause) && pause <= MaxPauseSeconds)
        {
            session.Pause(pause);
        }
        var attributes = "";
        if (session.Acknowledges)
        {
            // No ack attribute acknowledges every answer before this request (XEP-0124 §9.2).
            var ack = long.TryParse(body.GetAttribute("ack"), NumberStyles.None, CultureInfo.InvariantCulture, out var acked) ? acked : rid - 1;
            if (session.Acknowledge(ack) is { } missed)
            {
                attributes = $" report='{missed.Rid}' time='{missed.AgeMs}'";
            }
        }
        // A lost answer is reported at once, so that the client can ask for it again.
        var answer = await session.HoldAsync(rid, atOnce: attributes.Length > 0, context.RequestAborted).ConfigureAwait(false);
        if (session.Acknowledges && session.LastRid > rid)
        {
            // Requests after this one already arrived: tell the client (XEP-0124 §9.1).
            attributes += $" ack='{session.LastRid}'";
        }
        await RespondAsync(context, answer, attributes).ConfigureAwait(false);
    }

    /// <summary>xmpp:restart='true' (XEP-0206 §5), under whatever prefix the client bound to urn:xmpp:xbosh.</summary>
    private static bool HasRestart(Element body) =>
        body.Attributes.Any(a => a.Name.EndsWith(":restart", StringComparison.Ordinal) && a.Value == "true");

    /// <summary>The stream header the negotiator expects, from the attributes of a session request or a restart.</summary>
    private Element StreamHeader(Element body)
    {
        var header = new Element("stream", Ns.Streams)
            .SetAttribute("to", body.GetAttribute("to") ?? node.Options.EffectiveDomains[0])
            .SetAttribute("version", "1.0");
        if (body.GetAttribute("xml:lang") is { } lang)
        {
            header.SetAttribute("xml:lang", lang);
        }
        return header;
    }

    private static Task TerminateAsync(HttpContext context, string condition, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        return WriteBodyAsync(context, $" type='terminate' condition='{condition}'", "");
    }

    private static Task RespondAsync(HttpContext context, BoshAnswer answer, string attributes = "")
    {
        if (answer.Terminate)
        {
            var condition = answer.Payload.Contains("<stream:error", StringComparison.Ordinal) ? " condition='remote-stream-error'" : "";
            attributes += $" type='terminate'{condition}";
        }
        return WriteBodyAsync(context, attributes, answer.Payload);
    }

    private static Task WriteBodyAsync(HttpContext context, string attributes, string payload)
    {
        context.Response.ContentType = "text/xml; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(
            $"<body xmlns='{HttpBind}' xmlns:xmpp='{XBosh}' xmlns:stream='{Ns.Streams}'{attributes}>{payload}</body>", context.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "BOSH session {Sid}: request {Rid} came before the one ahead of it, and waits up to {Wait} s for it")]
    private static partial void LogAheadOfPredecessor(ILogger logger, string sid, long rid, int wait);
}
