using System.Security.Cryptography;
using System.Text;

namespace Parley.Protocol.Sasl;

/// <summary>The SCRAM functions of RFC 5802 §3 and the message syntax of §7, shared by client and server.</summary>
internal static class Scram
{
    private static readonly byte[] s_clientKeyLabel = "Client Key"u8.ToArray();
    private static readonly byte[] s_serverKeyLabel = "Server Key"u8.ToArray();

    public static string MechanismName(ScramHash hash, bool plus) => (hash, plus) switch
    {
        (ScramHash.Sha1, false) => "SCRAM-SHA-1",
        (ScramHash.Sha1, true) => "SCRAM-SHA-1-PLUS",
        (ScramHash.Sha256, false) => "SCRAM-SHA-256",
        (ScramHash.Sha256, true) => "SCRAM-SHA-256-PLUS",
        _ => throw new ArgumentOutOfRangeException(nameof(hash), hash, "unknown SCRAM hash"),
    };

    public static int HashLength(ScramHash hash) => hash == ScramHash.Sha1 ? SHA1.HashSizeInBytes : SHA256.HashSizeInBytes;

    public static byte[] Hmac(ScramHash hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) =>
        hash == ScramHash.Sha1 ? HMACSHA1.HashData(key, data) : HMACSHA256.HashData(key, data);

    public static byte[] Hash(ScramHash hash, ReadOnlySpan<byte> data) =>
        hash == ScramHash.Sha1 ? SHA1.HashData(data) : SHA256.HashData(data);

    /// <summary>Hi(Normalize(password), salt, i) of RFC 5802 §3, for an already prepared password.</summary>
    public static byte[] SaltedPassword(ScramHash hash, string preparedPassword, ReadOnlySpan<byte> salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(
            preparedPassword,
            salt,
            iterations,
            hash == ScramHash.Sha1 ? HashAlgorithmName.SHA1 : HashAlgorithmName.SHA256,
            HashLength(hash));

    public static byte[] ClientKey(ScramHash hash, ReadOnlySpan<byte> saltedPassword) => Hmac(hash, saltedPassword, s_clientKeyLabel);

    public static byte[] ServerKey(ScramHash hash, ReadOnlySpan<byte> saltedPassword) => Hmac(hash, saltedPassword, s_serverKeyLabel);

    /// <summary>ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage), in place of the signature.</summary>
    public static void Xor(Span<byte> target, ReadOnlySpan<byte> other)
    {
        for (int index = 0; index < target.Length; index++)
        {
            target[index] ^= other[index];
        }
    }

    /// <summary>AuthMessage = client-first-message-bare "," server-first-message "," client-final-message-without-proof.</summary>
    public static byte[] AuthMessage(string clientFirstBare, string serverFirst, string clientFinalWithoutProof) =>
        Encoding.UTF8.GetBytes(string.Concat(clientFirstBare, ",", serverFirst, ",", clientFinalWithoutProof));

    /// <summary>saslname escaping: ',' is sent as "=2C" and '=' as "=3D".</summary>
    public static string EscapeSaslName(string name) => name.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);

    /// <summary>Reverses <see cref="EscapeSaslName"/>; any other use of '=' is malformed.</summary>
    public static bool TryUnescapeSaslName(ReadOnlySpan<char> escaped, out string name)
    {
        name = "";
        if (escaped.IsEmpty)
        {
            return false;
        }

        var builder = new StringBuilder(escaped.Length);
        for (int index = 0; index < escaped.Length; index++)
        {
            if (escaped[index] != '=')
            {
                builder.Append(escaped[index]);
                continue;
            }

            ReadOnlySpan<char> code = escaped.Length - index >= 3 ? escaped.Slice(index + 1, 2) : [];
            if (code.SequenceEqual("2C"))
            {
                builder.Append(',');
            }
            else if (code.SequenceEqual("3D"))
            {
                builder.Append('=');
            }
            else
            {
                return false;
            }

            index += 2;
        }

        name = builder.ToString();
        return true;
    }

    /// <summary>c-nonce / nonce: printable ASCII except ',' (RFC 5802 §7).</summary>
    public static bool IsValidNonce(ReadOnlySpan<char> nonce) =>
        !nonce.IsEmpty && !nonce.ContainsAnyExceptInRange('!', '~') && !nonce.Contains(',');

    public static bool TryDecodeBase64(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = new byte[text.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(text, bytes, out int written) || written == 0)
        {
            bytes = [];
            return false;
        }

        bytes = bytes.AsSpan(0, written).ToArray();
        return true;
    }

    /// <summary>Reads "x=value" attributes separated by ',' from a SCRAM message.</summary>
    public ref struct AttributeReader(ReadOnlySpan<char> message)
    {
        private ReadOnlySpan<char> _remaining = message;
        private bool _done = message.IsEmpty;

        public readonly bool AtEnd => _done;

        /// <summary>Reads the next attribute; false when there is none or it is not of the form "x=...".</summary>
        public bool TryRead(out char name, out ReadOnlySpan<char> value)
        {
            name = '\0';
            value = [];
            if (_done)
            {
                return false;
            }

            int comma = _remaining.IndexOf(',');
            ReadOnlySpan<char> attribute = comma >= 0 ? _remaining[..comma] : _remaining;
            _remaining = comma >= 0 ? _remaining[(comma + 1)..] : [];
            _done = comma < 0;
            if (attribute.Length < 2 || !char.IsAsciiLetter(attribute[0]) || attribute[1] != '=')
            {
                return false;
            }

            name = attribute[0];
            value = attribute[2..];
            return true;
        }

        /// <summary>Reads an attribute that must be <paramref name="expectedName"/>.</summary>
        public bool TryRead(char expectedName, out ReadOnlySpan<char> value) => TryRead(out char name, out value) && name == expectedName;

        /// <summary>Skips extension attributes (RFC 5802 §7 "extensions"), which this implementation does not use.</summary>
        public bool TrySkipExtensions()
        {
            while (!_done)
            {
                if (!TryRead(out char name, out _) || name == 'm')
                {
                    return false;
                }
            }

            return true;
        }
    }
}
