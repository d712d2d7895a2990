using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Modules.Muc;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>A persistent room as the console and the API show it.</summary>
public sealed record RoomListing(string Jid, RoomConfiguration Settings, string Subject, DateTimeOffset CreatedAt);

/// <summary>
/// Changes to a room's settings as an administrator asks for them: a null field keeps the setting; an empty
/// <see cref="Password"/> removes the password.
/// </summary>
public sealed record RoomSettingsChange(
    string? Name = null, string? Description = null, bool? Public = null, bool? MembersOnly = null, bool? Moderated = null, int? MaxUsers = null, string? Password = null)
{
    /// <summary>Why the change cannot be made, or null.</summary>
    public string? Problem() => MaxUsers < 0 ? "The most occupants is 0 (the service's limit) or more." : null;

    public RoomConfiguration Apply(RoomConfiguration settings) => settings with
    {
        Name = Name?.Trim() ?? settings.Name,
        Description = Description?.Trim() ?? settings.Description,
        Public = Public ?? settings.Public,
        MembersOnly = MembersOnly ?? settings.MembersOnly,
        Moderated = Moderated ?? settings.Moderated,
        MaxUsers = MaxUsers ?? settings.MaxUsers,
        Password = Password ?? settings.Password,
    };
}

/// <summary>
/// Creating, configuring and destroying persistent rooms as the administrator: in storage, then a running node's
/// chat service takes the change (a room in memory reloads, or is destroyed for its occupants).
/// With an actor (<see cref="By"/>) each change is also recorded in the audit trail.
/// </summary>
public sealed class RoomAdministration(IParleyStorage storage, ParleyOptions options, IAdministrationEvents events, AdminActor? actor = null)
{
    /// <summary>The same service, recording each change it makes as done by <paramref name="by"/>.</summary>
    public RoomAdministration By(AdminActor by) => new(storage, options, events, by);

    /// <summary>Why <paramref name="room"/> is not a room of this node's chat service, or null.</summary>
    public static string? RoomProblem(Jid room, ParleyOptions options)
    {
        var subdomain = options.Module<MucOptions>().Subdomain;
        if (room.Local is null || !room.IsBare)
        {
            return $"'{room}' is not a room JID such as team@{subdomain}.{options.EffectiveDomains[0]}.";
        }
        foreach (var domain in options.EffectiveDomains)
        {
            if (room.Domain == $"{subdomain}.{domain}")
            {
                return null;
            }
        }
        return $"{room.Domain} is not this node's chat service ({subdomain}.DOMAIN).";
    }

    /// <summary>Why <paramref name="owner"/> cannot own a room (only accounts' bare JIDs can), or null.</summary>
    public static string? OwnerProblem(Jid owner) =>
        owner.Local is not null && owner.IsBare ? null : $"'{owner}' is not a bare JID such as alice@example.com.";

