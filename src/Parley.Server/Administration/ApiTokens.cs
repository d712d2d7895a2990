using System.Security.Cryptography;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// The REST API's tokens: created (the token is shown once), listed, revoked, and checked on every request. A token is
/// <c>parley_ID_SECRET</c>: a public id (how it is found) and 256 random bits of secret, of which only the SHA-256 hash is
/// stored and compared in constant time. Read from the database at every request, so a token the CLI revokes is
/// refused by a running node at once.
/// </summary>
public sealed class ApiTokens(IParleyStorage storage, AdminActor? actor = null)
{
    public const string Prefix = "parley_";
    public const int MaxNameLength = 64;
    private const int IdBytes = 8;
    private const int SecretBytes = 32;

    /// <summary>The same service, recording each change it makes as done by <paramref name="by"/>.</summary>
    public ApiTokens By(AdminActor by) => new(storage, by);

    /// <summary>Why <paramref name="name"/> cannot name a token (letters, digits, '.', '-' and '_', at most 64), or null.</summary>
    public static string? NameProblem(string name)
    {
        if (name.Length is 0 or > MaxNameLength)
        {
            return $"A token's name has 1 to {MaxNameLength} characters.";
        }
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '-' or '_'))
            {
                return $"'{name}' is not a token name: use letters, digits, '.', '-' and '_'.";
            }
        }
        return null;
    }

    /// <summary>The actor the audit trail names for changes made with <paramref name="token"/>.</summary>
    public static string ActorName(ApiToken token) => "token:" + token.Name;

    /// <returns>The result, and the token itself when it was created: the only time it is seen.</returns>
    public async Task<(AdministrationResult Result, string? Token)> CreateAsync(string name, bool readOnly, CancellationToken cancellationToken = default)
    {
        if (NameProblem(name) is { } problem)
        {
            return (AdministrationResult.Refused(problem), null);
        }
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdBytes));
        var secret = RandomNumberGenerator.GetBytes(SecretBytes);
        if (!await storage.ApiTokens.CreateAsync(new ApiToken(name, id, readOnly, DateTimeOffset.UtcNow), Hash(secret), cancellationToken).ConfigureAwait(false))
        {
            return (AdministrationResult.AlreadyExists, null);
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.TokenCreate, name, readOnly ? "read-only" : "read-write", cancellationToken).ConfigureAwait(false);
        return (AdministrationResult.Done, $"{Prefix}{id}_{Convert.ToHexStringLower(secret)}");
    }

    /// <returns><see cref="AdministrationOutcome.NotFound"/> when there is no token of that name.</returns>
    public async Task<AdministrationResult> RevokeAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!await storage.ApiTokens.RevokeAsync(name, cancellationToken).ConfigureAwait(false))
        {
            return AdministrationResult.NotFound;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.TokenRevoke, name, "", cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    public Task<IReadOnlyList<ApiToken>> ListAsync(CancellationToken cancellationToken = default) => storage.ApiTokens.ListAsync(cancellationToken);

    /// <returns>The token <paramref name="presented"/> is, or null when it is malformed, unknown, revoked or its secret is wrong.</returns>
    public async Task<ApiToken?> AuthenticateAsync(string presented, CancellationToken cancellationToken = default)
    {
        if (!TryParse(presented, out var id, out var secret)
            || await storage.ApiTokens.FindAsync(id, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return null;
        }
        var expected = Convert.FromHexString(stored.TokenHash);
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(secret), expected) ? stored.Token : null;
    }

    private static string Hash(byte[] secret) => Convert.ToHexStringLower(SHA256.HashData(secret));

    private static bool TryParse(string presented, out string id, out byte[] secret)
    {
        id = "";
        secret = [];
        var body = presented.AsSpan();
        const int idChars = IdBytes * 2;
        if (!body.StartsWith(Prefix, StringComparison.Ordinal) || body.Length != Prefix.Length + idChars + 1 + SecretBytes * 2 || body[Prefix.Length + idChars] != '_')
        {
            return false;
        }
        var idPart = body.Slice(Prefix.Length, idChars);
        var secretPart = body[(Prefix.Length + idChars + 1)..];
        if (!IsLowerHex(idPart) || !IsLowerHex(secretPart))
        {
            return false;
        }
        id = idPart.ToString();
        secret = Convert.FromHexString(secretPart);
        return true;
    }

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }
        return true;
    }
}
