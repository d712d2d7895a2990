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

/// <summary>What a backend may know of the stream it authenticates.</summary>
public sealed class AuthenticationContext(IStreamTransport transport, string domain)
{
    public string Domain { get; } = domain;
    public string RemoteAddress => transport.RemoteAddress;
    public bool IsSecure => transport.IsSecure;
    public IReadOnlyList<string> ChannelBindingTypes => transport.ChannelBindingTypes;
    public ChannelBindingProvider ChannelBinding => transport.ChannelBinding;

    /// <summary>The account the client named (local@domain), once a mechanism has read it: for the throttle and the log.</summary>
    public string? AttemptedAccount { get; set; }

    /// <summary>
    /// The backend found the account disabled. The exchange still runs to its end, so that only a client that
    /// proved the password learns it (RFC 6120 &lt;account-disabled/&gt;); others get &lt;not-authorized/&gt;.
    /// </summary>
    public bool AccountDisabled { get; set; }
}
