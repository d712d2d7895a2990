using System.Data.Common;
using System.Security.Authentication;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Streams;

/// <summary>
/// One client-to-server stream (RFC 6120) over any <see cref="IStreamTransport"/>. Until a resource
/// is bound, the <see cref="StreamNegotiator"/> handles what arrives and answers directly; from then
/// on stanzas go to the router and everything sent to the client goes through the one
/// <see cref="StreamWriter"/>.
/// </summary>
public sealed partial class ClientStream : IStanzaSink, IStreamHandler
{
    private readonly IStreamTransport _transport;
    private readonly ParleyNode _node;
    private readonly ILogger _logger;
    private readonly StreamNegotiator _negotiator;
    private readonly StreamWriter _writer;

    private bool _headerSent;
    private ClientSession? _session;
    private Task? _writing;
    private int _closing;

    /// <summary>The stream ended by a closing tag or a stream error, not by a lost connection: nothing to resume.</summary>
    private bool _streamClosed;
    private bool _toldShutdown;

    public ClientStream(IStreamTransport transport, ParleyNode node)
    {
        _transport = transport;
        _node = node;
        _logger = node.LoggerFactory.CreateLogger<ClientStream>();
        _writer = new StreamWriter(transport, node.Options.Limits.MaxSendQueueBytes, AckRequestIfDue);
        _negotiator = new StreamNegotiator(this, transport, node);
        LastSent = Environment.TickCount64;
    }

    public string ConnectionId => _transport.ConnectionId;
    public long LastReceived => _transport.LastReceived;
    public bool DropsDeadPeers => _transport.DropsDeadPeers;
    public long LastSent { get; private set; }
    public bool IsBound => _session is not null;
    public bool IsClosing => Volatile.Read(ref _closing) != 0;
    public long ClosingSince { get; private set; }
    public string RemoteAddress => _transport.RemoteAddress;
    public string Domain => _negotiator.Domain;

    public async Task RunAsync()
    {
        LogOpened(_logger, ConnectionId, RemoteAddress, _transport.Description);
        _node.Connections.Add(this);
        try
        {
            await _transport.OpenAsync().ConfigureAwait(false);
            await _transport.ReadAsync(this).ConfigureAwait(false);
        }
        catch (XmlStreamException e)
        {
            LogBadXml(_logger, ConnectionId, e.Error, e.Message);
            await FailAsync(StreamErrorFor(e.Error), e.Message).ConfigureAwait(false);
        }
        catch (AuthenticationException e)
        {
            LogTlsFailed(_logger, ConnectionId, RemoteAddress, e.Message);
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer went away or the monitor closed the connection; nothing to answer.
        }
        finally
        {
            await EndAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask<StreamAction> HandleAsync(XmlStreamEvent ev)
    {
        if (IsClosing)
        {
            return StreamAction.Stop;
        }
        if (_session is not { } session)
        {
            return await _negotiator.HandleAsync(ev).ConfigureAwait(false);
        }
        switch (ev.Kind)
        {
            case XmlStreamEventKind.StreamStart:
                return await FailAsync("policy-violation", "The stream is already open.").ConfigureAwait(false);
            case XmlStreamEventKind.StreamEnd:
                await CloseAsync().ConfigureAwait(false);
                return StreamAction.Stop;
        }
        var element = ev.Element!;
        if (element.Namespace is { } ns && ns != Ns.Client && _node.Modules.FindStreamElementHandler(ns) is { } handler)
        {
            await handler(new StreamElement(element, session, this)).ConfigureAwait(false);
            return IsClosing ? StreamAction.Stop : StreamAction.Continue;
        }
        await HandleStanzaAsync(element, session).ConfigureAwait(false);
        return IsClosing ? StreamAction.Stop : StreamAction.Continue;
    }

    /// <summary>Writes the server's stream header once per stream, with a fresh id.</summary>
    internal void WriteStreamHeader()
    {
        _headerSent = true;
        _transport.WriteStreamHeader(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)), Domain);
    }

    /// <summary>Before the writer runs: writes and flushes one answer of the negotiation.</summary>
    internal async ValueTask WriteNowAsync(Element element)
    {
        _transport.Write(element);
        await FlushNowAsync().ConfigureAwait(false);
    }

    internal async ValueTask FlushNowAsync()
    {
        await _transport.FlushAsync().ConfigureAwait(false);
        LastSent = Environment.TickCount64;
    }

    /// <summary>The negotiator bound a new session to this stream: from now on the writer sends.</summary>
    internal void Bind(ClientSession session)
    {
        _session = session;
        _writing = _writer.RunAsync(Flushed);
    }

