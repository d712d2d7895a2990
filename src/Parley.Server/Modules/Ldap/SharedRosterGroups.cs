using Parley.Ldap;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Storage;

namespace Parley.Server.Modules.Ldap;

/// <summary>
/// The directory groups of <see cref="DirectoryOptions.GroupFilter"/> as shared roster groups: every member has every
/// other member as a contact with a `both` subscription, in a roster group named after the directory group. Written
/// into the rosters by each sync, so that presence, probes and roster versions work as for any contact; items a user
/// added personally (in none of the shared groups) are left alone, and a contact who left a group leaves it on rosters.
/// A shared item's name follows the directory when the person is renamed, unless the user gave the contact a name of their own.
/// </summary>
public sealed class SharedRosterGroups(DirectoryOptions options, IParleyStorage storage, RosterAdministration rosters)
{
    /// <param name="groups">The directory's groups with their members' DNs.</param>
    /// <param name="accounts">Each directory account (also the disabled) by its person's normalized DN, with their names.</param>
    public async Task SyncAsync(IReadOnlyList<DirectoryGroup> groups, IReadOnlyDictionary<string, SharedAccount> accounts, DirectorySyncSummary summary, CancellationToken cancellationToken)
    {
        foreach (var group in groups.Where(g => g.Incomplete is not null))
        {
            // Shared as read, the group would lose the members not read on every roster: it is left as it was.
            summary.Skipped.Add((group.Dn, $"{group.Incomplete}; the group's shared roster items are left as they were"));
        }
        groups = groups.Where(g => g.Incomplete is null).ToList();
        var sharedNames = groups.Select(g => g.Name).ToHashSet(StringComparer.Ordinal);
        // user → contact → the shared groups they are in together
        var wanted = new Dictionary<string, Dictionary<string, SortedSet<string>>>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var memberDns = group.MemberDns.Select(LdapDirectory.Normalize).ToHashSet(StringComparer.Ordinal);
            if (memberDns.Count > options.MaxSharedGroupMembers)
            {
                // n members make n×(n−1) roster items: a roster of thousands helps no one and costs every sign-in.
                summary.Skipped.Add((group.Dn, $"the group has {memberDns.Count} members, more than Parley:Directory:MaxSharedGroupMembers ({options.MaxSharedGroupMembers}); not shared"));
                continue;
            }
            var members = memberDns.Select(dn => accounts.TryGetValue(dn, out var account) ? account.Jid.ToString() : null).OfType<string>().ToList();
            foreach (var user in members)
            {
                if (!wanted.TryGetValue(user, out var contacts))
                {
                    wanted[user] = contacts = new(StringComparer.Ordinal);
                }
                foreach (var contact in members)
                {
                    if (contact != user)
                    {
                        if (!contacts.TryGetValue(contact, out var names))
                        {
                            contacts[contact] = names = new(StringComparer.Ordinal);
                        }
                        names.Add(group.Name);
                    }
                }
            }
        }

        var byJid = accounts.Values.ToDictionary(a => a.Jid.ToString(), StringComparer.Ordinal);
        var writes = new List<(string User, RosterItem Item)>();
        var removals = new List<(string User, string Contact)>();
        foreach (var user in accounts.Values.Select(a => a.Jid.ToString()).Order(StringComparer.Ordinal))
        {
            var roster = await storage.Rosters.GetAsync(user, cancellationToken).ConfigureAwait(false);
            var contacts = wanted.GetValueOrDefault(user) ?? [];
            var existing = roster.Items.ToDictionary(i => i.Contact, StringComparer.Ordinal);
            foreach (var (contact, groupNames) in contacts.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                var item = existing.GetValueOrDefault(contact);
                // The user's own groups for the contact stay beside the shared ones.
                var groupsOnRoster = (item?.Groups ?? []).Where(g => !sharedNames.Contains(g)).Concat(groupNames).ToList();
                var name = byJid[contact];
                // The name the directory gave last time (or none) is the directory's to change; any other is the user's.
                var itemName = item is null || item.Name is null || item.Name == name.PreviousName ? name.Name : item.Name;
                var shared = new RosterItem(contact, itemName, Subscription.Both, false, false, groupsOnRoster);
                if (item is null || item.Subscription != Subscription.Both || item.Name != itemName || !item.Groups.Order().SequenceEqual(groupsOnRoster.Order()))
                {
                    writes.Add((user, shared));
                }
            }
            foreach (var item in roster.Items)
            {
                if (contacts.ContainsKey(item.Contact) || !item.Groups.Any(sharedNames.Contains))
                {
                    continue;
                }
                var own = item.Groups.Where(g => !sharedNames.Contains(g)).ToList();
                if (own.Count == 0)
                {
                    removals.Add((user, item.Contact));
                }
                else
                {
                    writes.Add((user, item with { Groups = own }));
                }
            }
        }
        if (writes.Count > 0)
        {
            summary.SharedItemsWritten = (await rosters.ImportAsync(writes, cancellationToken).ConfigureAwait(false)).Items;
        }
        if (removals.Count > 0)
        {
            await rosters.RemoveAsync(removals, cancellationToken).ConfigureAwait(false);
            summary.SharedItemsRemoved = removals.Count;
        }
    }
}

/// <summary>A directory account for <see cref="SharedRosterGroups"/>.</summary>
/// <param name="Name">The person's name in the directory now.</param>
/// <param name="PreviousName">The account's display name before this sync: the directory's name at the last sync.</param>
public readonly record struct SharedAccount(Jid Jid, string? Name, string? PreviousName);
