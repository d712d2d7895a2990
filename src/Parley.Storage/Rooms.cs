namespace Parley.Storage;

/// <summary>
/// A persistent multi-user chat room (XEP-0045) as stored: its bare JID (room@conference.example.com),
/// its configuration as the submitted muc#roomconfig form (opaque XML the MUC module reads back), and its subject.
/// </summary>
public sealed record StoredRoom(string Jid, string ConfigXml, string Subject, string SubjectNick, DateTimeOffset CreatedAt);

/// <summary>
/// A user's standing in a room: "owner", "admin", "member" or "outcast", the nickname the user registered with
/// the room (§7.10, null when none) and the reason given when it was set.
/// </summary>
public sealed record RoomAffiliation(string Jid, string Affiliation, string? Nick = null, string? Reason = null);

/// <summary>Persistent rooms, their affiliations and registered nicknames. Temporary (ad hoc) rooms are never stored.</summary>
public interface IRoomStore
{
    /// <summary>The room, or null when no persistent room has that JID.</summary>
    Task<StoredRoom?> GetAsync(string room, CancellationToken cancellationToken = default);

    /// <summary>The rooms of one MUC service (e.g. conference.example.com), ordered by JID.</summary>
    Task<IReadOnlyList<StoredRoom>> ListAsync(string service, CancellationToken cancellationToken = default);

    /// <summary>Creates the room or replaces its configuration and subject (its creation time stays).</summary>
    Task SaveAsync(StoredRoom room, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the configuration and subject of a stored room; false when it is not stored (any more), so that a
    /// room in memory cannot bring back one the administrator deleted.
    /// </summary>
    Task<bool> UpdateAsync(StoredRoom room, CancellationToken cancellationToken = default);

    /// <summary>Deletes the room with its affiliations; false when there was none.</summary>
    Task<bool> DeleteAsync(string room, CancellationToken cancellationToken = default);

    /// <summary>The room's affiliations, ordered by JID.</summary>
    Task<IReadOnlyList<RoomAffiliation>> GetAffiliationsAsync(string room, CancellationToken cancellationToken = default);

    /// <summary>Sets one JID's affiliation with a stored room (replacing what it had); affiliation "none" removes it. Nothing happens for a room that is not stored.</summary>
    Task SetAffiliationAsync(string room, RoomAffiliation affiliation, CancellationToken cancellationToken = default);
}

/// <summary>Argument checks the room stores share.</summary>
internal static class RoomArguments
{
    private static readonly string[] s_affiliations = ["owner", "admin", "member", "outcast", "none"];

    /// <summary>Checks that <paramref name="room"/> is a bare room JID and returns its service domain.</summary>
    public static string ServiceOf(string room) => AccountArguments.DomainOf(room, nameof(room));

    public static void CheckService(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (service.Length == 0 || service.Contains('@') || service.Contains('/'))
        {
            throw new ArgumentException($"'{service}' is not a service domain such as conference.example.com.", nameof(service));
        }
    }

    public static void CheckRoom(StoredRoom room)
    {
        ArgumentNullException.ThrowIfNull(room);
        ServiceOf(room.Jid);
        ArgumentNullException.ThrowIfNull(room.ConfigXml);
        ArgumentNullException.ThrowIfNull(room.Subject);
        ArgumentNullException.ThrowIfNull(room.SubjectNick);
    }

    public static void CheckAffiliation(RoomAffiliation affiliation)
    {
        ArgumentNullException.ThrowIfNull(affiliation);
        UserDataArguments.CheckContact(affiliation.Jid, nameof(affiliation));
        if (Array.IndexOf(s_affiliations, affiliation.Affiliation) < 0)
        {
            throw new ArgumentException($"'{affiliation.Affiliation}' is not an affiliation; use owner, admin, member, outcast or none.", nameof(affiliation));
        }
    }
}
