using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;

namespace Parley.Protocol.Sasl;

/// <summary>
/// The client side of SCRAM-SHA-1/SHA-256(-PLUS) (RFC 5802, RFC 7677), for the load generator and
/// tests: <see cref="ClientFirst"/>, then <see cref="ClientFinal"/> with the server's challenge,
/// then <see cref="VerifyServerFinal"/> with the success data.
/// </summary>
public sealed class ScramClient
{
    /// <summary>RFC 7677 §4: fewer iterations than this make the stored credentials too cheap to attack.</summary>
    public const int MinimumIterations = 4096;

    private const int ClientNonceBytes = 24;

    private readonly ScramHash _hash;
    private readonly string _username;
    private readonly ScramSaltedPasswordSource _saltedPassword;
    private readonly string _gs2Header;
    private readonly byte[] _channelBindingData;
    private readonly string _clientNonce;
    private string? _clientFirstBare;
    private byte[]? _expectedServerSignature;

    /// <summary>Uses channel binding ("p=<paramref name="cbType"/>") when the server offers -PLUS and
    /// <paramref name="cbData"/> is given; says "y" when it has the data but the server offers no -PLUS.</summary>
    /// <exception cref="ArgumentException">The password is not a valid OpaqueString, or only one of cbType and cbData is given.</exception>
    public ScramClient(ScramHash hash, string username, string password, string? cbType = null, byte[]? cbData = null, bool serverOffersPlus = false)
        : this(hash, username, SaltedPasswordSourceFor(hash, password), cbType, cbData, serverOffersPlus, clientNonce: null)
    {
    }

    /// <summary>Like the password constructor, with the SaltedPassword supplied (and possibly cached) by the caller.</summary>
    public ScramClient(ScramHash hash, string username, ScramSaltedPasswordSource saltedPassword, string? cbType = null, byte[]? cbData = null, bool serverOffersPlus = false)
        : this(hash, username, saltedPassword, cbType, cbData, serverOffersPlus, clientNonce: null)
    {
    }

    /// <param name="clientNonce">Replaces the random client nonce, for the RFC test vectors.</param>
    internal ScramClient(ScramHash hash, string username, ScramSaltedPasswordSource saltedPassword, string? cbType, byte[]? cbData, bool serverOffersPlus, string? clientNonce)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(saltedPassword);
        if ((cbType is null) != (cbData is null))
        {
            throw new ArgumentException("Channel binding needs both a type and its data.", nameof(cbData));
        }

