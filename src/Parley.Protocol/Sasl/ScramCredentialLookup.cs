namespace Parley.Protocol.Sasl;

/// <summary>Finds a user's stored SCRAM credentials for one hash; null when there is no such user.</summary>
/// <param name="username">The prepared username (UsernameCaseMapped).</param>
public delegate ValueTask<ScramCredentials?> ScramCredentialLookup(string username, ScramHash hash, CancellationToken cancellationToken);
