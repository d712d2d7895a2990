namespace Parley.Storage;

/// <summary>
/// Accounts given the admin role in the database (<c>parley admin grant</c>); the node adds those listed in
/// Parley:Admins. Bare JIDs, prepared by the caller and compared byte for byte. No link to the accounts table:
/// an account authenticated by a directory has none.
/// </summary>
public interface IAdminStore
{
    /// <returns>False when the account had the role already.</returns>
    Task<bool> GrantAsync(string bareJid, CancellationToken cancellationToken = default);

    /// <returns>False when the account did not have the role.</returns>
    Task<bool> RevokeAsync(string bareJid, CancellationToken cancellationToken = default);

    Task<bool> IsAdminAsync(string bareJid, CancellationToken cancellationToken = default);

    /// <summary>Every account granted the role, ordered by JID.</summary>
    Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// One administrative change: who made it (an admin's bare JID, or the operating-system user of the CLI), when, from
/// where (the client's IP address, or "cli"), what was done (e.g. "account.create") to what (a JID), and details
/// that say what changed — never a password.
/// </summary>
public sealed record AuditRecord(long Id, DateTimeOffset At, string Actor, string Origin, string Action, string Subject, string Details);

/// <summary>
/// What an administrator looks for in the audit trail; a null field does not filter. <see cref="Since"/>: at or after
/// that time; <see cref="Actor"/>: exactly that actor; <see cref="Action"/>: actions containing that text, in any case
/// (plain text: SQL wildcards are found as themselves).
/// </summary>
public sealed record AuditSearch(DateTimeOffset? Since = null, string? Actor = null, string? Action = null);

/// <summary>The audit trail of administrative changes, kept in the database for the configured time.</summary>
public interface IAuditStore
{
    /// <summary>Records a change made now; returns its id (ids only grow).</summary>
    Task<long> AppendAsync(string actor, string origin, string action, string subject, string details, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records oldest first: those at or after <paramref name="since"/> (when given) by <paramref name="actor"/>
    /// (when given, compared exactly), at most <paramref name="max"/>.
    /// </summary>
    Task<IReadOnlyList<AuditRecord>> ListAsync(DateTimeOffset? since, string? actor, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records newest first: those <paramref name="search"/> finds, with an id below <paramref name="before"/> when
    /// given (the next page after a page that ended with that id), at most <paramref name="max"/>.
    /// </summary>
    Task<IReadOnlyList<AuditRecord>> ListNewestFirstAsync(AuditSearch search, long? before, int max, CancellationToken cancellationToken = default);

    /// <summary>Deletes the records made before <paramref name="cutoff"/>; returns how many went.</summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default);
}

/// <summary>
/// Server-wide settings an administrator changes while the node runs (the login banner), by name. A value is any
/// text, stored as given.
/// </summary>
public interface IServerSettingStore
{
    /// <returns>The value, or null when the setting is not set.</returns>
    Task<string?> GetAsync(string name, CancellationToken cancellationToken = default);

    Task SetAsync(string name, string value, CancellationToken cancellationToken = default);

    /// <returns>False when the setting was not set.</returns>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>The names of the server settings.</summary>
public static class ServerSettings
{
    /// <summary>The login banner, which XMPP clients also get as the message of the day.</summary>
    public const string Banner = "banner";

    /// <summary>The most contacts a user's roster may hold (0: no limit); overrides Parley:Limits:MaxRosterItems.</summary>
    public const string MaxContacts = "max-contacts";

    /// <summary>Days archived messages are kept (0: forever); overrides Parley:Archive:RetentionDays.</summary>
    public const string ArchiveRetentionDays = "archive-retention-days";

    /// <summary>Whether anyone may create an account in-band; overrides Parley:Registration:AllowRegistration.</summary>
    public const string Registration = "registration";
}

/// <summary>Argument checks the administration stores share.</summary>
internal static class AdministrationArguments
{
    public static void CheckNotEmpty(string value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        if (value.Length == 0)
        {
            throw new ArgumentException("The value is empty.", paramName);
        }
    }
}
