namespace Parley.Storage;

/// <summary>
/// Accounts and their SCRAM credentials. JIDs are bare JIDs ("localpart@domain") that the caller has already
/// prepared (normalized); the store compares them byte for byte and never normalizes them itself.
/// </summary>
public interface IAccountStore
{
    Task<CreateAccountResult> CreateAsync(string bareJid, AccountCredentials credentials, CancellationToken cancellationToken = default);

    /// <returns>The credentials, or null when there is no such account.</returns>
    Task<AccountCredentials?> GetCredentialsAsync(string bareJid, CancellationToken cancellationToken = default);

    /// <returns>False when there is no such account.</returns>
    Task<bool> SetCredentialsAsync(string bareJid, AccountCredentials credentials, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the account and all of its data (roster, pending requests, offline messages, blocklist, documents,
    /// PEP, archive) and, in the same transaction, the <paramref name="references"/> to it that the caller chose.
    /// </summary>
    /// <returns>False when there is no such account; then nothing is deleted.</returns>
    Task<bool> DeleteAsync(string bareJid, AccountReferences references, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string bareJid, CancellationToken cancellationToken = default);

    /// <summary>Disables the account (it keeps its data and cannot sign in) or enables it again.</summary>
    /// <returns>False when there is no such account.</returns>
    Task<bool> SetDisabledAsync(string bareJid, bool disabled, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the name administrators know the account by, or clears it (null). At most
    /// <see cref="AccountInfo.MaxDisplayNameLength"/> characters, without control characters.
    /// </summary>
    /// <returns>False when there is no such account.</returns>
    Task<bool> SetDisplayNameAsync(string bareJid, string? displayName, CancellationToken cancellationToken = default);

    /// <returns>The account as listed, or null when there is no such account.</returns>
    Task<AccountInfo?> GetAsync(string bareJid, CancellationToken cancellationToken = default);

    /// <summary>
    /// A page of the accounts whose JID or display name contains <paramref name="text"/> in any case, ordered by JID.
    /// The text is plain: nothing in it is a pattern (% and _ are found as themselves).
    /// </summary>
    Task<IReadOnlyList<AccountInfo>> SearchAsync(string text, int offset, int limit, CancellationToken cancellationToken = default);

    /// <summary>How many accounts <see cref="SearchAsync"/> finds for <paramref name="text"/>.</summary>
    Task<int> CountFoundAsync(string text, CancellationToken cancellationToken = default);

    /// <summary>A page of accounts ordered by JID (ordinal), optionally only those of one domain.</summary>
    /// <param name="domain">The domain to list, or null for all domains.</param>
    Task<IReadOnlyList<AccountInfo>> ListAsync(string? domain, int offset, int limit, CancellationToken cancellationToken = default);

    /// <param name="domain">The domain to count, or null for all domains.</param>
    Task<int> CountAsync(string? domain, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates many accounts quickly, in batched transactions. Accounts that already exist are left untouched and
    /// counted. If the import fails or is canceled, the batches written before stay written.
    /// </summary>
    Task<ImportResult> ImportAsync(IAsyncEnumerable<(string BareJid, AccountCredentials Credentials)> accounts, CancellationToken cancellationToken = default);
}

/// <summary>What other users hold of an account that its deletion also ends (<see cref="IAccountStore.DeleteAsync"/>).</summary>
[Flags]
public enum AccountReferences
{
    None = 0,

    /// <summary>
    /// Other users keep the account on their rosters with no subscription, no pending subscription to it and no
    /// pre-approval (their roster version moves on), and its requests to them are gone.
    /// </summary>
    Subscriptions = 1,

    /// <summary>Its affiliations with rooms (owner, admin, member, outcast).</summary>
    RoomAffiliations = 2,
}
