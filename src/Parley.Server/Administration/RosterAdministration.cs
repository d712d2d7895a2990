using Parley.Protocol;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// Writing rosters in bulk as the administrator (moving a company from another IM system). With an actor
/// (<see cref="By"/>) each user's new roster is also recorded in the audit trail.
/// </summary>
public sealed class RosterAdministration(IParleyStorage storage, IAdministrationEvents events, AdminActor? actor = null)
{
    /// <summary>The same service, recording each change it makes as done by <paramref name="by"/>.</summary>
    public RosterAdministration By(AdminActor by) => new(storage, events, by);

    /// <summary>
    /// Writes <paramref name="itemsInUserOrder"/>, replacing existing items for the same pairs, then tells the node of
    /// each user's new roster: an online user sees the new items, and the contacts' presence, at once.
    /// </summary>
    /// <param name="itemsInUserOrder">Sorted by user, so that the store moves each user's roster version once per batch.</param>
    /// <returns>How many items were written, and for how many users.</returns>
    public async Task<(int Items, int Users)> ImportAsync(IEnumerable<(string User, RosterItem Item)> itemsInUserOrder, CancellationToken cancellationToken = default)
    {
        var users = new List<string>();
        var written = await storage.Rosters.ImportAsync(NoteUsers(itemsInUserOrder, users).ToAsyncEnumerable(), cancellationToken).ConfigureAwait(false);
        foreach (var user in users)
        {
            await AdminActor.RecordAsync(storage, actor, AuditActions.RosterImport, user, "roster items imported", cancellationToken).ConfigureAwait(false);
            await events.RosterImportedAsync(Jid.Parse(user), cancellationToken).ConfigureAwait(false);
        }
        return (written, users.Count);
    }

    /// <summary>Removes the items (user, contact), then tells the node of each user's new roster: online users see the removals.</summary>
    public async Task RemoveAsync(IEnumerable<(string User, string Contact)> items, CancellationToken cancellationToken = default)
    {
        var users = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (user, contact) in items)
        {
            if (await storage.Rosters.RemoveItemAsync(user, contact, cancellationToken).ConfigureAwait(false) is not null)
            {
                users.Add(user);
            }
        }
        foreach (var user in users)
        {
            await events.RosterImportedAsync(Jid.Parse(user), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The items as they are written, noting each user once (they come in user order).</summary>
    private static IEnumerable<(string User, RosterItem Item)> NoteUsers(IEnumerable<(string User, RosterItem Item)> items, List<string> users)
    {
        foreach (var entry in items)
        {
            if (users.Count == 0 || users[^1] != entry.User)
            {
                users.Add(entry.User);
            }
            yield return entry;
        }
    }
}
