using Parley.Protocol.Sasl;
using Parley.Server.Streams;

namespace Parley.Server.Auth;

/// <summary>
/// Where sign-in is decided: which SASL mechanisms a stream is offered, and the server side of
/// each exchange. The local account store (SCRAM, PLAIN) is the first backend; a directory's bind
/// (LDAP) or a peer's certificate (SASL EXTERNAL) plug in the same way.
/// </summary>
public interface IAuthenticationBackend
{
    /// <summary>The mechanisms to offer on this stream, best first.</summary>
    IReadOnlyList<string> Mechanisms(AuthenticationContext context);

    /// <summary>The server side of one exchange of a mechanism that <see cref="Mechanisms"/> offered.</summary>
    ISaslServerMechanism Start(string mechanism, AuthenticationContext context);
}

/// <summary>What a backend may know of the stream (or the web form) it authenticates.</summary>
public sealed class AuthenticationContext
{
    private readonly IStreamTransport? _transport;
    private readonly string _remoteAddress = "";
    private readonly bool _isSecure;

    public AuthenticationContext(IStreamTransport transport, string domain)
    {
        _transport = transport;
        Domain = domain;
    }

    /// <summary>A sign-in outside any XMPP stream (the administration console's form), which has no channel binding.</summary>
    public AuthenticationContext(string domain, string remoteAddress, bool isSecure)
    {
        Domain = domain;
        _remoteAddress = remoteAddress;
        _isSecure = isSecure;
    }

    public string Domain { get; }

    // A stream's transport is asked each time: STARTTLS makes it secure after the context exists.
    public string RemoteAddress => _transport?.RemoteAddress ?? _remoteAddress;
    public bool IsSecure => _transport?.IsSecure ?? _isSecure;
    public IReadOnlyList<string> ChannelBindingTypes => _transport?.ChannelBindingTypes ?? [];
    public ChannelBindingProvider ChannelBinding => _transport is null ? static _ => null : _transport.ChannelBinding;

    /// <summary>The account the client named (local@domain), once a mechanism has read it: for the throttle and the log.</summary>
    public string? AttemptedAccount { get; set; }

    /// <summary>
    /// The backend found the account disabled. The exchange still runs to its end, so that only a client that
    /// proved the password learns it (RFC 6120 &lt;account-disabled/&gt;); others get &lt;not-authorized/&gt;.
    /// </summary>
    public bool AccountDisabled { get; set; }
}