        bool usesChannelBinding = cbType is not null && serverOffersPlus;
        _hash = hash;
        _username = username;
        _saltedPassword = saltedPassword;
        _gs2Header = usesChannelBinding ? $"p={cbType},," : cbType is not null ? "y,," : "n,,";
        _channelBindingData = usesChannelBinding ? cbData! : [];
        _clientNonce = clientNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(ClientNonceBytes));
        MechanismName = Scram.MechanismName(hash, usesChannelBinding);
    }

    /// <summary>The mechanism this client speaks, e.g. "SCRAM-SHA-256-PLUS" when it binds to the channel.</summary>
    public string MechanismName { get; }

    /// <summary>SaltedPassword := Hi(Normalize(password), salt, i), with the password prepared as an OpaqueString.</summary>
    /// <exception cref="ArgumentException">The password is not a valid OpaqueString.</exception>
    public static byte[] SaltedPassword(ScramHash hash, string password, ReadOnlySpan<byte> salt, int iterations) =>
        Scram.SaltedPassword(hash, PreparePassword(password), salt, iterations);

    /// <summary>client-first-message: gs2 header, "n=" escaped username, "r=" client nonce.</summary>
    public byte[] ClientFirst()
    {
        _clientFirstBare = $"n={Scram.EscapeSaslName(_username)},r={_clientNonce}";
        return Encoding.UTF8.GetBytes(_gs2Header + _clientFirstBare);
    }

    /// <summary>client-final-message for the server's challenge (server-first-message).</summary>
    /// <exception cref="FormatException">The server-first-message is malformed.</exception>
    /// <exception cref="AuthenticationException">The server reported an error, changed the client nonce, or asked
    /// for fewer than <see cref="MinimumIterations"/> iterations.</exception>
    public byte[] ClientFinal(ReadOnlySpan<byte> serverFirst)
    {
        if (_clientFirstBare is null)
        {
            throw new InvalidOperationException("ClientFirst must be sent before ClientFinal.");
        }

        string serverFirstText = Encoding.UTF8.GetString(serverFirst);
        if (serverFirstText.StartsWith("e=", StringComparison.Ordinal))
        {
            throw new AuthenticationException("The server refused the authentication: " + serverFirstText[2..]);
        }

        var reader = new Scram.AttributeReader(serverFirstText);
        if (!reader.TryRead('r', out ReadOnlySpan<char> nonce) || !Scram.IsValidNonce(nonce))
        {
            throw new FormatException("The server-first-message has no valid nonce (r=).");
        }

        if (!reader.TryRead('s', out ReadOnlySpan<char> saltText) || !Scram.TryDecodeBase64(saltText, out byte[] salt))
        {
            throw new FormatException("The server-first-message has no valid salt (s=).");
        }

        if (!reader.TryRead('i', out ReadOnlySpan<char> iterationText) || iterationText.ContainsAnyExceptInRange('0', '9')
            || !int.TryParse(iterationText, out int iterations) || !reader.TrySkipExtensions())
        {
            throw new FormatException("The server-first-message has no valid iteration count (i=).");
        }

        if (!nonce.StartsWith(_clientNonce) || nonce.Length == _clientNonce.Length)
        {
            throw new AuthenticationException("The server nonce does not extend the client nonce.");
        }

        if (iterations < MinimumIterations)
        {
            throw new AuthenticationException($"The server asked for {iterations} iterations; at least {MinimumIterations} are required.");
        }

        byte[] channelBinding = [.. Encoding.UTF8.GetBytes(_gs2Header), .. _channelBindingData];
        string withoutProof = $"c={Convert.ToBase64String(channelBinding)},r={nonce}";
        byte[] authMessage = Scram.AuthMessage(_clientFirstBare, serverFirstText, withoutProof);

        byte[] saltedPassword = _saltedPassword(salt, iterations);
        byte[] proof = Scram.ClientKey(_hash, saltedPassword);
        byte[] storedKey = Scram.Hash(_hash, proof);
        Scram.Xor(proof, Scram.Hmac(_hash, storedKey, authMessage));
        _expectedServerSignature = Scram.Hmac(_hash, Scram.ServerKey(_hash, saltedPassword), authMessage);
        return Encoding.UTF8.GetBytes($"{withoutProof},p={Convert.ToBase64String(proof)}");
    }

    /// <summary>True when the server's final message ("v=") proves it knows the credentials.</summary>
    public bool VerifyServerFinal(ReadOnlySpan<byte> serverFinal)
    {
        if (_expectedServerSignature is null)
        {
            return false;
        }

        var reader = new Scram.AttributeReader(Encoding.UTF8.GetString(serverFinal));
        return reader.TryRead('v', out ReadOnlySpan<char> signatureText)
            && Scram.TryDecodeBase64(signatureText, out byte[] signature)
            && CryptographicOperations.FixedTimeEquals(signature, _expectedServerSignature);
    }

    private static ScramSaltedPasswordSource SaltedPasswordSourceFor(ScramHash hash, string password)
    {
        string prepared = PreparePassword(password);
        return (salt, iterations) => Scram.SaltedPassword(hash, prepared, salt, iterations);
    }

    private static string PreparePassword(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        return Precis.Precis.TryPreparePassword(password, out string? prepared, out string? error)
            ? prepared
            : throw new ArgumentException("Invalid password: " + error, nameof(password));
    }
}
