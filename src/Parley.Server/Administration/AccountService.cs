using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Server.Auth;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// Creating accounts, changing their passwords and removing them: the one place each happens, whoever asks
/// (`parley user`, in-band registration, XEP-0133; later the REST API and the console). With an actor
/// (<see cref="By"/>) each change is also recorded in the audit trail.
/// </summary>
public sealed class AccountService(IParleyStorage storage, ParleyOptions options, IAdministrationEvents events, AdminActor? actor = null)
{
    /// <summary>The same service, recording each change it makes as done by <paramref name="by"/>.</summary>
    public AccountService By(AdminActor by) => new(storage, options, events, by);

    /// <summary>
    /// What removing an account means besides its own data going: other users keep it on their rosters but no
    /// subscription with it, and it keeps no room affiliation — so that a new account of the same name inherits
    /// neither. Deleted in the account's own transaction for that reason: never one without the other.
    /// </summary>
    public const AccountReferences RemovalEnds = AccountReferences.Subscriptions | AccountReferences.RoomAffiliations;

    /// <summary>Why <paramref name="account"/> cannot be created here (not user@domain, or a domain not served), or null.</summary>
    public static string? NewAccountProblem(Jid account, IReadOnlyList<string> servedDomains)
    {
        if (account.Local is null || !account.IsBare)
        {
            return $"'{account}' is not an account JID: write it as user@domain, without a resource.";
        }
        return servedDomains.Contains(account.Domain)
            ? null
            : $"'{account}' is not in a domain this node serves ({string.Join(", ", servedDomains)}).";
    }

    /// <summary>Why the password policy refuses <paramref name="password"/>, without repeating it; null when it may be used.</summary>
    public string? PasswordProblem(string password) =>
        PasswordPolicy.TryPrepare(password, options.Auth.MinPasswordLength, out _, out var error) ? null : error;

    /// <summary>The SCRAM-SHA-1 and SCRAM-SHA-256 credentials for a prepared password; slow on purpose (PBKDF2).</summary>
    public static AccountCredentials CreateCredentials(string preparedPassword, int iterations) => new(
        ScramCredentialFactory.Create(ScramHash.Sha1, preparedPassword, iterations),
        ScramCredentialFactory.Create(ScramHash.Sha256, preparedPassword, iterations));

