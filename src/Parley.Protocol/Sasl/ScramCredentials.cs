namespace Parley.Protocol.Sasl;

/// <summary>The SCRAM hash functions Parley stores credentials for.</summary>
public enum ScramHash
{
    Sha1,
    Sha256,
}

/// <summary>
/// What the server keeps of a password for one SCRAM hash (RFC 5802 §3): enough to verify a
/// client proof, never enough to recover the password or to log in as the user.
/// </summary>
public sealed record ScramCredentials(ScramHash Hash, byte[] Salt, int Iterations, byte[] StoredKey, byte[] ServerKey);
