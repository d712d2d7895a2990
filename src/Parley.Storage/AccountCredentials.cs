using Parley.Protocol.Sasl;

namespace Parley.Storage;

/// <summary>
/// Everything stored to authenticate an account: its SCRAM credentials for both hashes Parley offers.
/// There is deliberately no password here: a store never sees one.
/// </summary>
public sealed record AccountCredentials(ScramCredentials Sha1, ScramCredentials Sha256)
{
    /// <summary>
    /// The account is disabled (<see cref="IAccountStore.SetDisabledAsync"/>). Read with the credentials so that
    /// sign-in needs one lookup, and told to a client only once it has proved the password.
    /// </summary>
    public bool Disabled { get; init; }
}
