using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace Parley.Protocol.Sasl;

/// <summary>
/// Whether <paramref name="password"/> (as the client sent it) is the password of <paramref name="username"/>;
/// <paramref name="preparedUsername"/> is its PRECIS form, or null when it has none (and so belongs to no one).
/// </summary>
public delegate ValueTask<bool> PlainPasswordCheck(string username, string? preparedUsername, string password, CancellationToken cancellationToken);

/// <summary>
/// The server side of PLAIN (RFC 4616): "[authzid] NUL authcid NUL passwd", checked against the
/// user's stored SCRAM-SHA-256 credentials, since the server keeps no password, or by another
/// check (a directory's bind). Offer it only inside TLS.
/// </summary>
public sealed class PlainServer : ISaslServerMechanism
{
    private readonly PlainPasswordCheck _check;
    private bool _sentEmptyChallenge;
    private bool _finished;

    public PlainServer(ScramCredentialLookup lookup)
        : this(ScramCheck(lookup))
    {
    }

    public PlainServer(PlainPasswordCheck check)
    {
        ArgumentNullException.ThrowIfNull(check);
        _check = check;
    }

    public string Name => "PLAIN";

    public string? AuthenticatedUser { get; private set; }

    public string? AuthorizationId { get; private set; }

    public async ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte> clientResponse, CancellationToken cancellationToken)
    {
        if (_finished)
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The authentication exchange has already finished.");
        }

        // RFC 6120 §6.4.2: a client without an initial response gets an empty challenge, once.
        if (clientResponse.IsEmpty && !_sentEmptyChallenge)
        {
            _sentEmptyChallenge = true;
            return SaslStep.Challenge([]);
        }

        _finished = true;
        return await VerifyAsync(clientResponse, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<SaslStep> VerifyAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        if (!Utf8.IsValid(message.Span))
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The PLAIN message is not valid UTF-8.");
        }

        string text = Encoding.UTF8.GetString(message.Span);
        string[] fields = text.Split('\0');
        if (fields.Length != 3)
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The PLAIN message must be authzid NUL authcid NUL password.");
        }

        (string authorizationId, string username, string password) = (fields[0], fields[1], fields[2]);
        if (username.Length == 0 || password.Length == 0)
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The username and password must not be empty.");
        }

        AuthorizationId = authorizationId.Length > 0 ? authorizationId : null;

        string? preparedUsername = Precis.Precis.TryPrepareLocalpart(username, out string? prepared, out _) ? prepared : null;
        bool passwordMatches = await _check(username, preparedUsername, password, cancellationToken).ConfigureAwait(false);
        if (!passwordMatches || preparedUsername is null)
        {
            return SaslStep.WrongCredentials();
        }

        AuthenticatedUser = preparedUsername;
        return SaslStep.Success(null);
    }

    /// <summary>The check against stored SCRAM-SHA-256 credentials: as slow for an unknown user as for a known one.</summary>
    public static PlainPasswordCheck ScramCheck(ScramCredentialLookup lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        return async (username, preparedUsername, password, cancellationToken) =>
        {
            // A name that cannot be prepared belongs to no one; it is checked like an unknown user.
            ScramCredentials? credentials = null;
            if (preparedUsername is not null)
            {
                credentials = await lookup(preparedUsername, ScramHash.Sha256, cancellationToken).ConfigureAwait(false);
            }

            bool userExists = credentials is { Hash: ScramHash.Sha256 };
            if (!userExists)
            {
                credentials = UnknownUserCredentials.For(preparedUsername ?? username, ScramHash.Sha256);
            }

            bool passwordMatches = Precis.Precis.TryPreparePassword(password, out string? preparedPassword, out _)
                && MatchesStoredKey(credentials!, preparedPassword);
            return passwordMatches && userExists;
        };
    }

    private static bool MatchesStoredKey(ScramCredentials credentials, string preparedPassword)
    {
        byte[] saltedPassword = Scram.SaltedPassword(credentials.Hash, preparedPassword, credentials.Salt, credentials.Iterations);
        byte[] storedKey = Scram.Hash(credentials.Hash, Scram.ClientKey(credentials.Hash, saltedPassword));
        CryptographicOperations.ZeroMemory(saltedPassword);
        return CryptographicOperations.FixedTimeEquals(storedKey, credentials.StoredKey);
    }
}
