using System.Security.Cryptography;

namespace Parley.Protocol.Sasl;

/// <summary>Turns a password into the SCRAM credentials the server stores (RFC 5802 §3).</summary>
public static class ScramCredentialFactory
{
    /// <summary>The iteration count RFC 7677 §4 asks for at least.</summary>
    public const int DefaultIterations = 4096;

    public const int SaltLength = 16;

    /// <exception cref="ArgumentException">The password is not a valid OpaqueString (e.g. empty or with control characters).</exception>
    public static ScramCredentials Derive(ScramHash hash, string password, byte[] salt, int iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentOutOfRangeException.ThrowIfLessThan(salt.Length, 1, nameof(salt));
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (!Precis.Precis.TryPreparePassword(password, out string? prepared, out string? error))
        {
            throw new ArgumentException("Invalid password: " + error, nameof(password));
        }

        byte[] saltedPassword = Scram.SaltedPassword(hash, prepared, salt, iterations);
        byte[] storedKey = Scram.Hash(hash, Scram.ClientKey(hash, saltedPassword));
        byte[] serverKey = Scram.ServerKey(hash, saltedPassword);
        CryptographicOperations.ZeroMemory(saltedPassword);
        return new ScramCredentials(hash, salt.ToArray(), iterations, storedKey, serverKey);
    }

    /// <summary>
    /// Credentials that no password matches, for an account whose password is checked elsewhere (a directory):
    /// random keys are as unguessable as those of a random password, without the PBKDF2 work of deriving them.
    /// </summary>
    public static ScramCredentials Unusable(ScramHash hash, int iterations = DefaultIterations) =>
        new(hash, RandomNumberGenerator.GetBytes(SaltLength), iterations,
            RandomNumberGenerator.GetBytes(Scram.HashLength(hash)), RandomNumberGenerator.GetBytes(Scram.HashLength(hash)));

    /// <summary>Derives credentials with a fresh random 16-byte salt.</summary>
    public static ScramCredentials Create(ScramHash hash, string password, int iterations = DefaultIterations) =>
        Derive(hash, password, RandomNumberGenerator.GetBytes(SaltLength), iterations);
}
