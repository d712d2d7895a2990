using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Streams;

/// <summary>Stream management (XEP-0198) and client state indication (XEP-0352) on a client connection.</summary>
public sealed partial class ClientConnection
{
    /// <summary>Guards what goes into the send queue together with the stream management counters.</summary>
    private readonly Lock _sendLock = new();
    private bool _ackRequested;

    private async ValueTask<Next> HandleStreamManagementAsync(Element element, ClientSession session)
    {
        switch (element.Name)
        {
            case "enable" when session.Management is null:
                var resume = element.GetAttribute("resume") is "true" or "1";
                var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
                var timeout = _node.Options.Sessions.ResumeTimeoutSeconds;
                lock (_sendLock)
                {
                    // Counting starts with the first stanza after <enabled/>, on both sides.
                    session.Management = new StreamManagementState(id, resume);
                    var enabled = resume
                        ? $"<enabled xmlns='{Ns.StreamManagement}' id='{id}' resume='true' max='{timeout}'/>"
                        : $"<enabled xmlns='{Ns.StreamManagement}'/>";
                    _sendQueue.Writer.TryWrite(new Outbound(null, Encoding.UTF8.GetBytes(enabled)));
                }
                if (resume)
                {
                    _node.Resumable.Add(session);
                }
                return Next.Continue;
            case "enable":
                SendRaw($"<failed xmlns='{Ns.StreamManagement}'><unexpected-request xmlns='{Ns.Stanzas}'/></failed>");
                return Next.Continue;
            case "r" when session.Management is { } management:
                uint handled;
                lock (management.Sync)
                {
                    handled = management.Handled;
                }
                SendRaw($"<a xmlns='{Ns.StreamManagement}' h='{handled}'/>");
                return Next.Continue;
            case "a" when session.Management is { } management:
                if (!uint.TryParse(element.GetAttribute("h"), NumberStyles.None, CultureInfo.InvariantCulture, out var h))
                {
                    return await FailAsync("bad-format", "The 'h' of an <a/> must be a number.").ConfigureAwait(false);
                }
                bool valid;
                uint sent;
                lock (management.Sync)
                {
                    valid = management.Acknowledge(h);
                    sent = management.Sent;
                    _ackRequested = false;
                }
                if (!valid)
                {
                    // XEP-0198 §4: acknowledging more than was sent ends the stream.
                    return await FailAsync("undefined-condition", $"The client acknowledged {h} stanzas; the server sent {sent}.").ConfigureAwait(false);
                }
                return Next.Continue;
            default:
                SendRaw($"<failed xmlns='{Ns.StreamManagement}'><unexpected-request xmlns='{Ns.Stanzas}'/></failed>");
                return Next.Continue;
        }
    }

