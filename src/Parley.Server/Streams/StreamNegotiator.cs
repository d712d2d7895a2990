using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Protocol.Precis;
using Parley.Protocol.Sasl;
using Parley.Server.Auth;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Streams;

/// <summary>
/// Negotiates a client stream up to a bound session (RFC 6120 §4–§7), over any transport: the
/// stream header and features, STARTTLS where the transport has it, SASL through the node's
/// <see cref="IAuthenticationBackend"/>, IQs allowed before sign-in (registration), resource binding,
/// and stream-management resumption (XEP-0198). Features other than these come from the modules.
/// </summary>
public sealed partial class StreamNegotiator
{
    private const int MaxAuthFailuresPerStream = 5;

    private readonly ClientStream _stream;
    private readonly IStreamTransport _transport;
    private readonly ParleyNode _node;
    private readonly ILogger _logger;

    private AuthenticationContext? _authentication;
    private ISaslServerMechanism? _sasl;
    private int _authFailures;

    public StreamNegotiator(ClientStream stream, IStreamTransport transport, ParleyNode node)
    {
        _stream = stream;
        _transport = transport;
        _node = node;
        _logger = node.LoggerFactory.CreateLogger<StreamNegotiator>();
        Domain = node.Options.EffectiveDomains[0];
    }

    /// <summary>The served domain the client asked for in its stream header.</summary>
    public string Domain { get; private set; }

    /// <summary>The stream's xml:lang, given to the client's stanzas that carry none (RFC 6120 §4.7.4).</summary>
    public string? Language { get; private set; }

    /// <summary>The authenticated account, once SASL succeeded.</summary>
    public Jid? Account { get; private set; }

    public async ValueTask<StreamAction> HandleAsync(XmlStreamEvent ev)
    {
        switch (ev.Kind)
        {
            case XmlStreamEventKind.StreamStart:
                return await OpenStreamAsync(ev.Element!).ConfigureAwait(false);
            case XmlStreamEventKind.StreamEnd:
                await _stream.CloseAsync().ConfigureAwait(false);
                return StreamAction.Stop;
        }

        var element = ev.Element!;
        return element.Namespace switch
        {
            Ns.StreamManagement when Account is not null => await HandleStreamManagementAsync(element, Account).ConfigureAwait(false),
            Ns.Tls when element.Name == "starttls" => await StartTlsAsync().ConfigureAwait(false),
            Ns.Sasl => await HandleSaslAsync(element).ConfigureAwait(false),
            Ns.Client when element.Name == "iq" && Account is not null => await BindAsync(element, Account).ConfigureAwait(false),
            Ns.Client when element.Name == "iq" && CanNegotiate && UnauthenticatedHandler(element) is { } handler =>
                await HandleUnauthenticatedIqAsync(element, handler).ConfigureAwait(false),
            _ => await _stream.FailAsync("not-authorized", "Authenticate and bind a resource before sending stanzas.").ConfigureAwait(false),
        };
    }

    private async ValueTask<StreamAction> OpenStreamAsync(Element header)
    {
        if (_node.IsStopping)
        {
            return await _stream.FailAsync("system-shutdown", "This server is shutting down.").ConfigureAwait(false);
        }
        if (header.Namespace != Ns.Streams || header.Name != "stream" || _transport.StreamNamespace != Ns.Client)
        {
            return await _stream.FailAsync("invalid-namespace", "The stream must be <stream:stream> in the jabber:client namespace.").ConfigureAwait(false);
        }
        var version = header.GetAttribute("version");
        if (version is null || !version.StartsWith("1.", StringComparison.Ordinal))
        {
            return await _stream.FailAsync("unsupported-version", "This server speaks XMPP 1.0 only.").ConfigureAwait(false);
        }
        if (header.GetAttribute("to") is { } to)
        {
            if (!Precis.TryPrepareDomainpart(to, out var domain, out _) || !_node.Router.IsLocalDomain(domain))
            {
                return await _stream.FailAsync("host-unknown", $"This server does not serve {to}.").ConfigureAwait(false);
            }
            Domain = domain;
        }
        Language = header.GetAttribute("xml:lang");

        _authentication = null;
        _stream.WriteStreamHeader();
        await _stream.WriteNowAsync(Features()).ConfigureAwait(false);
        return StreamAction.Continue;
    }