    public async Task<AdministrationResult> CreateAsync(Jid account, string password, CancellationToken cancellationToken = default)
    {
        if (NewAccountProblem(account, options.EffectiveDomains) is { } problem)
        {
            return AdministrationResult.Refused(problem);
        }
        if (!TryCredentials(password, out var credentials, out var passwordProblem))
        {
            return AdministrationResult.Refused(passwordProblem);
        }
        return await CreateAsync(account, credentials, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AdministrationResult> CreateAsync(Jid account, AccountCredentials credentials, CancellationToken cancellationToken)
    {
        if (await storage.Accounts.CreateAsync(account.ToString(), credentials, cancellationToken).ConfigureAwait(false) != CreateAccountResult.Created)
        {
            return AdministrationResult.AlreadyExists;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.AccountCreate, account.ToString(), "", cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    /// <summary>
    /// An account that signs in with a password checked elsewhere (the directory's): no password of this node
    /// matches its credentials. Cheap, unlike <see cref="CreateAsync(Jid, string, CancellationToken)"/>: a directory sync creates thousands.
    /// </summary>
    public async Task<AdministrationResult> CreateWithoutPasswordAsync(Jid account, CancellationToken cancellationToken = default)
    {
        if (NewAccountProblem(account, options.EffectiveDomains) is { } problem)
        {
            return AdministrationResult.Refused(problem);
        }
        var credentials = new AccountCredentials(
            ScramCredentialFactory.Unusable(ScramHash.Sha1, options.Auth.ScramIterations),
            ScramCredentialFactory.Unusable(ScramHash.Sha256, options.Auth.ScramIterations));
        return await CreateAsync(account, credentials, cancellationToken).ConfigureAwait(false);
    }

    /// <returns><see cref="AdministrationOutcome.NotFound"/> when the account has no password here (none, or authenticated elsewhere).</returns>
    public async Task<AdministrationResult> ChangePasswordAsync(Jid account, string password, CancellationToken cancellationToken = default)
    {
        if (!TryCredentials(password, out var credentials, out var problem))
        {
            return AdministrationResult.Refused(problem);
        }
        if (!await storage.Accounts.SetCredentialsAsync(account.Bare.ToString(), credentials, cancellationToken).ConfigureAwait(false))
        {
            return AdministrationResult.NotFound;
        }
        // That the password changed; what it is never leaves the credentials.
        await AdminActor.RecordAsync(storage, actor, AuditActions.AccountPassword, account.Bare.ToString(), "password changed", cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    /// <summary>
    /// Removes the account, its data, its admin role and what <see cref="RemovalEnds"/> says; a running node then
    /// forgets it and ends its sessions with &lt;not-authorized/&gt;.
    /// </summary>
    /// <param name="beforeSessionsEnd">Runs once modules have forgotten the account, before its sessions end.</param>
    /// <returns>False when there is no such account.</returns>
    public async Task<bool> RemoveAsync(Jid account, Action? beforeSessionsEnd = null, CancellationToken cancellationToken = default)
    {
        account = account.Bare;
        var jid = account.ToString();
        if (!await storage.Accounts.ExistsAsync(jid, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        await events.AccountRemovingAsync(account, cancellationToken).ConfigureAwait(false);
        if (!await storage.Accounts.DeleteAsync(jid, RemovalEnds, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        // A new account of the same name must not inherit the role.
        await storage.Admins.RevokeAsync(jid, cancellationToken).ConfigureAwait(false);
        await AdminActor.RecordAsync(storage, actor, AuditActions.AccountRemove, jid, "", cancellationToken).ConfigureAwait(false);
        await events.AccountRemovedAsync(account, beforeSessionsEnd, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Disables the account (it keeps its data; its sessions end and it cannot sign in) or enables it again.
    /// </summary>
    /// <returns><see cref="AdministrationOutcome.NotFound"/> when there is no such account.</returns>
    public async Task<AdministrationResult> SetDisabledAsync(Jid account, bool disabled, CancellationToken cancellationToken = default)
    {
        account = account.Bare;
        if (!await storage.Accounts.SetDisabledAsync(account.ToString(), disabled, cancellationToken).ConfigureAwait(false))
        {
            return AdministrationResult.NotFound;
        }
        await AdminActor.RecordAsync(storage, actor, disabled ? AuditActions.AccountDisable : AuditActions.AccountEnable, account.ToString(), "", cancellationToken).ConfigureAwait(false);
        if (disabled)
        {
            await events.AccountDisabledAsync(account, cancellationToken).ConfigureAwait(false);
        }
        return AdministrationResult.Done;
    }

    /// <summary>
    /// Sets the name administrators know the account by, which searches find it by; null or blank clears it. Kept beside
    /// the account, not in its vCard: the vCard is the user's own to write (XEP-0054), and the name is what the
    /// administrators call the account.
    /// </summary>
    /// <returns><see cref="AdministrationOutcome.NotFound"/> when there is no such account; refused for a bad name.</returns>
    public async Task<AdministrationResult> SetDisplayNameAsync(Jid account, string? displayName, CancellationToken cancellationToken = default)
    {
        account = account.Bare;
        var name = string.IsNullOrWhiteSpace(displayName) ? null : displayName.Trim();
        if (name is not null && AccountInfo.DisplayNameProblem(name) is { } problem)
        {
            return AdministrationResult.Refused(problem);
        }
        if (!await storage.Accounts.SetDisplayNameAsync(account.ToString(), name, cancellationToken).ConfigureAwait(false))
        {
            return AdministrationResult.NotFound;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.AccountDisplayName, account.ToString(), name ?? "", cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    private bool TryCredentials(string password, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out AccountCredentials? credentials,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        credentials = null;
        if (!PasswordPolicy.TryPrepare(password, options.Auth.MinPasswordLength, out var prepared, out problem))
        {
            return false;
        }
        credentials = CreateCredentials(prepared, options.Auth.ScramIterations);
        return true;
    }
}