    /// <summary>After authentication and before binding: a resumption, or an early enable (refused).</summary>
    private async ValueTask<Next> HandleStreamManagementBeforeBindAsync(Element element)
    {
        if (element.Name != "resume")
        {
            await WriteRawAsync(Encoding.UTF8.GetBytes($"<failed xmlns='{Ns.StreamManagement}'><unexpected-request xmlns='{Ns.Stanzas}'/></failed>")).ConfigureAwait(false);
            return Next.Continue;
        }

        var previd = element.GetAttribute("previd") ?? "";
        var session = _node.Resumable.Find(previd);
        if (session is null || !session.Jid.Bare.Equals(_account) || !uint.TryParse(element.GetAttribute("h"), NumberStyles.None, CultureInfo.InvariantCulture, out var h))
        {
            // The client may bind a new session instead.
            await WriteRawAsync(Encoding.UTF8.GetBytes($"<failed xmlns='{Ns.StreamManagement}'><item-not-found xmlns='{Ns.Stanzas}'/></failed>")).ConfigureAwait(false);
            return Next.Continue;
        }

        var management = session.Management!;
        Element[] resend = [];
        uint handled, sent;
        bool valid;
        IStanzaSink? previous = null;
        // One section for the acknowledgement, the move and the queueing: whatever another sink records
        // before the move is in 'resend', whatever comes after goes to this connection, after <resumed/>.
        lock (_sendLock)
        {
            lock (management.Sync)
            {
                valid = management.Acknowledge(h);
                handled = management.Handled;
                sent = management.Sent;
                if (valid)
                {
                    resend = management.Unacked();
                    management.HibernatedUntil = 0;
                    previous = session.Sink;
                    _session = session;
                    session.Sink = this;
                }
            }
            if (valid)
            {
                _sendQueue.Writer.TryWrite(new Outbound(null, Encoding.UTF8.GetBytes($"<resumed xmlns='{Ns.StreamManagement}' h='{handled}' previd='{previd}'/>")));
                foreach (var stanza in resend)
                {
                    Enqueue(stanza);
                }
            }
        }
        if (!valid)
        {
            await WriteRawAsync(Encoding.UTF8.GetBytes(
                $"<failed xmlns='{Ns.StreamManagement}' h='{handled}'><undefined-condition xmlns='{Ns.Stanzas}'/><handled-count-too-high xmlns='{Ns.StreamManagement}' h='{h}' send-count='{sent}'/></failed>")).ConfigureAwait(false);
            return await FailAsync("undefined-condition", $"The client acknowledged {h} stanzas; the server sent {sent}.").ConfigureAwait(false);
        }

        // The client gave up on its old connection (or it is a hibernated queue): that one is done.
        if (previous is ClientConnection stale)
        {
            stale.Abort();
        }
        _writer = WriteLoopAsync();
        LogResumed(_logger, _context.ConnectionId, session.Jid.ToString(), resend.Length);
        return Next.Continue;
    }

    private static void CountHandled(ClientSession session)
    {
        if (session.Management is { } management)
        {
            lock (management.Sync)
            {
                management.Handled++;
            }
        }
    }

    /// <summary>After a batch with stanzas: ask the client to acknowledge, one request at a time.</summary>
    private void RequestAckIfDue(System.IO.Pipelines.PipeWriter output)
    {
        if (_session?.Management is not { } management)
        {
            return;
        }
        lock (management.Sync)
        {
            if (_ackRequested || management.UnackedCount == 0)
            {
                return;
            }
            _ackRequested = true;
        }
        output.Write(AckRequest);
    }

    private static readonly byte[] AckRequest = Encoding.UTF8.GetBytes($"<r xmlns='{Ns.StreamManagement}'/>");

    /// <summary>The connection is gone but the client may come back: its stanzas wait for it.</summary>
    private async ValueTask HibernateAsync(ClientSession session)
    {
        var management = session.Management!;
        lock (management.Sync)
        {
            management.HibernatedUntil = Environment.TickCount64 + _node.Options.Sessions.ResumeTimeoutSeconds * 1000L;
        }
        session.Sink = new HibernatedSink(session, _node.Options.Limits.MaxSendQueueStanzas, _node.SessionCloser);
        LogHibernated(_logger, _context.ConnectionId, session.Jid.ToString(), _node.Options.Sessions.ResumeTimeoutSeconds);
        foreach (var hibernated in _node.Modules.SessionHibernated)
        {
            try
            {
                await hibernated(session).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                LogHibernationHookFailed(_logger, e, session.Jid.ToString());
            }
        }
    }

    /// <summary>XEP-0352: while inactive, the session holds and collapses what is not urgent.</summary>
    private static void HandleClientState(Element element, ClientSession session)
    {
        if (element.Name is "active" or "inactive")
        {
            session.SetActive(element.Name == "active");
        }
    }

    private void SendRaw(string xml) => _sendQueue.Writer.TryWrite(new Outbound(null, Encoding.UTF8.GetBytes(xml)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} resumed {Jid} and sent {Count} unacknowledged stanzas again")]
    private static partial void LogResumed(ILogger logger, string connectionId, string jid, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} lost; {Jid} waits {Seconds} s to be resumed")]
    private static partial void LogHibernated(ILogger logger, string connectionId, string jid, int seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "A module failed on the hibernation of {Jid}")]
    private static partial void LogHibernationHookFailed(ILogger logger, Exception exception, string jid);
}
