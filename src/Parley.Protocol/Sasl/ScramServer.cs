using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace Parley.Protocol.Sasl;

/// <summary>
/// The server side of SCRAM-SHA-1 and SCRAM-SHA-256, with or without channel binding
/// (RFC 5802, RFC 7677). One instance serves one exchange.
/// </summary>
public sealed class ScramServer : ISaslServerMechanism
{
    private const int ServerNonceBytes = 24;

    private readonly ScramHash _hash;
    private readonly bool _plus;
    private readonly ScramCredentialLookup _lookup;
    private readonly ChannelBindingProvider? _channelBinding;
    private readonly bool _serverOffersPlus;
    private readonly string? _fixedServerNonce;

    private State _state;
    private bool _sentEmptyChallenge;
    private byte[] _expectedChannelBinding = [];
    private string _clientFirstBare = "";
    private string _serverFirst = "";
    private string _nonce = "";
    private string? _username;
    private string? _authorizationId;
    private ScramCredentials? _credentials;
    private bool _userExists;

    /// <param name="plus">Whether this is the -PLUS variant, which requires channel binding.</param>
    /// <param name="channelBinding">The TLS connection's channel binding data; null without TLS.</param>
    /// <param name="serverOffersPlus">Whether the server advertised any -PLUS mechanism, so that a client
    /// saying "y" (it supports channel binding but thinks the server does not) reveals a downgrade.</param>
    public ScramServer(ScramHash hash, bool plus, ScramCredentialLookup lookup, ChannelBindingProvider? channelBinding, bool serverOffersPlus)
        : this(hash, plus, lookup, channelBinding, serverOffersPlus, fixedServerNonce: null)
    {
    }

