using System.Security.Cryptography;
using System.Text;
using Parley.Ldap;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Modules.VCard;
using Parley.Storage;

namespace Parley.Server.Modules.Ldap;

/// <summary>
/// Makes the accounts match the directory, as Cisco's Sync Agent does: an account for every person the user filter
/// matches (with a vCard from the directory's attributes), disabled while the directory says so, disabled at once
/// when the person has left (their sessions end) and removed after <see cref="DirectoryOptions.RemoveAfterDays"/>.
/// If the directory cannot be read, nothing is changed. The node runs it at start-up and on a schedule;
/// `parley directory sync` runs it from the command line. Accounts go through <see cref="AccountService"/>, the one
/// place an account is created, disabled or removed.
/// </summary>
/// <param name="vCards">The node's vCard module, which also refreshes the avatar hash of people online; null outside a node (the CLI).</param>
public sealed class DirectorySync(LdapDirectory directory, DirectoryOptions options, IParleyStorage storage, AdministrationServices administration, string domain, TimeProvider time, IVCards? vCards = null)
{
    private readonly AccountService _accounts = administration.Accounts;
    private readonly SharedRosterGroups _sharedGroups = new(options, storage, administration.Rosters);

    public async Task<DirectorySyncSummary> RunAsync(IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        var summary = new DirectorySyncSummary();
        IReadOnlyList<DirectoryUser> people;
        IReadOnlyList<DirectoryGroup> groups;
        try
        {
            people = await directory.ListUsersAsync(cancellationToken).ConfigureAwait(false);
            groups = await directory.ListGroupsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DirectoryUnavailableException e)
        {
            summary.Failure = e.Message + " Nothing was changed.";
            return summary;
        }

        var present = Accounts(people, summary);
        var known = (await storage.DirectoryUsers.ListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.BareJid, StringComparer.Ordinal);
        if (people.Count == 0 && known.Count > 0)
        {
            // A mistyped base or filter looks like everyone having left; disabling them all is not the sync's to do.
            summary.Failure = $"The directory has no one matching {options.EffectiveUserFilter} under {options.UserBase}, but {known.Count} directory accounts exist: "
                + "check Parley:Directory:UserBase and UserFilter. Nothing was changed.";
            return summary;
        }
        // The accounts as they were before this sync: their display names are the directory's names of the last sync.
        var before = (await storage.Accounts.ListAsync(domain, 0, int.MaxValue, cancellationToken).ConfigureAwait(false))
            .ToDictionary(a => a.Jid, StringComparer.Ordinal);
        var done = 0;
        foreach (var (jid, person) in present)
        {
            var account = jid.ToString();
            await SyncPersonAsync(jid, person, known.GetValueOrDefault(account), before.GetValueOrDefault(account), summary, cancellationToken).ConfigureAwait(false);
            progress?.Report((++done, present.Count + known.Count));
        }
        foreach (var record in known.Values.Where(r => !present.ContainsKey(Jid.Parse(r.BareJid))))
        {
            await SyncDepartedAsync(record, summary, cancellationToken).ConfigureAwait(false);
            progress?.Report((++done, present.Count + known.Count));
        }
        // Those who have a directory account now: not the people skipped (a local account of the same name).
        var synced = (await storage.DirectoryUsers.ListAsync(cancellationToken).ConfigureAwait(false)).Select(r => r.BareJid).ToHashSet(StringComparer.Ordinal);
        var byDn = present.Where(p => synced.Contains(p.Key.ToString()))
            .ToDictionary(p => LdapDirectory.Normalize(p.Value.Dn),
                p => new SharedAccount(p.Key, DirectoryVCard.FullName(p.Value), before.GetValueOrDefault(p.Key.ToString())?.DisplayName), StringComparer.Ordinal);
        await _sharedGroups.SyncAsync(groups, byDn, summary, cancellationToken).ConfigureAwait(false);
        return summary;
    }

