using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Streams;

/// <summary>
/// What the stream-management module (XEP-0198) asks of a stream: the counters live here, beside
/// the writer, because they must change in step with what is queued and sent.
/// </summary>
public interface IManagedStream
{
    /// <summary>&lt;enable/&gt;: start counting, and keep the session for a resumption when asked.</summary>
    void EnableManagement(bool resume);

    /// <summary>&lt;r/&gt;: tell the client how many of its stanzas were handled.</summary>
    ValueTask AnswerAckRequestAsync();

    /// <summary>&lt;a h='…'/&gt;: the client received the first <paramref name="h"/> stanzas sent to it.</summary>
    ValueTask AcknowledgeAsync(string? h);

    /// <summary>Answers a stream-management request that makes no sense now with &lt;failed/&gt;.</summary>
    void RefuseManagementRequest();
}

public sealed partial class ClientStream : IManagedStream
{
    private static readonly byte[] AckRequest = Encoding.UTF8.GetBytes($"<r xmlns='{Ns.StreamManagement}'/>");
    private static readonly byte[] UnexpectedRequest = Encoding.UTF8.GetBytes($"<failed xmlns='{Ns.StreamManagement}'><unexpected-request xmlns='{Ns.Stanzas}'/></failed>");

    /// <summary>Guards what goes into the send queue together with the stream management counters.</summary>
    private readonly Lock _sendLock = new();
    private bool _ackRequested;

    public void EnableManagement(bool resume)
    {
        var session = _session!;
        if (session.Management is not null)
        {
            RefuseManagementRequest();
            return;
        }
        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        var timeout = _node.Options.Sessions.ResumeTimeoutSeconds;
        var location = _node.Replication.Location is { } address ? $" location='{address}'" : "";
        lock (_sendLock)
        {
            // Counting starts with the first stanza after <enabled/>, on both sides.
            var management = new StreamManagementState(id, resume);
            lock (management.Sync)
            {
                management.Replica = _node.Replication.Start(session, management);
            }
            session.Management = management;
            var enabled = resume
                ? $"<enabled xmlns='{Ns.StreamManagement}' id='{id}' resume='true' max='{timeout}'{location}/>"
                : $"<enabled xmlns='{Ns.StreamManagement}'/>";
            _writer.EnqueueNonza(Encoding.UTF8.GetBytes(enabled));
        }
        if (resume)
        {
            _node.Resumable.Add(session);
        }
    }

    public async ValueTask AnswerAckRequestAsync()
    {
        if (_session!.Management is not { } management)
        {
            RefuseManagementRequest();
            return;
        }
        uint handled;
        lock (management.Sync)
        {
            handled = management.Handled;
        }
        // What the client is told was handled must survive this node: its copy, and the copies of the sessions
        // its stanzas were delivered to, hold them first (DESIGN §7).
        await _node.Replication.ReplicatedAsync().ConfigureAwait(false);
        // Formatted on the stack: clients ask for this every few stanzas.
        Span<byte> answer = stackalloc byte[64];
        Utf8.TryWrite(answer, CultureInfo.InvariantCulture, $"<a xmlns='{Ns.StreamManagement}' h='{handled}'/>", out var length);
        _writer.EnqueueNonza(answer[..length]);
    }

    public async ValueTask AcknowledgeAsync(string? hText)
    {
        if (_session!.Management is not { } management)
        {
            RefuseManagementRequest();
            return;
        }
        if (!uint.TryParse(hText, NumberStyles.None, CultureInfo.InvariantCulture, out var h))
        {
            await FailAsync("bad-format", "The 'h' of an <a/> must be a number.").ConfigureAwait(false);
            return;
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
            await FailAsync("undefined-condition", $"The client acknowledged {h} stanzas; the server sent {sent}.").ConfigureAwait(false);
        }
    }

    public void RefuseManagementRequest() => _writer.EnqueueNonza(UnexpectedRequest);