    private async ValueTask HandleStanzaAsync(Element stanza, ClientSession session)
    {
        if (stanza.Namespace != Ns.Client || stanza.Name is not ("message" or "presence" or "iq"))
        {
            await FailAsync("unsupported-stanza-type", $"<{stanza.Name}/> in {stanza.Namespace} is not a stanza this server knows.").ConfigureAwait(false);
            return;
        }
        if (stanza.GetAttribute("from") is { } claimed && claimed != session.Jid.ToString()
            && !(Jid.TryParse(claimed, out var claimedJid) && (claimedJid.Equals(session.Jid) || claimedJid.Equals(session.Jid.Bare))))
        {
            // RFC 6120 §8.1.2.1: a client may only send as itself.
            await FailAsync("invalid-from", "The 'from' address is not this session's.").ConfigureAwait(false);
            return;
        }
        stanza.SetAttribute("from", session.Jid.ToString());
        if (_negotiator.Language is { Length: > 0 } language && stanza.GetAttribute("xml:lang") is null)
        {
            // RFC 6120 §4.7.4: the stream's language goes with the stanza to its recipients and the archive.
            stanza.SetAttribute("xml:lang", language);
        }

        Jid? to = null;
        // A stanza to a user signed in here names a JID the node already holds: it need not be parsed and prepared again.
        if (stanza.GetAttribute("to") is { } toText && (to = _node.Sessions.FindJid(toText)) is null && !Jid.TryParse(toText, out to))
        {
            await _node.Router.BounceAsync(stanza, session.Jid, StanzaError.JidMalformed($"'{toText}' is not a valid JID.")).ConfigureAwait(false);
            CountHandled(session);
            return;
        }
        if (stanza.Name == "iq" && !IsValidIq(stanza))
        {
            await _node.Router.BounceAsync(stanza, session.Jid, StanzaError.BadRequest("An IQ needs an id, a type of get, set, result or error, and one payload for get and set.")).ConfigureAwait(false);
            CountHandled(session);
            return;
        }
        _node.Metrics.StanzaReceived(stanza.Name);
        try
        {
            await _node.Router.RouteFromClientAsync(stanza, session, to).ConfigureAwait(false);
        }
        catch (DbException e)
        {
            // The database is down or restarting: the sender hears that this stanza failed (and may send it again)
            // instead of losing its whole session; the stream goes on and works again once the database is back.
            LogStorageFailed(_logger, e, stanza.Name, session.Jid.ToString());
            await _node.Router.BounceAsync(stanza, session.Jid, StanzaError.InternalServerError("The server's storage is unavailable; try again later.")).ConfigureAwait(false);
        }
        CountHandled(session);
    }

    private static bool IsValidIq(Element iq)
    {
        if (string.IsNullOrEmpty(iq.GetAttribute("id")))
        {
            return false;
        }
        switch (iq.GetAttribute("type"))
        {
            case "get" or "set":
                var payloads = 0;
                foreach (var node in iq.Nodes)
                {
                    if (node is Element)
                    {
                        payloads++;
                    }
                }
                return payloads == 1;
            case "result" or "error":
                return true;
            default:
                return false;
        }
    }

    /// <summary>Bytes queued for this client and not yet written (for metrics).</summary>
    public long QueuedBytes => _writer.QueuedBytes;

    /// <summary>Queues a stanza for this client. False once the stream is closing or the client stopped reading.</summary>
    public bool Send(Element stanza)
    {
        _node.Metrics.StanzaSent(stanza.Name);
        IStanzaSink? movedTo = null;
        lock (_sendLock)
        {
            if (_session is not { Management: { } management } session)
            {
                return !IsClosing && Enqueue(stanza);
            }
            // Checked under the management lock, which a resumption holds while it moves the session:
            // a stanza is either recorded here before the move (and sent again by the new stream)
            // or handed to the new stream after it.
            lock (management.Sync)
            {
                if (ReferenceEquals(session.Sink, this))
                {
                    // Recorded before it is written, and even while the stream closes: an unacknowledged
                    // stanza is sent again after a resumption, or delivered elsewhere when the session ends.
                    management.RecordSent(stanza);
                }
                else
                {
                    movedTo = session.Sink;
                }
            }
            if (movedTo is null)
            {
                if (!IsClosing)
                {
                    Enqueue(stanza);
                }
                return true;
            }
        }
        return movedTo.Send(stanza);
    }

    private bool Enqueue(Element stanza)
    {
        switch (_writer.TryEnqueueStanza(stanza))
        {
            case StreamWriter.Enqueued.Queued:
                return true;
            case StreamWriter.Enqueued.Full:
                // The client does not read what it is sent: bounded buffering, then the stream goes.
                LogSlowReader(_logger, ConnectionId, _session?.Jid.ToString() ?? RemoteAddress, _node.Options.Limits.MaxSendQueueBytes);
                CloseWithError("policy-violation", "The client did not read what it was sent.");
                return false;
            default:
                return false;
        }
    }

    public void SendKeepalive()
    {
        if (IsBound && !IsClosing && _writer.IsEmpty)
        {
            _writer.EnqueueKeepalive();
        }
    }

    public void CloseWithError(string condition, string? text = null, string? conditionContent = null) => _ = FailAsync(condition, text, conditionContent).AsTask();

    /// <summary>
    /// The node is stopping: a bound session gets &lt;system-shutdown/&gt; and ends (no resumption here);
    /// a stream still negotiating is dropped, as its reader owns the connection.
    /// </summary>
    public void CloseForShutdown()
    {
        if (!IsBound)
        {
            Abort();
            return;
        }
        _toldShutdown = true;
        CloseWithError("system-shutdown", "This server is shutting down.");
    }