    private Element Features()
    {
        var features = new Element("features", Ns.Streams);
        if (_transport.CanStartTls)
        {
            var starttls = features.AddChild("starttls", Ns.Tls);
            if (_node.Options.Tls.RequireStartTls)
            {
                starttls.AddChild("required");
                return features;
            }
        }
        if (Account is null)
        {
            if (!CanNegotiate)
            {
                // A plain-HTTP web session from outside (no TLS to start): sign-in is offered over HTTPS only.
                return features;
            }
            var mechanisms = features.AddChild("mechanisms", Ns.Sasl);
            foreach (var name in _node.Authentication.Mechanisms(Authentication))
            {
                mechanisms.AddChild("mechanism").AddText(name);
            }
            foreach (var feature in _node.Modules.UnauthenticatedStreamFeatures)
            {
                features.Add(feature.Clone());
            }
            if (_transport.IsSecure)
            {
                // XEP-0440: tell the client which channel bindings it can use with the -PLUS mechanisms.
                var bindings = features.AddChild("sasl-channel-binding", "urn:xmpp:sasl-cb:0");
                foreach (var type in _transport.ChannelBindingTypes)
                {
                    bindings.AddChild("channel-binding").SetAttribute("type", type);
                }
            }
            return features;
        }
        features.AddChild("bind", Ns.Bind);
        foreach (var feature in _node.Modules.StreamFeatures)
        {
            features.Add(feature.Clone());
        }
        return features;
    }

    /// <summary>What the authentication backend knows of this stream, for the domain of its latest header.</summary>
    private AuthenticationContext Authentication => _authentication ??= new AuthenticationContext(_transport, Domain);

    private async ValueTask<StreamAction> StartTlsAsync()
    {
        if (!_transport.CanStartTls)
        {
            return await _stream.FailAsync("policy-violation", "TLS is already in place.").ConfigureAwait(false);
        }
        await _stream.WriteNowAsync(new Element("proceed", Ns.Tls)).ConfigureAwait(false);
        return StreamAction.StartTls;
    }

    private async ValueTask<StreamAction> HandleSaslAsync(Element element)
    {
        if (Account is not null)
        {
            return await _stream.FailAsync("policy-violation", "The stream is already authenticated.").ConfigureAwait(false);
        }
        if (!_transport.IsSecure && _node.Options.Tls.RequireStartTls)
        {
            return await SaslFailureAsync("encryption-required", "Start TLS before authenticating.").ConfigureAwait(false);
        }

        switch (element.Name)
        {
            case "auth":
                var mechanism = element.GetAttribute("mechanism") ?? "";
                var context = Authentication;
                if (!_node.Authentication.Mechanisms(context).Contains(mechanism))
                {
                    return await SaslFailureAsync("invalid-mechanism", $"{mechanism} is not offered.").ConfigureAwait(false);
                }
                if (!await _node.LoginGate.WaitTurnAsync(_transport.Closed).ConfigureAwait(false))
                {
                    return await SaslFailureAsync("temporary-auth-failure", "This server is busy signing other clients in; try again in a few seconds.").ConfigureAwait(false);
                }
                context.AttemptedAccount = null;
                _sasl = _node.Authentication.Start(mechanism, context);
                var initial = element.Text;
                if (initial.Length == 0)
                {
                    // No initial response: RFC 6120 §6.4.2 asks for an empty challenge.
                    await _stream.WriteNowAsync(new Element("challenge", Ns.Sasl)).ConfigureAwait(false);
                    return StreamAction.Continue;
                }
                return await SaslStepAsync(initial).ConfigureAwait(false);
            case "response" when _sasl is not null:
                return await SaslStepAsync(element.Text).ConfigureAwait(false);
            case "abort" when _sasl is not null:
                _sasl = null;
                return await SaslFailureAsync("aborted", null).ConfigureAwait(false);
            default:
                return await _stream.FailAsync("not-authorized", $"Unexpected <{element.Name}/> in SASL negotiation.").ConfigureAwait(false);
        }
    }

    private async ValueTask<StreamAction> SaslStepAsync(string base64)
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

