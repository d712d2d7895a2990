using System.Security.Cryptography;
using Parley.Protocol.Sasl;

namespace Parley.Storage.Tests;

/// <summary>Random credentials of the right shape; stores never derive keys, so no PBKDF2 is needed here.</summary>
internal static class TestCredentials
{
    public static AccountCredentials Random() =>
        new(Scram(ScramHash.Sha1, 20), Scram(ScramHash.Sha256, 32));

    public static ScramCredentials Scram(ScramHash hash, int keyLength) =>
        new(hash, RandomNumberGenerator.GetBytes(16), 4096, RandomNumberGenerator.GetBytes(keyLength), RandomNumberGenerator.GetBytes(keyLength));

    public static void AssertSame(AccountCredentials expected, AccountCredentials? actual)
    {
        Assert.NotNull(actual);
        AssertSame(expected.Sha1, actual.Sha1);
        AssertSame(expected.Sha256, actual.Sha256);
    }

    private static void AssertSame(ScramCredentials expected, ScramCredentials actual)
    {
        Assert.Equal(expected.Hash, actual.Hash);
        Assert.Equal(expected.Salt, actual.Salt);
        Assert.Equal(expected.Iterations, actual.Iterations);
        Assert.Equal(expected.StoredKey, actual.StoredKey);
        Assert.Equal(expected.ServerKey, actual.ServerKey);
    }
}