    /// <summary>Closes with a stream error; before the writer runs, the answer is written here.</summary>
    /// <param name="conditionContent">The condition's own text: the address of &lt;see-other-host/&gt;.</param>
    internal async ValueTask<StreamAction> FailAsync(string condition, string? text, string? conditionContent = null)
    {
        _streamClosed = true;
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return StreamAction.Stop;
        }
        ClosingSince = Environment.TickCount64;
        LogStreamError(_logger, ConnectionId, condition, text ?? "");
        var error = new Element("error", Ns.Streams);
        var conditionElement = error.AddChild(condition, Ns.StreamErrors);
        if (conditionContent is not null)
        {
            conditionElement.AddText(conditionContent);
        }
        if (text is not null)
        {
            error.AddChild("text", Ns.StreamErrors).SetAttribute("xml:lang", "en").AddText(text);
        }

        try
        {
            if (_writing is not null)
            {
                _writer.EnqueueElement(error);
                _writer.EnqueueStreamClose();
                _writer.Complete();
                return StreamAction.Stop;
            }
            if (!_headerSent)
            {
                WriteStreamHeader();
            }
            _transport.Write(error);
            _transport.WriteStreamClose();
            await FlushNowAsync().ConfigureAwait(false);
            await _transport.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            Abort();
        }
        return StreamAction.Stop;
    }

    /// <summary>The client closed its stream: close ours (RFC 6120 §4.4).</summary>
    internal async Task CloseAsync()
    {
        _streamClosed = true;
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }
        ClosingSince = Environment.TickCount64;
        if (_writing is not null)
        {
            _writer.EnqueueStreamClose();
            _writer.Complete();
            return;
        }
        try
        {
            _transport.WriteStreamClose();
            await FlushNowAsync().ConfigureAwait(false);
            await _transport.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            Abort();
        }
    }

    /// <summary>Drops the connection without a goodbye (timeouts, a stale stream after a resumption).</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _closing, 1);
        _writer.Complete();
        _transport.Abort();
    }

    private void Flushed() => LastSent = Environment.TickCount64;

    private async Task EndAsync()
    {
        Interlocked.Exchange(ref _closing, 1);
        _node.Connections.Remove(this);
        var session = _session;
        if (session is not null && ReferenceEquals(session.Sink, this))
        {
            if (session.Management is { Resumable: true } && !_streamClosed && !_node.IsStopping)
            {
                await HibernateAsync(session).ConfigureAwait(false);
            }
            else
            {
                var unacked = await _node.SessionCloser.EndAsync(session).ConfigureAwait(false);
                if (_node.IsStopping)
                {
                    LogEndedForShutdown(_logger, session.Jid.ToString(), _toldShutdown ? "told system-shutdown" : "connection lost during shutdown", unacked);
                }
            }
        }
        _writer.Complete();
        if (_writing is not null)
        {
            try
            {
                await _writing.WaitAsync(WriterDrainTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The peer stopped reading and never closed: stop waiting for it.
                Abort();
                await _writing.ConfigureAwait(false);
            }
        }
        await _transport.DisposeAsync().ConfigureAwait(false);
        LogClosed(_logger, ConnectionId, session?.Jid.ToString() ?? _negotiator.Account?.ToString() ?? RemoteAddress);
    }

    private static readonly TimeSpan WriterDrainTimeout = TimeSpan.FromSeconds(5);

    private static string StreamErrorFor(XmlStreamError error) => error switch
    {
        XmlStreamError.RestrictedXml => "restricted-xml",
        XmlStreamError.PolicyViolation => "policy-violation",
        XmlStreamError.UnsupportedEncoding => "unsupported-encoding",
        XmlStreamError.InvalidNamespace => "invalid-namespace",
        _ => "not-well-formed",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "A {Stanza} from {Jid} failed in storage; answered internal-server-error")]
    private static partial void LogStorageFailed(ILogger logger, Exception exception, string stanza, string jid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} from {Remote} opened ({Transport})")]
    private static partial void LogOpened(ILogger logger, string connectionId, string remote, string transport);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} closed ({Who})")]
    private static partial void LogClosed(ILogger logger, string connectionId, string who);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId} from {Remote}: TLS handshake failed: {Reason}")]
    private static partial void LogTlsFailed(ILogger logger, string connectionId, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: stream error {Condition}: {Text}")]
    private static partial void LogStreamError(ILogger logger, string connectionId, string condition, string text);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: bad XML ({Error}): {Reason}")]
    private static partial void LogBadXml(ILogger logger, string connectionId, XmlStreamError error, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Jid}: {WhatHappened}, session ended, {Unacked} unacknowledged messages delivered to another session or stored offline")]
    private static partial void LogEndedForShutdown(ILogger logger, string jid, string whatHappened, int unacked);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId} ({Who}) does not read: more than {Limit} bytes queued, closing it")]
    private static partial void LogSlowReader(ILogger logger, string connectionId, string who, long limit);
}
