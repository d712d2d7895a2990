using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Modules.Muc;

namespace Parley.Admin.Pages;

/// <summary>A persistent room: its settings, changed through the application services, and who is in it now (asked of the node that runs it).</summary>
public sealed class RoomModel : ConsolePage
{
    [BindProperty(SupportsGet = true, Name = "jid")]
    public string Room { get; set; } = "";

    /// <summary>The room's settings; null when no persistent room has this address.</summary>
    public RoomConfiguration? Settings { get; private set; }

    public IReadOnlyList<RoomOccupant> Occupants { get; private set; } = [];

    public string Domain => Options.EffectiveDomains[0];

    public Task OnGetAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    /// <param name="password">Empty keeps the password; <paramref name="removePassword"/> removes it.</param>
    public async Task OnPostConfigureAsync(
        string? name, string? description, bool isPublic, bool membersOnly, bool moderated, int maxUsers, string? password, bool removePassword,
        string? owner, CancellationToken cancellationToken)
    {
        List<Jid> owners = [];
        if (!Jid.TryParse(Room, out var room))
        {
            Problem = $"'{Room}' is not a room JID.";
        }
        else if (!string.IsNullOrWhiteSpace(owner) && !Jid.TryParse(owner.Trim(), out var newOwner))
        {
            Problem = $"'{owner}' is not a JID.";
        }
        else
        {
            if (Jid.TryParse(owner?.Trim(), out var added))
            {
                owners.Add(added);
            }
            var change = new RoomSettingsChange(name ?? "", description ?? "", isPublic, membersOnly, moderated, maxUsers,
                removePassword ? "" : string.IsNullOrEmpty(password) ? null : password);
            var (result, _) = await Administration.Rooms.ConfigureAsync(room, change, owners, cancellationToken);
            Report(result, $"{room}'s settings were saved; its occupants see them at once.", $"There is no persistent room {room}.");
        }
        await LoadAsync(cancellationToken);
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (!Jid.TryParse(Room, out var jid))
        {
            return;
        }
        Settings = (await Administration.Rooms.GetAsync(jid, cancellationToken))?.Settings;
        Occupants = await HttpContext.RequestServices.GetRequiredService<RoomOccupants>().ListAsync(jid, cancellationToken);
    }
}