        var context = Authentication;
        SaslStep step;
        try
        {
            step = await _sasl!.StepAsync(response, _transport.Closed).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Storage (or the directory) is unreachable: the client may retry later, and it is not a failed guess.
            LogCredentialLookupFailed(_logger, e, _transport.ConnectionId);
            _sasl = null;
            return await SaslFailureAsync("temporary-auth-failure", "The account could not be checked; try again later.").ConfigureAwait(false);
        }
        switch (step.Outcome)
        {
            case SaslOutcome.Challenge:
                await _stream.WriteNowAsync(new Element("challenge", Ns.Sasl).AddText(Base64(step.Data))).ConfigureAwait(false);
                return StreamAction.Continue;
            case SaslOutcome.Success when context.AccountDisabled:
                LogAuthRefused(_logger, _transport.ConnectionId, context.AttemptedAccount ?? "(unknown)", _transport.RemoteAddress, _sasl.Name, "the account is disabled");
                _sasl = null;
                return await SaslFailureAsync("account-disabled", "This account is disabled; ask an administrator.").ConfigureAwait(false);
            case SaslOutcome.Success:
                Account = Jid.Create(_sasl.AuthenticatedUser, Domain);
                _node.AuthThrottle.RecordSuccess(Account.ToString());
                _node.Metrics.LoginSucceeded();
                LogAuthenticated(_logger, _transport.ConnectionId, Account.ToString(), _sasl.Name);
                _sasl = null;
                await _stream.WriteNowAsync(new Element("success", Ns.Sasl).AddText(Base64(step.Data))).ConfigureAwait(false);
                return StreamAction.Restart;
            default:
                var reason = step.Text ?? step.Condition ?? "not-authorized";
                if (!step.CredentialsRejected)
                {
                    // A client's protocol quirk (slixmpp 1.8 tries tls-unique, which TLS 1.3 lacks), not a password guess.
                    LogAuthRefused(_logger, _transport.ConnectionId, context.AttemptedAccount ?? "(unknown)", _transport.RemoteAddress, _sasl.Name, reason);
                    _sasl = null;
                    return await SaslFailureAsync(step.Condition ?? "not-authorized", step.Text).ConfigureAwait(false);
                }
                LogAuthFailed(_logger, _transport.ConnectionId, context.AttemptedAccount ?? "(unknown)", _transport.RemoteAddress, _sasl.Name, reason);
                _sasl = null;
                var delay = _node.AuthThrottle.RecordFailure(context.AttemptedAccount, _transport.RemoteAddress);
                await Task.Delay(delay, _transport.Closed).ConfigureAwait(false);
                return await SaslFailureAsync(step.Condition ?? "not-authorized", step.Text).ConfigureAwait(false);
        }
    }

    private static string Base64(byte[]? data) => data is null || data.Length == 0 ? "=" : Convert.ToBase64String(data);

    private async ValueTask<StreamAction> SaslFailureAsync(string condition, string? text)
    {
        var failure = new Element("failure", Ns.Sasl);
        failure.AddChild(condition);
        if (text is not null)
        {
            failure.AddChild("text").SetAttribute("xml:lang", "en").AddText(text);
        }
        await _stream.WriteNowAsync(failure).ConfigureAwait(false);
        _node.Metrics.LoginFailed(condition);
        if (++_authFailures >= MaxAuthFailuresPerStream)
        {
            return await _stream.FailAsync("policy-violation", "Too many failed authentication attempts.").ConfigureAwait(false);
        }
        return StreamAction.Continue;
    }

    /// <summary>Authentication and what may precede it happen only once TLS is up, unless the operator made TLS optional.</summary>
    private bool CanNegotiate => _transport.IsSecure || !_node.Options.Tls.RequireStartTls;

    private UnauthenticatedIqHandler? UnauthenticatedHandler(Element iq) =>
        iq.GetAttribute("type") is "get" or "set" && iq.Children().FirstOrDefault() is { Namespace: { } ns }
            ? _node.Modules.FindUnauthenticatedIqHandler(ns)
            : null;

    private async ValueTask<StreamAction> HandleUnauthenticatedIqAsync(Element iq, UnauthenticatedIqHandler handler)
    {
        var payload = iq.Children().First();
        await _stream.WriteNowAsync(await handler(new UnauthenticatedIq(iq, payload, Domain, _transport.RemoteAddress)).ConfigureAwait(false)).ConfigureAwait(false);
        return StreamAction.Continue;
    }

    /// <summary>After authentication and before binding: a resumption (XEP-0198), if stream management is on; else refused.</summary>
    private async ValueTask<StreamAction> HandleStreamManagementAsync(Element element, Jid account)
    {
        if (element.Name == "resume" && _node.Modules.FindStreamElementHandler(Ns.StreamManagement) is not null)
        {
            return await _stream.ResumeAsync(element, account).ConfigureAwait(false);
        }
        await _stream.WriteNowAsync(new Element("failed", Ns.StreamManagement).Add(new Element("unexpected-request", Ns.Stanzas))).ConfigureAwait(false);
        return StreamAction.Continue;
    }

    private async ValueTask<StreamAction> BindAsync(Element iq, Jid account)
    {
        var bind = iq.Child("bind", Ns.Bind);
        if (iq.GetAttribute("type") != "set" || bind is null)
        {
            return await _stream.FailAsync("not-authorized", "Bind a resource before sending other stanzas.").ConfigureAwait(false);
        }

        if (_node.Placement.OtherHostFor(account) is { } otherHost)
        {
            await _node.Placement.BeforeSendingAwayAsync(account, _transport.Closed).ConfigureAwait(false);
            LogSentElsewhere(_logger, _transport.ConnectionId, account.ToString(), otherHost);
            return await _stream.FailAsync("see-other-host", $"{account} is served by the node at {otherHost}.", otherHost).ConfigureAwait(false);
        }

        var requested = bind.ChildText("resource", Ns.Bind);
        Jid full;
        try
        {
            full = account.WithResource(string.IsNullOrEmpty(requested) ? "parley-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)) : requested);
        }
        catch (JidFormatException e)
        {
            await _stream.WriteNowAsync(Stanzas.ErrorReply(iq, StanzaError.BadRequest(e.Message))).ConfigureAwait(false);
            return StreamAction.Continue;
        }

        if (_node.Placement.RelayFor(account) is { } relay)
        {
            return await BindRelayedAsync(iq, full, relay).ConfigureAwait(false);
        }

        var session = new ClientSession(full, _stream, _transport.RemoteAddress, _transport.Description);
        if (_node.Options.Sessions.ResourceConflict == "reject" && _node.Sessions.Find(full) is not null)
        {
            await _stream.WriteNowAsync(Stanzas.ErrorReply(iq, StanzaError.Conflict("That resource is in use."))).ConfigureAwait(false);
            return StreamAction.Continue;
        }
        ClientSession? replaced;
        try
        {
            replaced = _node.Sessions.Add(session, _node.Options.Limits.MaxResourcesPerAccount);
        }
        catch (ResourceLimitException e)
        {
            await _stream.WriteNowAsync(Stanzas.ErrorReply(iq, StanzaError.ResourceConstraint(e.Message))).ConfigureAwait(false);
            return StreamAction.Continue;
        }
        replaced?.Sink.CloseWithError("conflict", "Replaced by a new connection with the same resource.");

        Bound(iq, session);
        await _node.Modules.SessionStarted.RaiseAsync(session).ConfigureAwait(false);
        return StreamAction.Continue;
    }

    /// <summary>Binds at the node that serves the account, which runs the session's side (and raises SessionStarted there).</summary>
    private async ValueTask<StreamAction> BindRelayedAsync(Element iq, Jid full, ISessionRelay relay)
    {
        var session = new ClientSession(full, _stream, _transport.RemoteAddress, _transport.Description) { Relay = relay };
        if (await relay.BindAsync(session).ConfigureAwait(false) is { } refused)
        {
            await _stream.WriteNowAsync(Stanzas.ErrorReply(iq, refused)).ConfigureAwait(false);
            return StreamAction.Continue;
        }
        Bound(iq, session);
        return StreamAction.Continue;
    }

    private void Bound(Element iq, ClientSession session)
    {
        _stream.Bind(session);
        LogBound(_logger, _transport.ConnectionId, session.Jid.ToString());
        var result = Stanzas.IqResult(iq, new Element("bind", Ns.Bind).Add(new Element("jid").AddText(session.Jid.ToString())));
        result.SetAttribute("from", null).SetAttribute("to", null);
        session.Send(result);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: {Account} is served by another node; sent to {OtherHost}")]
    private static partial void LogSentElsewhere(ILogger logger, string connectionId, string account, string otherHost);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} authenticated as {Account} with {Mechanism}")]
    private static partial void LogAuthenticated(ILogger logger, string connectionId, string account, string mechanism);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: authentication of {Account} from {Remote} with {Mechanism} failed: {Reason} (counted as a failed password)")]
    private static partial void LogAuthFailed(ILogger logger, string connectionId, string account, string remote, string mechanism, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: authentication of {Account} from {Remote} with {Mechanism} refused: {Reason} (a client protocol failure, not counted as a failed password)")]
    private static partial void LogAuthRefused(ILogger logger, string connectionId, string account, string remote, string mechanism, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} bound {Jid}")]
    private static partial void LogBound(ILogger logger, string connectionId, string jid);

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {ConnectionId}: looking up credentials failed")]
    private static partial void LogCredentialLookupFailed(ILogger logger, Exception exception, string connectionId);
}
