using System.Buffers;
using System.IO.Pipelines;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Protocol.Precis;
using Parley.Protocol.Sasl;
using Parley.Server.Hosting;
using Parley.Server.Modules;
using Parley.Server.Sessions;
using Parley.Server.Transport;
using Parley.Xml;

namespace Parley.Server.Streams;

/// <summary>
/// One client-to-server connection (RFC 6120): reads the XML stream, negotiates TLS, SASL and the
/// resource binding, then hands stanzas to the router. Until the session is bound the read loop
/// writes its answers itself; from then on a single writer loop drains the session's send queue.
/// </summary>
public sealed partial class ClientConnection : IStanzaSink
{
    private const int MaxAuthFailuresPerStream = 5;
    private static readonly byte[] StreamClose = "</stream:stream>"u8.ToArray();
    private static readonly byte[] Whitespace = " "u8.ToArray();
    private static readonly TimeSpan WriterDrainTimeout = TimeSpan.FromSeconds(5);

    private readonly ConnectionContext _context;
    private readonly bool _directTls;
    private readonly ParleyNode _node;
    private readonly ILogger _logger;
    private readonly ConnectionPipes _pipes;
    private readonly XmlStreamReader _reader;
    private readonly string _remoteAddress;
    private readonly Channel<Outbound> _sendQueue = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = true });

    private string _domain;
    private string? _streamLang;
    private bool _headerSent;
    private Jid? _account;
    private ISaslServerMechanism? _sasl;
    private string? _saslUser;
    private int _authFailures;
    private ClientSession? _session;
    private Task? _writer;
    private int _queued;
    private int _closing;

    /// <summary>The stream ended by a closing tag or a stream error, not by a lost connection: nothing to resume.</summary>
    private bool _streamClosed;
    private bool _toldShutdown;

    public ClientConnection(ConnectionContext context, bool directTls, ParleyNode node)
    {
        _context = context;
        _directTls = directTls;
        _node = node;
        _logger = node.LoggerFactory.CreateLogger<ClientConnection>();
        _pipes = new ConnectionPipes(context);
        _reader = new XmlStreamReader(node.XmlLimits);
        _remoteAddress = (context.RemoteEndPoint as System.Net.IPEndPoint)?.Address.ToString() ?? "unknown";
        _domain = node.Options.EffectiveDomains[0];
        LastReceived = LastSent = Environment.TickCount64;
    }

    public long LastReceived { get; private set; }
    public long LastSent { get; private set; }
    public bool IsBound => _session is not null;
    public bool IsClosing => Volatile.Read(ref _closing) != 0;
    public long ClosingSince { get; private set; }
    public string RemoteAddress => _remoteAddress;

    public async Task RunAsync()
    {
        LogOpened(_logger, _context.ConnectionId, _remoteAddress, _directTls ? "direct TLS" : "STARTTLS");
        _node.Connections.Add(this);
        try
        {
            if (_directTls)
            {
                await _pipes.StartTlsAsync(_node.Certificates, null, _context.ConnectionClosed).ConfigureAwait(false);
            }
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (XmlStreamException e)
        {
            LogBadXml(_logger, _context.ConnectionId, e.Error, e.Message);
            await FailAsync(StreamErrorFor(e.Error), e.Message).ConfigureAwait(false);
        }
        catch (AuthenticationException e)
        {
            LogTlsFailed(_logger, _context.ConnectionId, _remoteAddress, e.Message);
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

    private async Task ReadLoopAsync()
    {
        while (true)
        {
            var input = _pipes.Input;
            var result = await input.ReadAsync(_context.ConnectionClosed).ConfigureAwait(false);
            LastReceived = Environment.TickCount64;
            var buffer = result.Buffer;
            var next = Next.Continue;
            try
            {
                while (next == Next.Continue && !IsClosing && _reader.TryRead(ref buffer, out var ev))
                {
                    next = await HandleAsync(ev).ConfigureAwait(false);
                }
                if (next == Next.StartTls)
                {
                    // Whitespace after <starttls/> ("<starttls/>\n" from go-xmpp) is allowed between elements (RFC 6120 §11.7).
                    var whitespace = new SequenceReader<byte>(buffer);
                    whitespace.AdvancePastAny((byte)' ', (byte)'\t', (byte)'\r', (byte)'\n');
                    buffer = buffer.Slice(whitespace.Position);
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            if (next == Next.StartTls)
            {
                if (!buffer.IsEmpty)
                {
                    // Plain text pipelined after <starttls/> would be processed as if it came over TLS (CVE-2011-0411 style).
                    await FailAsync("policy-violation", "Data was sent after <starttls/> before the TLS handshake.").ConfigureAwait(false);
                    return;
                }
                await _pipes.StartTlsAsync(_node.Certificates, _domain, _context.ConnectionClosed).ConfigureAwait(false);
                _reader.Reset();
                continue;
            }
            if (next == Next.Stop || result.IsCompleted || IsClosing)
            {
                return;
            }
        }
    }

    private enum Next
    {
        Continue,
        StartTls,
        Stop,
    }

    private async ValueTask<Next> HandleAsync(XmlStreamEvent ev)
    {
        switch (ev.Kind)
        {
            case XmlStreamEventKind.StreamStart:
                return await OpenStreamAsync(ev.Element!).ConfigureAwait(false);
            case XmlStreamEventKind.StreamEnd:
                await CloseAsync().ConfigureAwait(false);
                return Next.Stop;
        }

        var element = ev.Element!;
        if (_session is not null)
        {
            switch (element.Namespace)
            {
                case Ns.StreamManagement:
                    return await HandleStreamManagementAsync(element, _session).ConfigureAwait(false);
                case Ns.ClientState:
                    HandleClientState(element, _session);
                    return Next.Continue;
            }
            await HandleStanzaAsync(element, _session).ConfigureAwait(false);
            return Next.Continue;
        }
        return element.Namespace switch
        {
            Ns.StreamManagement when _account is not null => await HandleStreamManagementBeforeBindAsync(element).ConfigureAwait(false),
            Ns.Tls when element.Name == "starttls" => await StartTlsAsync().ConfigureAwait(false),
            Ns.Sasl => await HandleSaslAsync(element).ConfigureAwait(false),
            Ns.Client when element.Name == "iq" && _account is not null => await HandlePreBindIqAsync(element).ConfigureAwait(false),
            Ns.Client when element.Name == "iq" && CanNegotiate && UnauthenticatedHandler(element) is { } handler =>
                await HandleUnauthenticatedIqAsync(element, handler).ConfigureAwait(false),
            _ => await FailAsync("not-authorized", "Authenticate and bind a resource before sending stanzas.").ConfigureAwait(false),
        };
    }

    private async ValueTask<Next> OpenStreamAsync(Element header)
    {
        if (_node.IsStopping)
        {
            return await FailAsync("system-shutdown", "This server is shutting down.").ConfigureAwait(false);
        }
        if (header.Namespace != Ns.Streams || header.Name != "stream" || _reader.StreamDefaultNamespace != Ns.Client)
        {
            return await FailAsync("invalid-namespace", "The stream must be <stream:stream> in the jabber:client namespace.").ConfigureAwait(false);
        }
        var version = header.GetAttribute("version");
        if (version is null || !version.StartsWith("1.", StringComparison.Ordinal))
        {
            return await FailAsync("unsupported-version", "This server speaks XMPP 1.0 only.").ConfigureAwait(false);
        }
        if (header.GetAttribute("to") is { } to)
        {
            if (!Precis.TryPrepareDomainpart(to, out var domain, out _) || !_node.Router.IsLocalDomain(domain))
            {
                return await FailAsync("host-unknown", $"This server does not serve {to}.").ConfigureAwait(false);
            }
            _domain = domain;
        }
        _streamLang = header.GetAttribute("xml:lang");

        await WriteRawAsync(StreamHeader()).ConfigureAwait(false);
        await WriteAsync(Features()).ConfigureAwait(false);
        return Next.Continue;
    }

    private byte[] StreamHeader()
    {
        _headerSent = true;
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        return Encoding.UTF8.GetBytes(
            $"<?xml version='1.0'?><stream:stream xmlns='{Ns.Client}' xmlns:stream='{Ns.Streams}' id='{id}' from='{_domain}' version='1.0' xml:lang='en'>");
    }

    private Element Features()
    {
        var features = new Element("features", Ns.Streams);
        var tlsRequired = _node.Options.Tls.RequireStartTls;
        if (!_pipes.IsSecure)
        {
            var starttls = features.AddChild("starttls", Ns.Tls);
            if (tlsRequired)
            {
                starttls.AddChild("required");
                return features;
            }
        }
        if (_account is null)
        {
            var mechanisms = features.AddChild("mechanisms", Ns.Sasl);
            foreach (var name in OfferedMechanisms())
            {
                mechanisms.AddChild("mechanism").AddText(name);
            }
            foreach (var feature in _node.Modules.UnauthenticatedStreamFeatures)
            {
                features.Add(feature.Clone());
            }
            if (_pipes.IsSecure)
            {
                // XEP-0440: tell the client which channel bindings it can use with the -PLUS mechanisms.
                var bindings = features.AddChild("sasl-channel-binding", "urn:xmpp:sasl-cb:0");
                foreach (var type in _pipes.ChannelBindingTypes())
                {
                    bindings.AddChild("channel-binding").SetAttribute("type", type);
                }
            }
            return features;
        }
        features.AddChild("bind", Ns.Bind);
        features.AddChild("session", Ns.Session).AddChild("optional");
        features.AddChild("sm", Ns.StreamManagement);
        features.AddChild("csi", Ns.ClientState);
        foreach (var feature in _node.Modules.StreamFeatures)
        {
            features.Add(feature.Clone());
        }
        return features;
    }

    private List<string> OfferedMechanisms()
    {
        var offered = new List<string>(5);
        if (_pipes.IsSecure && _pipes.ChannelBindingTypes().Count > 0)
        {
            offered.Add("SCRAM-SHA-256-PLUS");
            offered.Add("SCRAM-SHA-1-PLUS");
        }
        offered.Add("SCRAM-SHA-256");
        offered.Add("SCRAM-SHA-1");
        if (_pipes.IsSecure && _node.Options.Auth.AllowPlain)
        {
            offered.Add("PLAIN");
        }
        return offered;
    }

    private async ValueTask<Next> StartTlsAsync()
    {
        if (_pipes.IsSecure)
        {
            return await FailAsync("policy-violation", "TLS is already in place.").ConfigureAwait(false);
        }
        await WriteAsync(new Element("proceed", Ns.Tls)).ConfigureAwait(false);
        return Next.StartTls;
    }

    private async ValueTask<Next> HandleSaslAsync(Element element)
    {
        if (_account is not null)
        {
            return await FailAsync("policy-violation", "The stream is already authenticated.").ConfigureAwait(false);
        }
        if (!_pipes.IsSecure && _node.Options.Tls.RequireStartTls)
        {
            return await SaslFailureAsync("encryption-required", "Start TLS before authenticating.").ConfigureAwait(false);
        }

        switch (element.Name)
        {
            case "auth":
                var mechanism = element.GetAttribute("mechanism") ?? "";
                if (!OfferedMechanisms().Contains(mechanism))
                {
                    return await SaslFailureAsync("invalid-mechanism", $"{mechanism} is not offered.").ConfigureAwait(false);
                }
                _sasl = CreateMechanism(mechanism);
                _saslUser = null;
                var initial = element.Text;
                if (initial.Length == 0)
                {
                    // No initial response: RFC 6120 §6.4.2 asks for an empty challenge.
                    await WriteAsync(new Element("challenge", Ns.Sasl)).ConfigureAwait(false);
                    return Next.Continue;
                }
                return await SaslStepAsync(initial).ConfigureAwait(false);
            case "response" when _sasl is not null:
                return await SaslStepAsync(element.Text).ConfigureAwait(false);
            case "abort" when _sasl is not null:
                _sasl = null;
                return await SaslFailureAsync("aborted", null).ConfigureAwait(false);
            default:
                return await FailAsync("not-authorized", $"Unexpected <{element.Name}/> in SASL negotiation.").ConfigureAwait(false);
        }
    }

    private ISaslServerMechanism CreateMechanism(string name)
    {
        var offersPlus = _node.Options.Auth.StrictChannelBindingDowngrade && _pipes.ChannelBindingTypes().Count > 0;
        ChannelBindingProvider binding = _pipes.ChannelBinding;
        return name switch
        {
            "SCRAM-SHA-256-PLUS" => new ScramServer(ScramHash.Sha256, plus: true, LookupCredentials, binding, offersPlus),
            "SCRAM-SHA-1-PLUS" => new ScramServer(ScramHash.Sha1, plus: true, LookupCredentials, binding, offersPlus),
            "SCRAM-SHA-256" => new ScramServer(ScramHash.Sha256, plus: false, LookupCredentials, binding, offersPlus),
            "SCRAM-SHA-1" => new ScramServer(ScramHash.Sha1, plus: false, LookupCredentials, binding, offersPlus),
            _ => new PlainServer(LookupCredentials),
        };
    }

    private async ValueTask<ScramCredentials?> LookupCredentials(string username, ScramHash hash, CancellationToken cancellationToken)
    {
        if (!Precis.TryPrepareLocalpart(username, out var local, out _))
        {
            return null;
        }
        _saslUser = $"{local}@{_domain}";
        var credentials = await _node.Storage.Accounts.GetCredentialsAsync(_saslUser, cancellationToken).ConfigureAwait(false);
        return hash == ScramHash.Sha1 ? credentials?.Sha1 : credentials?.Sha256;
    }

    private async ValueTask<Next> SaslStepAsync(string base64)
    {
        byte[] response;
        if (base64 == "=")
        {
            response = [];
        }
        else
        {
            try
            {
                response = Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                return await SaslFailureAsync("incorrect-encoding", "The SASL data is not valid base64.").ConfigureAwait(false);
            }
        }

        SaslStep step;
        try
        {
            step = await _sasl!.StepAsync(response, _context.ConnectionClosed).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Storage is unreachable: the client may retry later, and it is not a failed guess.
            LogCredentialLookupFailed(_logger, e, _context.ConnectionId);
            _sasl = null;
            return await SaslFailureAsync("temporary-auth-failure", "The account could not be checked; try again later.").ConfigureAwait(false);
        }
        switch (step.Outcome)
        {
            case SaslOutcome.Challenge:
                await WriteAsync(new Element("challenge", Ns.Sasl).AddText(Base64(step.Data))).ConfigureAwait(false);
                return Next.Continue;
            case SaslOutcome.Success:
                _account = Jid.Create(_sasl.AuthenticatedUser, _domain);
                _node.AuthThrottle.RecordSuccess(_account.ToString());
                LogAuthenticated(_logger, _context.ConnectionId, _account.ToString(), _sasl.Name);
                _sasl = null;
                await WriteAsync(new Element("success", Ns.Sasl).AddText(Base64(step.Data))).ConfigureAwait(false);
                _reader.Reset();
                return Next.Continue;
            default:
                var reason = step.Text ?? step.Condition ?? "not-authorized";
                if (!step.CredentialsRejected)
                {
                    // A client's protocol quirk (slixmpp 1.8 tries tls-unique, which TLS 1.3 lacks), not a password guess.
                    LogAuthRefused(_logger, _context.ConnectionId, _saslUser ?? "(unknown)", _remoteAddress, _sasl.Name, reason);
                    _sasl = null;
                    return await SaslFailureAsync(step.Condition ?? "not-authorized", step.Text).ConfigureAwait(false);
                }
                LogAuthFailed(_logger, _context.ConnectionId, _saslUser ?? "(unknown)", _remoteAddress, _sasl.Name, reason);
                _sasl = null;
                var delay = _node.AuthThrottle.RecordFailure(_saslUser, _remoteAddress);
                await Task.Delay(delay, _context.ConnectionClosed).ConfigureAwait(false);
                return await SaslFailureAsync(step.Condition ?? "not-authorized", step.Text).ConfigureAwait(false);
        }
    }

    private static string Base64(byte[]? data) => data is null || data.Length == 0 ? "=" : Convert.ToBase64String(data);

    private async ValueTask<Next> SaslFailureAsync(string condition, string? text)
    {
        var failure = new Element("failure", Ns.Sasl);
        failure.AddChild(condition);
        if (text is not null)
        {
            failure.AddChild("text").SetAttribute("xml:lang", "en").AddText(text);
        }
        await WriteAsync(failure).ConfigureAwait(false);
        if (++_authFailures >= MaxAuthFailuresPerStream)
        {
            return await FailAsync("policy-violation", "Too many failed authentication attempts.").ConfigureAwait(false);
        }
        return Next.Continue;
    }

    /// <summary>Authentication and what may precede it happen only once TLS is up, unless the operator made TLS optional.</summary>
    private bool CanNegotiate => _pipes.IsSecure || !_node.Options.Tls.RequireStartTls;

    private UnauthenticatedIqHandler? UnauthenticatedHandler(Element iq) =>
        iq.GetAttribute("type") is "get" or "set" && iq.Children().FirstOrDefault() is { Namespace: { } ns }
            ? _node.Modules.FindUnauthenticatedIqHandler(ns)
            : null;

    private async ValueTask<Next> HandleUnauthenticatedIqAsync(Element iq, UnauthenticatedIqHandler handler)
    {
        var payload = iq.Children().First();
        await WriteAsync(await handler(new UnauthenticatedIq(iq, payload, _domain, _remoteAddress)).ConfigureAwait(false)).ConfigureAwait(false);
        return Next.Continue;
    }

    private async ValueTask<Next> HandlePreBindIqAsync(Element iq)
    {
        var bind = iq.Child("bind", Ns.Bind);
        if (iq.GetAttribute("type") != "set" || bind is null)
        {
            return await FailAsync("not-authorized", "Bind a resource before sending other stanzas.").ConfigureAwait(false);
        }

        var requested = bind.ChildText("resource", Ns.Bind);
        Jid full;
        try
        {
            full = _account!.WithResource(string.IsNullOrEmpty(requested) ? "parley-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)) : requested);
        }
        catch (JidFormatException e)
        {
            await WriteAsync(Stanzas.ErrorReply(iq, StanzaError.BadRequest(e.Message))).ConfigureAwait(false);
            return Next.Continue;
        }

        var session = new ClientSession(full, this, _remoteAddress);
        if (_node.Options.Sessions.ResourceConflict == "reject" && _node.Sessions.Find(full) is not null)
        {
            await WriteAsync(Stanzas.ErrorReply(iq, StanzaError.Conflict("That resource is in use."))).ConfigureAwait(false);
            return Next.Continue;
        }
        ClientSession? replaced;
        try
        {
            replaced = _node.Sessions.Add(session, _node.Options.Limits.MaxResourcesPerAccount);
        }
        catch (ResourceLimitException e)
        {
            await WriteAsync(Stanzas.ErrorReply(iq, StanzaError.ResourceConstraint(e.Message))).ConfigureAwait(false);
            return Next.Continue;
        }
        replaced?.Sink.CloseWithError("conflict", "Replaced by a new connection with the same resource.");

        _session = session;
        _writer = WriteLoopAsync();
        LogBound(_logger, _context.ConnectionId, full.ToString());
        var result = Stanzas.IqResult(iq, new Element("bind", Ns.Bind).Add(new Element("jid").AddText(full.ToString())));
        result.SetAttribute("from", null).SetAttribute("to", null);
        Send(result);
        foreach (var started in _node.Modules.SessionStarted)
        {
            await started(session).ConfigureAwait(false);
        }
        return Next.Continue;
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
        if (_streamLang is { Length: > 0 } && stanza.GetAttribute("xml:lang") is null)
        {
            // RFC 6120 §4.7.4: the stream's language goes with the stanza to its recipients and the archive.
            stanza.SetAttribute("xml:lang", _streamLang);
        }

        Jid? to = null;
        if (stanza.GetAttribute("to") is { } toText && !Jid.TryParse(toText, out to))
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
        await _node.Router.RouteFromClientAsync(stanza, session, to).ConfigureAwait(false);
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

    /// <summary>Queues a stanza for this client. False once the connection is closing or the client stopped reading.</summary>
    public bool Send(Element stanza)
    {
        IStanzaSink? movedTo = null;
        lock (_sendLock)
        {
            if (_session is not { Management: { } management } session)
            {
                return !IsClosing && Enqueue(stanza);
            }
            // Checked under the management lock, which a resumption holds while it moves the session:
            // a stanza is either recorded here before the move (and sent again by the new connection)
            // or handed to the new connection after it.
            lock (management.Sync)
            {
                if (ReferenceEquals(session.Sink, this))
                {
                    // Recorded before it is written, and even while the connection closes: an unacknowledged
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
        if (Interlocked.Increment(ref _queued) > _node.Options.Limits.MaxSendQueueStanzas)
        {
            // The client does not read what it is sent: bounded buffering, then the connection goes.
            LogSlowReader(_logger, _context.ConnectionId, _session?.Jid.ToString() ?? _remoteAddress, _node.Options.Limits.MaxSendQueueStanzas);
            Abort();
            return false;
        }
        return _sendQueue.Writer.TryWrite(new Outbound(stanza, null));
    }

    public void SendKeepalive()
    {
        if (IsBound && !IsClosing && Volatile.Read(ref _queued) == 0)
        {
            _sendQueue.Writer.TryWrite(new Outbound(null, Whitespace));
        }
    }

    public void CloseWithError(string condition, string? text = null) => _ = FailAsync(condition, text).AsTask();

    /// <summary>
    /// The node is stopping: a bound session gets &lt;system-shutdown/&gt; and ends (no resumption here);
    /// a stream still negotiating is dropped, as its read loop owns the socket.
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
    private async ValueTask<Next> FailAsync(string condition, string? text)
    {
        _streamClosed = true;
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return Next.Stop;
        }
        ClosingSince = Environment.TickCount64;
        LogStreamError(_logger, _context.ConnectionId, condition, text ?? "");
        var error = new Element("error", Ns.Streams);
        error.AddChild(condition, Ns.StreamErrors);
        if (text is not null)
        {
            error.AddChild("text", Ns.StreamErrors).SetAttribute("xml:lang", "en").AddText(text);
        }

        try
        {
            if (_writer is not null)
            {
                _sendQueue.Writer.TryWrite(new Outbound(error, null));
                _sendQueue.Writer.TryWrite(new Outbound(null, StreamClose));
                _sendQueue.Writer.TryComplete();
                return Next.Stop;
            }
            if (!_headerSent)
            {
                await WriteRawAsync(StreamHeader(), flush: false).ConfigureAwait(false);
            }
            await WriteAsync(error, flush: false).ConfigureAwait(false);
            await WriteRawAsync(StreamClose).ConfigureAwait(false);
            await _pipes.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            Abort();
        }
        return Next.Stop;
    }

    /// <summary>The client closed its stream: close ours (RFC 6120 §4.4).</summary>
    private async Task CloseAsync()
    {
        _streamClosed = true;
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }
        ClosingSince = Environment.TickCount64;
        if (_writer is not null)
        {
            _sendQueue.Writer.TryWrite(new Outbound(null, StreamClose));
            _sendQueue.Writer.TryComplete();
            return;
        }
        try
        {
            await WriteRawAsync(StreamClose).ConfigureAwait(false);
            await _pipes.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            Abort();
        }
    }

    /// <summary>Drops the connection without a goodbye (timeouts, slow readers).</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _closing, 1);
        _sendQueue.Writer.TryComplete();
        _context.Abort(new ConnectionAbortedException("Closed by the server."));
    }

    private async Task WriteLoopAsync()
    {
        var queue = _sendQueue.Reader;
        try
        {
            while (await queue.WaitToReadAsync().ConfigureAwait(false))
            {
                var output = _pipes.Output;
                var stanzas = false;
                while (queue.TryRead(out var item))
                {
                    if (item.Element is not null)
                    {
                        if (SharedStanza.TryGetBytes(item.Element, out var serialized))
                        {
                            output.Write(serialized);
                        }
                        else
                        {
                            item.Element.WriteTo(output, Ns.Client);
                        }
                        Interlocked.Decrement(ref _queued);
                        stanzas = true;
                    }
                    else
                    {
                        output.Write(item.Raw);
                    }
                }
                if (stanzas)
                {
                    RequestAckIfDue(output);
                }
                var flushed = await output.FlushAsync().ConfigureAwait(false);
                LastSent = Environment.TickCount64;
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return;
                }
            }
            await _pipes.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or ConnectionAbortedException)
        {
            Abort();
        }
    }

    private async ValueTask WriteAsync(Element element, bool flush = true)
    {
        element.WriteTo(_pipes.Output, Ns.Client);
        if (flush)
        {
            await _pipes.Output.FlushAsync(_context.ConnectionClosed).ConfigureAwait(false);
            LastSent = Environment.TickCount64;
        }
    }

    private async ValueTask WriteRawAsync(byte[] bytes, bool flush = true)
    {
        _pipes.Output.Write(bytes);
        if (flush)
        {
            await _pipes.Output.FlushAsync(_context.ConnectionClosed).ConfigureAwait(false);
            LastSent = Environment.TickCount64;
        }
    }

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
        _sendQueue.Writer.TryComplete();
        if (_writer is not null)
        {
            try
            {
                await _writer.WaitAsync(WriterDrainTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The peer stopped reading and never closed: stop waiting for it.
                Abort();
                await _writer.ConfigureAwait(false);
            }
        }
        await _pipes.DisposeAsync().ConfigureAwait(false);
        LogClosed(_logger, _context.ConnectionId, session?.Jid.ToString() ?? _account?.ToString() ?? _remoteAddress);
    }

    private static string StreamErrorFor(XmlStreamError error) => error switch
    {
        XmlStreamError.RestrictedXml => "restricted-xml",
        XmlStreamError.PolicyViolation => "policy-violation",
        XmlStreamError.UnsupportedEncoding => "unsupported-encoding",
        XmlStreamError.InvalidNamespace => "invalid-namespace",
        _ => "not-well-formed",
    };

    private readonly record struct Outbound(Element? Element, byte[]? Raw);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} from {Remote} opened ({Tls})")]
    private static partial void LogOpened(ILogger logger, string connectionId, string remote, string tls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} closed ({Who})")]
    private static partial void LogClosed(ILogger logger, string connectionId, string who);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId} from {Remote}: TLS handshake failed: {Reason}")]
    private static partial void LogTlsFailed(ILogger logger, string connectionId, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} authenticated as {Account} with {Mechanism}")]
    private static partial void LogAuthenticated(ILogger logger, string connectionId, string account, string mechanism);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: authentication of {Account} from {Remote} with {Mechanism} failed: {Reason} (counted as a failed password)")]
    private static partial void LogAuthFailed(ILogger logger, string connectionId, string account, string remote, string mechanism, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: authentication of {Account} from {Remote} with {Mechanism} refused: {Reason} (a client protocol failure, not counted as a failed password)")]
    private static partial void LogAuthRefused(ILogger logger, string connectionId, string account, string remote, string mechanism, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} bound {Jid}")]
    private static partial void LogBound(ILogger logger, string connectionId, string jid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: stream error {Condition}: {Text}")]
    private static partial void LogStreamError(ILogger logger, string connectionId, string condition, string text);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: bad XML ({Error}): {Reason}")]
    private static partial void LogBadXml(ILogger logger, string connectionId, XmlStreamError error, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId} ({Who}) does not read: more than {Limit} stanzas queued, closing it")]
    private static partial void LogSlowReader(ILogger logger, string connectionId, string who, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Jid}: {WhatHappened}, session ended, {Unacked} unacknowledged messages delivered to another session or stored offline")]
    private static partial void LogEndedForShutdown(ILogger logger, string jid, string whatHappened, int unacked);

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {ConnectionId}: looking up credentials failed")]
    private static partial void LogCredentialLookupFailed(ILogger logger, Exception exception, string connectionId);

}