    /// <summary>
    /// At a person's first sign-in before any sync has seen them: their account, vCard and record now, so that
    /// others can reach them at once. Their shared roster groups come with the next sync.
    /// </summary>
    public async Task ProvisionAsync(DirectoryUser person, CancellationToken cancellationToken = default)
    {
        if (DirectoryAccounts.TryGetJid(person, options, domain, out var jid, out _)
            && await storage.DirectoryUsers.GetAsync(jid.ToString(), cancellationToken).ConfigureAwait(false) is null)
        {
            await SyncPersonAsync(jid, person, null, null, new DirectorySyncSummary(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Each person's account; people without a valid JID, or sharing one with another person, are skipped with the reason.</summary>
    private Dictionary<Jid, DirectoryUser> Accounts(IReadOnlyList<DirectoryUser> people, DirectorySyncSummary summary)
    {
        var byJid = new Dictionary<Jid, List<DirectoryUser>>();
        foreach (var person in people)
        {
            if (!DirectoryAccounts.TryGetJid(person, options, domain, out var jid, out var problem))
            {
                summary.Skipped.Add((person.Dn, problem));
                continue;
            }
            if (!byJid.TryGetValue(jid, out var same))
            {
                byJid[jid] = same = [];
            }
            same.Add(person);
        }
        var accounts = new Dictionary<Jid, DirectoryUser>();
        foreach (var (jid, same) in byJid)
        {
            if (same.Count == 1)
            {
                accounts[jid] = same[0];
                continue;
            }
            // Which of them would be the account's owner is not for the sync to guess.
            foreach (var person in same)
            {
                summary.Skipped.Add((person.Dn, $"{same.Count} people map to {jid}: {string.Join("; ", same.Select(p => p.Dn))}"));
            }
        }
        return accounts;
    }

    /// <param name="existing">The account as it is now; null for one that does not exist yet.</param>
    private async Task SyncPersonAsync(Jid jid, DirectoryUser person, DirectoryUserRecord? record, AccountInfo? existing, DirectorySyncSummary summary, CancellationToken cancellationToken)
    {
        var account = jid.ToString();
        var isDisabled = existing?.Disabled ?? false;
        var vCardElement = DirectoryVCard.For(person);
        var vCard = vCardElement.ToXml(Ns.Client);
        var fingerprint = Fingerprint(person, vCard);
        var name = DirectoryVCard.FullName(person);
        var changed = record is null || record.Fingerprint != fingerprint || record.MissingSince is not null;
        // The directory decides: an account enabled or disabled by hand, or renamed by hand, follows the directory again at the next sync.
        var renamed = existing?.DisplayName != name;
        if (!changed && isDisabled == person.Disabled && !renamed)
        {
            summary.Unchanged++;
            return;
        }
        if (record is null)
        {
            if (await storage.Accounts.ExistsAsync(account, cancellationToken).ConfigureAwait(false))
            {
                // A local account (an administrator, a bot) keeps its name and password; the directory does not take it over.
                summary.Skipped.Add((person.Dn, $"{account} is a local account"));
                return;
            }
            // The record first: from the moment the account exists, sign-in must know it for a directory account.
            await storage.DirectoryUsers.SetAsync(new DirectoryUserRecord(account, person.Dn, "", null), cancellationToken).ConfigureAwait(false);
            // The person signs in with the directory's password; no password of this node opens the account.
            var result = await _accounts.CreateWithoutPasswordAsync(jid, cancellationToken).ConfigureAwait(false);
            if (result.Outcome is AdministrationOutcome.Refused)
            {
                await storage.DirectoryUsers.DeleteAsync(account, cancellationToken).ConfigureAwait(false);
                summary.Skipped.Add((person.Dn, result.Problem!));
                return;
            }
            summary.Added++;
        }
        else if (changed || renamed)
        {
            summary.Updated++;
        }
        if (record is null || renamed)
        {
            // A name the account cannot hold (control characters, over 200 characters) leaves it unset; the vCard's FN still has it.
            await _accounts.SetDisplayNameAsync(jid, name, cancellationToken).ConfigureAwait(false);
        }
        if (changed)
        {
            if (vCards is not null)
            {
                await vCards.SetAsync(account, vCardElement, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await storage.Documents.SetAsync(account, VCardModule.DocumentKind, "", vCard, cancellationToken).ConfigureAwait(false);
            }
        }
        if (person.Disabled != isDisabled)
        {
            await _accounts.SetDisabledAsync(jid, person.Disabled, cancellationToken).ConfigureAwait(false);
            if (person.Disabled)
            {
                summary.Disabled++;
            }
            else if (!changed && !renamed)
            {
                summary.Updated++;
            }
        }
        if (changed)
        {
            await storage.DirectoryUsers.SetAsync(new DirectoryUserRecord(account, person.Dn, fingerprint, null), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SyncDepartedAsync(DirectoryUserRecord record, DirectorySyncSummary summary, CancellationToken cancellationToken)
    {
        var jid = Jid.Parse(record.BareJid);
        var now = time.GetUtcNow();
        if (record.MissingSince is null)
        {
            // Gone from the directory: no more sign-ins, and the sessions end now rather than at the next sign-in.
            await _accounts.SetDisabledAsync(jid, true, cancellationToken).ConfigureAwait(false);
            record = record with { MissingSince = now };
            await storage.DirectoryUsers.SetAsync(record, cancellationToken).ConfigureAwait(false);
            summary.Disabled++;
        }
        if (now - record.MissingSince >= TimeSpan.FromDays(options.RemoveAfterDays))
        {
            await _accounts.RemoveAsync(jid, cancellationToken: cancellationToken).ConfigureAwait(false);
            await storage.DirectoryUsers.DeleteAsync(record.BareJid, cancellationToken).ConfigureAwait(false);
            summary.Removed++;
        }
    }

    private static string Fingerprint(DirectoryUser person, string vCard) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(person.Dn + "\n" + vCard)));
}

/// <summary>What a sync did, for the log and `parley directory sync`.</summary>
public sealed class DirectorySyncSummary
{
    public int Added { get; set; }
    public int Updated { get; set; }
    public int Unchanged { get; set; }
    public int Disabled { get; set; }
    public int Removed { get; set; }

    /// <summary>Roster items of shared groups written (added or changed) and removed.</summary>
    public int SharedItemsWritten { get; set; }
    public int SharedItemsRemoved { get; set; }

    /// <summary>People the sync left alone: their DN and why.</summary>
    public List<(string Dn, string Reason)> Skipped { get; } = [];

    /// <summary>Why the sync could not run (the directory unreachable, the service account refused); nothing was changed then.</summary>
    public string? Failure { get; set; }

    public override string ToString() => Failure is not null
        ? $"Directory sync failed: {Failure}"
        : $"Directory sync: {Added} added, {Updated} updated, {Disabled} disabled, {Removed} removed, {Unchanged} unchanged, {Skipped.Count} skipped; "
            + $"shared roster groups: {SharedItemsWritten} items written, {SharedItemsRemoved} removed"
            + string.Concat(Skipped.Select(s => $"{Environment.NewLine}  skipped {s.Dn}: {s.Reason}"));
}
