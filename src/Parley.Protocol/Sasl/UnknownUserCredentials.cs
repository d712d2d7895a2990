using System.Security.Cryptography;
using System.Text;

namespace Parley.Protocol.Sasl;

/// <summary>
/// Stand-in credentials for a username that does not exist, so that the exchange looks the same
/// as for a real user (RFC 5802 §5.1 "salt and iteration count") and fails only at the proof.
/// The salt is stable per name within a process, so asking twice does not give the game away.
/// </summary>
internal static class UnknownUserCredentials
{
    private static readonly byte[] s_processKey = RandomNumberGenerator.GetBytes(32);

    public static ScramCredentials For(string username, ScramHash hash)
    {
        int hashLength = Scram.HashLength(hash);
        return new ScramCredentials(
            hash,
            Derive("salt", username, hash, ScramCredentialFactory.SaltLength),
            ScramCredentialFactory.DefaultIterations,
            Derive("stored-key", username, hash, hashLength),
            Derive("server-key", username, hash, hashLength));
    }

    private static byte[] Derive(string purpose, string username, ScramHash hash, int length) =>
        HMACSHA256.HashData(s_processKey, Encoding.UTF8.GetBytes($"{purpose}\0{hash}\0{username}"))[..length];
}
