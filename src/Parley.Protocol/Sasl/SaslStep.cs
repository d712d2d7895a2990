namespace Parley.Protocol.Sasl;

/// <summary>What a SASL exchange step asks the stream negotiator to send.</summary>
public enum SaslOutcome
{
    /// <summary>Send &lt;challenge/&gt; with <see cref="SaslStep.Data"/> and wait for a response.</summary>
    Challenge,

    /// <summary>Send &lt;success/&gt;, with <see cref="SaslStep.Data"/> as additional data when present.</summary>
    Success,

    /// <summary>Send &lt;failure/&gt; with <see cref="SaslStep.Condition"/> and <see cref="SaslStep.Text"/>.</summary>
    Failure,
}

/// <summary>One step of a server-side SASL exchange.</summary>
/// <param name="Condition">On failure, the RFC 6120 §6.5 condition element name (see <see cref="SaslCondition"/>).</param>
/// <param name="Text">On failure, a human-readable explanation for the &lt;text/&gt; element.</param>
public readonly record struct SaslStep(SaslOutcome Outcome, byte[]? Data, string? Condition, string? Text)
{
    /// <summary>
    /// The failure is a wrong username or password, i.e. possibly a guess. Other failures (an unsupported
    /// channel binding, malformed data) come from the client's protocol handling and say nothing about the password.
    /// </summary>
    public bool CredentialsRejected { get; init; }

    internal static SaslStep Challenge(byte[] data) => new(SaslOutcome.Challenge, data, null, null);

    internal static SaslStep Success(byte[]? data) => new(SaslOutcome.Success, data, null, null);

    internal static SaslStep Failure(string condition, string text) => new(SaslOutcome.Failure, null, condition, text);

    internal static SaslStep WrongCredentials() =>
        new(SaslOutcome.Failure, null, SaslCondition.NotAuthorized, "The username or password is wrong.") { CredentialsRejected = true };
}
