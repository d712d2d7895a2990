namespace Parley.Storage;

/// <summary>
/// A REST API token as stored: its name (what administrators call it, and the audit trail's actor), the public id the
/// token starts with (how a request's token is found), and whether it may only read.
/// </summary>
public sealed record ApiToken(string Name, string Id, bool ReadOnly, DateTimeOffset CreatedAt);

/// <summary>
/// The REST API's tokens. The secret part of a token is never stored: only its SHA-256 hash, as lower-case hex,
/// which the caller computes and compares (in constant time).
/// </summary>
public interface IApiTokenStore
{
    /// <returns>False when a token of that name or id exists already; then nothing is stored.</returns>
    Task<bool> CreateAsync(ApiToken token, string secretHash, CancellationToken cancellationToken = default);

    /// <returns>The token with that id and its secret's hash, or null when there is none (never was, or revoked).</returns>
    Task<(ApiToken Token, string TokenHash)?> FindAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Every token, ordered by name.</summary>
    Task<IReadOnlyList<ApiToken>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes the token: a request that carries it is refused from then on.</summary>
    /// <returns>False when there is no token of that name.</returns>
    Task<bool> RevokeAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>Argument checks both token stores share.</summary>
internal static class ApiTokenArguments
{
    public static void Check(ApiToken token, string secretHash)
    {
        ArgumentNullException.ThrowIfNull(token);
        AdministrationArguments.CheckNotEmpty(token.Name, nameof(token));
        AdministrationArguments.CheckNotEmpty(token.Id, nameof(token));
        AdministrationArguments.CheckNotEmpty(secretHash, nameof(secretHash));
    }
}
