using System.Collections.Concurrent;
using Parley.Protocol.Sasl;

namespace Parley.LoadGen;

/// <summary>
/// SCRAM SaltedPassword per (salt, iterations): PBKDF2 costs the client milliseconds, so the generator computes it
/// once per distinct salt instead of once per login and keeps its CPU for the logins themselves.
/// </summary>
internal sealed class SaltedPasswordCache(ScramHash hash, string password)
{
    private readonly ConcurrentDictionary<(string Salt, int Iterations), byte[]> _saltedPasswords = new();

    public ScramSaltedPasswordSource Source => Get;

    private byte[] Get(byte[] salt, int iterations)
    {
        var saltedPassword = _saltedPasswords.GetOrAdd(
            (Convert.ToBase64String(salt), iterations),
            static (_, state) => ScramClient.SaltedPassword(state.Hash, state.Password, state.Salt, state.Iterations),
            (Hash: hash, Password: password, Salt: salt, Iterations: iterations));
        // A copy, so that a caller that wipes its key after use cannot wipe the cached one.
        return (byte[])saltedPassword.Clone();
    }
}
