namespace Parley.Protocol.Sasl;

/// <summary>
/// The server side of one SASL exchange with one client: a small state machine the stream
/// negotiator feeds with each client response until it answers success or failure.
/// </summary>
public interface ISaslServerMechanism
{
    /// <summary>The IANA mechanism name, e.g. "SCRAM-SHA-256-PLUS".</summary>
    string Name { get; }

    /// <summary>The prepared username (JID localpart) once the exchange has succeeded.</summary>
    string? AuthenticatedUser { get; }

    /// <summary>The authorization identity the client asked for, if any; the caller decides whether to allow it.</summary>
    string? AuthorizationId { get; }

    /// <summary>
    /// Processes the client's next message. The first call gets the initial response (empty when the
    /// client sent none or "="). Malformed or wrong client input yields a <see cref="SaslOutcome.Failure"/>
    /// step, never an exception; exceptions from the credential lookup propagate.
    /// </summary>
    ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte> clientResponse, CancellationToken cancellationToken);
}
