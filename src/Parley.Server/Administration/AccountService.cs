using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Server.Auth;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// Creating accounts, changing their passwords and removing them: the one place each happens, whoever asks
/// (`parley user`, in-band registration; later the REST API, the console and XEP-0133).
/// </summary>
public sealed class AccountService(IParleyStorage storage, ParleyOptions options, IAdministrationEvents events)
{
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
        return await storage.Accounts.CreateAsync(account.ToString(), credentials, cancellationToken).ConfigureAwait(false) == CreateAccountResult.Created
            ? AdministrationResult.Done
            : AdministrationResult.AlreadyExists;
    }

    /// <returns><see cref="AdministrationOutcome.NotFound"/> when the account has no password here (none, or authenticated elsewhere).</returns>
    public async Task<AdministrationResult> ChangePasswordAsync(Jid account, string password, CancellationToken cancellationToken = default)
    {
        if (!TryCredentials(password, out var credentials, out var problem))
        {
            return AdministrationResult.Refused(problem);
        }
        return await storage.Accounts.SetCredentialsAsync(account.Bare.ToString(), credentials, cancellationToken).ConfigureAwait(false)
            ? AdministrationResult.Done
            : AdministrationResult.NotFound;
    }

    /// <summary>
    /// Removes the account, its data and what <see cref="RemovalEnds"/> says; a running node then forgets it and
    /// ends its sessions with &lt;not-authorized/&gt;.
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
        if (disabled)
        {
            await events.AccountDisabledAsync(account, cancellationToken).ConfigureAwait(false);
        }
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
