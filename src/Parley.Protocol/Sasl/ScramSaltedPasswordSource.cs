namespace Parley.Protocol.Sasl;

/// <summary>
/// Gives <see cref="ScramClient"/> the SaltedPassword for the salt and iteration count the server
/// sent, so a load generator can compute PBKDF2 once per account instead of once per login.
/// </summary>
public delegate byte[] ScramSaltedPasswordSource(byte[] salt, int iterations);
