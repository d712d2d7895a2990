namespace Parley.Storage;

/// <summary>
/// The accounts that belong to people of an LDAP directory, kept apart from <see cref="IAccountStore"/>: a directory
/// person's password lives in the directory (checked by a bind), while accounts hold SCRAM credentials. Tells a
/// directory account from a local one (administrators, bots) also while the directory cannot be reached.
/// </summary>
public interface IDirectoryUserStore
{
    Task<DirectoryUserRecord?> GetAsync(string bareJid, CancellationToken cancellationToken = default);

    /// <summary>Every directory account, by JID.</summary>
    Task<IReadOnlyList<DirectoryUserRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds the record, or replaces the one with its JID.</summary>
    Task SetAsync(DirectoryUserRecord record, CancellationToken cancellationToken = default);

    /// <returns>False when there was no record for <paramref name="bareJid"/>.</returns>
    Task<bool> DeleteAsync(string bareJid, CancellationToken cancellationToken = default);
}

/// <param name="BareJid">The account.</param>
/// <param name="Dn">The person's distinguished name as the directory last gave it.</param>
/// <param name="Fingerprint">A hash of the synced attributes: unchanged people cost the sync no writes.</param>
/// <param name="MissingSince">When the sync first found the person gone from the directory; null while present.</param>
public sealed record DirectoryUserRecord(string BareJid, string Dn, string Fingerprint, DateTimeOffset? MissingSince);