    /// <summary>Creates a persistent room (whatever <paramref name="settings"/> says) with at least one owner.</summary>
    public async Task<AdministrationResult> CreateAsync(Jid room, RoomConfiguration settings, IReadOnlyList<Jid> owners, CancellationToken cancellationToken = default)
    {
        if (Problem(room, owners) is { } problem)
        {
            return AdministrationResult.Refused(problem);
        }
        if (owners.Count == 0)
        {
            return AdministrationResult.Refused("A room needs an owner.");
        }
        var jid = room.ToString();
        if (await storage.Rooms.GetAsync(jid, cancellationToken).ConfigureAwait(false) is not null)
        {
            return AdministrationResult.AlreadyExists;
        }
        await storage.Rooms.SaveAsync(new StoredRoom(jid, (settings with { Persistent = true }).ToStoredXml(), "", "", DateTimeOffset.UtcNow), cancellationToken).ConfigureAwait(false);
        await AddOwnersAsync(jid, owners, cancellationToken).ConfigureAwait(false);
        await AdminActor.RecordAsync(storage, actor, AuditActions.RoomCreate, jid, OwnersDetail(owners), cancellationToken).ConfigureAwait(false);
        await events.RoomChangedAsync(room, cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    /// <summary>
    /// The persistent rooms of every served domain's chat service, ordered by JID: all of them, or those whose JID or
    /// name contains <paramref name="query"/> in any case (plain text).
    /// </summary>
    public async Task<IReadOnlyList<RoomListing>> ListAsync(string? query, CancellationToken cancellationToken = default)
    {
        query = query?.Trim() ?? "";
        var found = new List<RoomListing>();
        foreach (var domain in options.EffectiveDomains)
        {
            foreach (var room in await storage.Rooms.ListAsync($"{options.Module<MucOptions>().Subdomain}.{domain}", cancellationToken).ConfigureAwait(false))
            {
                var settings = RoomConfiguration.FromStoredXml(room.ConfigXml);
                if (room.Jid.Contains(query, StringComparison.OrdinalIgnoreCase) || settings.Name.Contains(query, StringComparison.OrdinalIgnoreCase))
                {
                    found.Add(new RoomListing(room.Jid, settings, room.Subject, room.CreatedAt));
                }
            }
        }
        return [.. found.OrderBy(room => room.Jid, StringComparer.Ordinal)];
    }

    /// <summary>One persistent room, or null when there is none at <paramref name="room"/>.</summary>
    public async Task<RoomListing?> GetAsync(Jid room, CancellationToken cancellationToken = default) =>
        await storage.Rooms.GetAsync(room.ToString(), cancellationToken).ConfigureAwait(false) is { } stored
            ? new RoomListing(stored.Jid, RoomConfiguration.FromStoredXml(stored.ConfigXml), stored.Subject, stored.CreatedAt)
            : null;

    /// <summary>Changes a persistent room's settings as <paramref name="change"/> says (it stays persistent) and adds owners.</summary>
    /// <returns>The result, and the room's new settings when it was done.</returns>
    public async Task<(AdministrationResult Result, RoomConfiguration? Settings)> ConfigureAsync(
        Jid room, RoomSettingsChange change, IReadOnlyList<Jid> newOwners, CancellationToken cancellationToken = default) =>
        change.Problem() is { } problem
            ? (AdministrationResult.Refused(problem), null)
            : await ConfigureAsync(room, change.Apply, newOwners, cancellationToken).ConfigureAwait(false);

    /// <summary>Changes a persistent room's settings (it stays persistent) and adds owners.</summary>
    /// <returns>The result, and the room's new settings when it was done.</returns>
    public async Task<(AdministrationResult Result, RoomConfiguration? Settings)> ConfigureAsync(
        Jid room, Func<RoomConfiguration, RoomConfiguration> change, IReadOnlyList<Jid> newOwners, CancellationToken cancellationToken = default)
    {
        if (Problem(room, newOwners) is { } problem)
        {
            return (AdministrationResult.Refused(problem), null);
        }
        var jid = room.ToString();
        if (await storage.Rooms.GetAsync(jid, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return (AdministrationResult.NotFound, null);
        }
        var settings = change(RoomConfiguration.FromStoredXml(stored.ConfigXml)) with { Persistent = true };
        await storage.Rooms.SaveAsync(stored with { ConfigXml = settings.ToStoredXml() }, cancellationToken).ConfigureAwait(false);
        await AddOwnersAsync(jid, newOwners, cancellationToken).ConfigureAwait(false);
        await AdminActor.RecordAsync(storage, actor, AuditActions.RoomConfigure, jid, OwnersDetail(newOwners), cancellationToken).ConfigureAwait(false);
        await events.RoomChangedAsync(room, cancellationToken).ConfigureAwait(false);
        return (AdministrationResult.Done, settings);
    }

    /// <summary>Deletes a persistent room and its affiliations; its archive stays, for compliance.</summary>
    public async Task<AdministrationResult> DestroyAsync(Jid room, CancellationToken cancellationToken = default)
    {
        if (RoomProblem(room, options) is { } problem)
        {
            return AdministrationResult.Refused(problem);
        }
        if (!await storage.Rooms.DeleteAsync(room.ToString(), cancellationToken).ConfigureAwait(false))
        {
            return AdministrationResult.NotFound;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.RoomDestroy, room.ToString(), "", cancellationToken).ConfigureAwait(false);
        await events.RoomChangedAsync(room, cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }

    private static string OwnersDetail(IReadOnlyList<Jid> owners) => owners.Count == 0 ? "" : "owners added: " + string.Join(", ", owners);

    private string? Problem(Jid room, IReadOnlyList<Jid> owners)
    {
        if (RoomProblem(room, options) is { } problem)
        {
            return problem;
        }
        foreach (var owner in owners)
        {
            if (OwnerProblem(owner) is { } ownerProblem)
            {
                return ownerProblem;
            }
        }
        return null;
    }

    private async Task AddOwnersAsync(string room, IReadOnlyList<Jid> owners, CancellationToken cancellationToken)
    {
        foreach (var owner in owners)
        {
            await storage.Rooms.SetAffiliationAsync(room, new RoomAffiliation(owner.ToString(), "owner"), cancellationToken).ConfigureAwait(false);
        }
    }
}