    /// <summary>
    /// After authentication and before binding: moves the session <paramref name="resume"/> names onto
    /// this stream and sends again what the client did not acknowledge. False when the client must bind instead.
    /// </summary>
    internal async ValueTask<StreamAction> ResumeAsync(Element resume, Jid account)
    {
        var previd = resume.GetAttribute("previd") ?? "";
        var session = _node.Resumable.Find(previd);
        if (session is null)
        {
            // In a cluster the client may come here before this node knows that the node it was on has died.
            await _node.Replication.TakenOverAsync(previd).ConfigureAwait(false);
            session = _node.Resumable.Find(previd);
        }
        if (session is null && _node.Placement.OtherHostFor(account) is { } otherHost)
        {
            // The stream can only be where the account is served (its node, or after a failover that node's peer):
            // sent there, the client resumes at the next try instead of asking node after node.
            await _node.Placement.BeforeSendingAwayAsync(account, _transport.Closed).ConfigureAwait(false);
            LogResumeSentElsewhere(_logger, ConnectionId, account.ToString(), otherHost);
            return await FailAsync("see-other-host", $"{account} is served by the node at {otherHost}; resume there.", otherHost).ConfigureAwait(false);
        }
        if (session is null || !session.Jid.Bare.Equals(account) || !uint.TryParse(resume.GetAttribute("h"), NumberStyles.None, CultureInfo.InvariantCulture, out var h))
        {
            // The client may bind a new session instead.
            _transport.Write(Encoding.UTF8.GetBytes($"<failed xmlns='{Ns.StreamManagement}'><item-not-found xmlns='{Ns.Stanzas}'/></failed>"));
            await FlushNowAsync().ConfigureAwait(false);
            return StreamAction.Continue;
        }

        var management = session.Management!;
        Element[] resend = [];
        uint handled, sent;
        bool valid;
        IStanzaSink? previous = null;
        // One section for the acknowledgement, the move and the queueing: whatever another sink records
        // before the move is in 'resend', whatever comes after goes to this stream, after <resumed/>.
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
                _writer.EnqueueNonza(Encoding.UTF8.GetBytes($"<resumed xmlns='{Ns.StreamManagement}' h='{handled}' previd='{previd}'/>"));
                foreach (var stanza in resend)
                {
                    Enqueue(stanza);
                }
            }
        }
        if (!valid)
        {
            _transport.Write(Encoding.UTF8.GetBytes(
                $"<failed xmlns='{Ns.StreamManagement}' h='{handled}'><undefined-condition xmlns='{Ns.Stanzas}'/><handled-count-too-high xmlns='{Ns.StreamManagement}' h='{h}' send-count='{sent}'/></failed>"));
            await FlushNowAsync().ConfigureAwait(false);
            return await FailAsync("undefined-condition", $"The client acknowledged {h} stanzas; the server sent {sent}.").ConfigureAwait(false);
        }

        // The client gave up on its old stream (or it is a hibernated queue): that one is done.
        if (previous is ClientStream stale)
        {
            stale.Abort();
        }
        _writing = _writer.RunAsync(Flushed);
        LogResumed(_logger, ConnectionId, session.Jid.ToString(), resend.Length);
        return StreamAction.Continue;
    }

    private static void CountHandled(ClientSession session)
    {
        if (session.Management is { } management)
        {
            lock (management.Sync)
            {
                management.CountHandled();
            }
        }
    }

    /// <summary>After a batch with stanzas: ask the client to acknowledge, one request at a time.</summary>
    private ReadOnlyMemory<byte> AckRequestIfDue()
    {
        if (_session?.Management is not { } management)
        {
            return default;
        }
        lock (management.Sync)
        {
            if (_ackRequested || management.UnackedCount == 0)
            {
                return default;
            }
            _ackRequested = true;
        }
        return AckRequest;
    }

    /// <summary>The connection is gone but the client may come back: its stanzas wait for it.</summary>
    private async ValueTask HibernateAsync(ClientSession session)
    {
        var management = session.Management!;
        lock (management.Sync)
        {
            management.HibernatedUntil = Environment.TickCount64 + _node.Options.Sessions.ResumeTimeoutSeconds * 1000L;
        }
        session.Sink = new HibernatedSink(session, _node.Options.Limits.MaxSendQueueStanzas, _node.SessionCloser);
        LogHibernated(_logger, ConnectionId, session.Jid.ToString(), _node.Options.Sessions.ResumeTimeoutSeconds);
        await _node.Modules.SessionHibernated.RaiseAsync(session).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} resumed {Jid} and sent {Count} unacknowledged stanzas again")]
    private static partial void LogResumed(ILogger logger, string connectionId, string jid, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: {Account} asked to resume a stream of the node that serves it; sent to {OtherHost}")]
    private static partial void LogResumeSentElsewhere(ILogger logger, string connectionId, string account, string otherHost);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} lost; {Jid} waits {Seconds} s to be resumed")]
    private static partial void LogHibernated(ILogger logger, string connectionId, string jid, int seconds);
}