    /// <param name="fixedServerNonce">Replaces the random server nonce, for the RFC test vectors.</param>
    internal ScramServer(ScramHash hash, bool plus, ScramCredentialLookup lookup, ChannelBindingProvider? channelBinding, bool serverOffersPlus, string? fixedServerNonce)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        Name = Scram.MechanismName(hash, plus);
        _hash = hash;
        _plus = plus;
        _lookup = lookup;
        _channelBinding = channelBinding;
        _serverOffersPlus = serverOffersPlus;
        _fixedServerNonce = fixedServerNonce;
    }

    private enum State
    {
        AwaitingClientFirst,
        AwaitingClientFinal,
        Finished,
    }

    public string Name { get; }

    public string? AuthenticatedUser { get; private set; }

    public string? AuthorizationId => _authorizationId;

    public async ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte> clientResponse, CancellationToken cancellationToken)
    {
        if (_state == State.Finished)
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The authentication exchange has already finished.");
        }

        // RFC 6120 §6.4.2: a client without an initial response gets an empty challenge, once.
        if (_state == State.AwaitingClientFirst && clientResponse.IsEmpty && !_sentEmptyChallenge)
        {
            _sentEmptyChallenge = true;
            return SaslStep.Challenge([]);
        }

        SaslStep step;
        if (!Utf8.IsValid(clientResponse.Span))
        {
            step = SaslStep.Failure(SaslCondition.MalformedRequest, "The SCRAM message is not valid UTF-8.");
        }
        else if (_state == State.AwaitingClientFirst)
        {
            step = await ReceiveClientFirstAsync(Encoding.UTF8.GetString(clientResponse.Span), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            step = ReceiveClientFinal(Encoding.UTF8.GetString(clientResponse.Span));
        }

        _state = step.Outcome == SaslOutcome.Challenge ? State.AwaitingClientFinal : State.Finished;
        return step;
    }

    // client-first-message = gs2-header client-first-message-bare (RFC 5802 §7).
    private async ValueTask<SaslStep> ReceiveClientFirstAsync(string message, CancellationToken cancellationToken)
    {
        if (!TryReadGs2Header(message, out int headerLength, out char flag, out string? cbType, out string? authorizationId, out string? error))
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, error);
        }

        string clientFirstBare = message[headerLength..];
        var reader = new Scram.AttributeReader(clientFirstBare);
        if (clientFirstBare.StartsWith("m=", StringComparison.Ordinal))
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "Mandatory SCRAM extensions are not supported.");
        }

        if (!reader.TryRead('n', out ReadOnlySpan<char> escapedUsername) || !Scram.TryUnescapeSaslName(escapedUsername, out string username))
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The username is missing or wrongly escaped.");
        }

        if (!reader.TryRead('r', out ReadOnlySpan<char> clientNonceSpan) || !Scram.IsValidNonce(clientNonceSpan))
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The client nonce is missing or not printable ASCII.");
        }

        string clientNonce = clientNonceSpan.ToString();

        if (!reader.TrySkipExtensions())
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The client-first message has a malformed attribute.");
        }

        // A name that cannot be prepared cannot belong to anyone: it takes the unknown-user path.
        ScramCredentials? credentials = null;
        if (Precis.Precis.TryPrepareLocalpart(username, out string? preparedUsername, out _))
        {
            credentials = await _lookup(preparedUsername, _hash, cancellationToken).ConfigureAwait(false);
        }

        // Checked after the lookup, so that the caller knows whose login a refused channel binding was.
        SaslStep? refusal = CheckChannelBindingPolicy(flag, cbType, message.AsSpan(0, headerLength));
        if (refusal is not null)
        {
            return refusal.Value;
        }

        _userExists = credentials is not null && credentials.Hash == _hash;
        _credentials = _userExists ? credentials : UnknownUserCredentials.For(preparedUsername ?? username, _hash);
        _username = preparedUsername;
        _authorizationId = authorizationId;
        _clientFirstBare = clientFirstBare;
        _nonce = string.Concat(clientNonce, _fixedServerNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(ServerNonceBytes)));
        _serverFirst = $"r={_nonce},s={Convert.ToBase64String(_credentials!.Salt)},i={_credentials.Iterations}";
        return SaslStep.Challenge(Encoding.UTF8.GetBytes(_serverFirst));
    }

    // gs2-header = gs2-cbind-flag "," [ authzid ] ","  with  gs2-cbind-flag = ("p=" cb-name) / "n" / "y".
    private static bool TryReadGs2Header(string message, out int headerLength, out char flag, out string? cbType, out string? authorizationId, [NotNullWhen(false)] out string? error)
    {
        headerLength = 0;
        flag = '\0';
        cbType = null;
        authorizationId = null;
        int firstComma = message.IndexOf(',');
        int secondComma = firstComma >= 0 ? message.IndexOf(',', firstComma + 1) : -1;
        if (secondComma < 0)
        {
            error = "The GS2 header is missing.";
            return false;
        }

        ReadOnlySpan<char> cbindFlag = message.AsSpan(0, firstComma);
        if (cbindFlag is "n" or "y")
        {
            flag = cbindFlag[0];
        }
        else if (cbindFlag.StartsWith("p=") && cbindFlag.Length > 2 && !cbindFlag[2..].ContainsAnyExcept(ChannelBindingNameCharacters))
        {
            flag = 'p';
            cbType = cbindFlag[2..].ToString();
        }
        else
        {
            error = "The GS2 channel binding flag must be 'n', 'y' or 'p=<type>'.";
            return false;
        }

        ReadOnlySpan<char> authzid = message.AsSpan(firstComma + 1, secondComma - firstComma - 1);
        if (!authzid.IsEmpty)
        {
            if (!authzid.StartsWith("a=") || !Scram.TryUnescapeSaslName(authzid[2..], out string name))
            {
                error = "The authorization identity is malformed.";
                return false;
            }

            authorizationId = name;
        }

        headerLength = secondComma + 1;
        error = null;
        return true;
    }

    private const string ChannelBindingNameCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-";

    // RFC 5802 §6: the -PLUS variants require "p"; the plain ones accept "n", and "y" unless the
    // server offered -PLUS, in which case someone removed it on the way (a downgrade attack).
    private SaslStep? CheckChannelBindingPolicy(char flag, string? cbType, ReadOnlySpan<char> gs2Header)
    {
        byte[] header = Encoding.UTF8.GetBytes(gs2Header.ToString());
        if (_plus)
        {
            if (flag != 'p')
            {
                return SaslStep.Failure(SaslCondition.MalformedRequest, $"{Name} requires channel binding ('p=<type>').");
            }

            byte[]? cbData = _channelBinding?.Invoke(cbType!);
            if (cbData is null)
            {
                return SaslStep.Failure(SaslCondition.NotAuthorized, $"Channel binding type '{cbType}' is not supported on this connection.");
            }

            _expectedChannelBinding = [.. header, .. cbData];
            return null;
        }

        if (flag == 'p')
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, $"{Name} does not use channel binding; use {Name}-PLUS.");
        }

        if (flag == 'y' && _serverOffersPlus)
        {
            return SaslStep.Failure(SaslCondition.NotAuthorized, "The client supports channel binding and the server offered it: possible downgrade attack.");
        }

        _expectedChannelBinding = header;
        return null;
    }

    // client-final-message = channel-binding "," nonce ["," extensions] "," proof (RFC 5802 §7).
    private SaslStep ReceiveClientFinal(string message)
    {
        int proofStart = message.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofStart < 0)
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The client proof is missing.");
        }

        string withoutProof = message[..proofStart];
        var reader = new Scram.AttributeReader(withoutProof);
        if (!reader.TryRead('c', out ReadOnlySpan<char> channelBinding) || !Scram.TryDecodeBase64(channelBinding, out byte[] channelBindingBytes))
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The channel binding attribute is missing or not base64.");
        }

        if (!reader.TryRead('r', out ReadOnlySpan<char> nonce) || !reader.TrySkipExtensions())
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The client-final message is malformed.");
        }

        if (!channelBindingBytes.AsSpan().SequenceEqual(_expectedChannelBinding))
        {
            return SaslStep.Failure(SaslCondition.NotAuthorized, "The channel binding data does not match this connection.");
        }

        if (!nonce.SequenceEqual(_nonce))
        {
            return SaslStep.Failure(SaslCondition.NotAuthorized, "The nonce does not match the one the server sent.");
        }

        ScramCredentials credentials = _credentials!;
        if (!Scram.TryDecodeBase64(message.AsSpan(proofStart + 3), out byte[] proof) || proof.Length != Scram.HashLength(_hash))
        {
            return SaslStep.Failure(SaslCondition.MalformedRequest, "The client proof is not a base64 hash value.");
        }

        // ClientKey = ClientProof XOR ClientSignature; the proof holds when H(ClientKey) = StoredKey.
        byte[] authMessage = Scram.AuthMessage(_clientFirstBare, _serverFirst, withoutProof);
        byte[] clientKey = proof;
        Scram.Xor(clientKey, Scram.Hmac(_hash, credentials.StoredKey, authMessage));
        bool proofMatches = CryptographicOperations.FixedTimeEquals(Scram.Hash(_hash, clientKey), credentials.StoredKey);
        if (!proofMatches || !_userExists)
        {
            return SaslStep.WrongCredentials();
        }

        AuthenticatedUser = _username;
        byte[] serverSignature = Scram.Hmac(_hash, credentials.ServerKey, authMessage);
        return SaslStep.Success(Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature)));
    }
}
