using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// The admin role: accounts listed in Parley:Admins, and those granted it in the database (<c>parley admin grant</c>,
/// later the console). Asked at every use, so a grant or a revocation counts on a running node at once.
/// </summary>
public sealed class AdminRoles(IParleyStorage storage, ParleyOptions options, AdminActor? actor = null)
{
    /// <summary>The same service, recording each change it makes as done by <paramref name="by"/>.</summary>
    public AdminRoles By(AdminActor by) => new(storage, options, by);

    /// <summary>Whether Parley:Admins lists the account (such an account's role cannot be revoked here).</summary>
    public bool IsConfigured(Jid account)
    {
        var bare = account.Bare;
        foreach (var admin in options.Admins)
        {
            if (Jid.TryParse(admin, out var listed) && listed.Equals(bare))
            {
                return true;
            }
        }
        return false;
    }

    public async ValueTask<bool> IsAdminAsync(Jid account, CancellationToken cancellationToken = default) =>
        account.Local is not null && (IsConfigured(account) || await storage.Admins.IsAdminAsync(account.Bare.ToString(), cancellationToken).ConfigureAwait(false));

    /// <returns><see cref="AdministrationOutcome.AlreadyExists"/> when the account has the role already.</returns>
    public async Task<AdministrationResult> GrantAsync(Jid account, CancellationToken cancellationToken = default)
    {
        if (AccountService.NewAccountProblem(account, options.EffectiveDomains) is { } problem)
        {
            return AdministrationResult.Refused(problem);
        }
        if (IsConfigured(account) || !await storage.Admins.GrantAsync(account.ToString(), cancellationToken).ConfigureAwait(false))
        {
            return AdministrationResult.AlreadyExists;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.AdminGrant, account.ToString(), "", cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    /// <returns>
    /// <see cref="AdministrationOutcome.NotFound"/> when the account was not granted the role;
    /// <see cref="AdministrationOutcome.Refused"/> when Parley:Admins lists it.
    /// </returns>
    public async Task<AdministrationResult> RevokeAsync(Jid account, CancellationToken cancellationToken = default)
    {
        account = account.Bare;
        if (await storage.Admins.RevokeAsync(account.ToString(), cancellationToken).ConfigureAwait(false))
        {
            await AdminActor.RecordAsync(storage, actor, AuditActions.AdminRevoke, account.ToString(), "", cancellationToken).ConfigureAwait(false);
            return IsConfigured(account)
                ? AdministrationResult.Refused($"{account} was granted the role, which is revoked, but Parley:Admins lists it too; remove it there.")
                : AdministrationResult.Done;
        }
        return IsConfigured(account)
            ? AdministrationResult.Refused($"{account} is an admin because Parley:Admins lists it; remove it there.")
            : AdministrationResult.NotFound;
    }

    /// <summary>Every admin, ordered by JID, and whether the configuration lists it (else it was granted).</summary>
    public async Task<IReadOnlyList<(string Jid, bool Configured)>> ListAsync(CancellationToken cancellationToken = default)
    {
        var granted = await storage.Admins.ListAsync(cancellationToken).ConfigureAwait(false);
        var all = new SortedDictionary<string, bool>(StringComparer.Ordinal);
        foreach (var jid in granted)
        {
            all[jid] = false;
        }
        foreach (var admin in options.Admins)
        {
            if (Jid.TryParse(admin, out var listed))
            {
                all[listed.Bare.ToString()] = true;
            }
        }
        return [.. all.Select(pair => (pair.Key, pair.Value))];
    }
}
