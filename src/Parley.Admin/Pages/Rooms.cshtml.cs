using Microsoft.AspNetCore.Mvc;
using Parley.Protocol;
using Parley.Server.Modules.Muc;

namespace Parley.Admin.Pages;

/// <summary>The persistent rooms of the node's chat service: searched, created (owned by the administrator), destroyed.</summary>
public sealed class RoomsModel : ConsolePage
{
    public sealed record RoomRow(string Jid, string Name, string Subject, DateTimeOffset CreatedAt);

    [BindProperty(SupportsGet = true, Name = "q")]
    public string? Query { get; set; }

    public IReadOnlyList<RoomRow> Rooms { get; private set; } = [];

    public string Service => $"{Options.Module<MucOptions>().Subdomain}.{Options.EffectiveDomains[0]}";

    public Task OnGetAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    public async Task OnPostCreateAsync(string? room, CancellationToken cancellationToken)
    {
        if (!Jid.TryParse(room?.Trim(), out var jid) || !Jid.TryParse(Administrator.Name, out var owner))
        {
            Problem = $"'{room}' is not a room JID such as team@{Service}.";
        }
        else
        {
            Report(await Administration.Rooms.CreateAsync(jid, new RoomConfiguration(), [owner], cancellationToken),
                $"{jid} was created; you own it.", "", $"{jid} exists already.");
        }
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostDestroyAsync(string? room, CancellationToken cancellationToken)
    {
        if (!Jid.TryParse(room, out var jid))
        {
            Problem = $"'{room}' is not a room JID.";
        }
        else
        {
            Report(await Administration.Rooms.DestroyAsync(jid, cancellationToken), $"{jid} was destroyed.", $"There is no room {jid}.");
        }
        await LoadAsync(cancellationToken);
    }

    private async Task LoadAsync(CancellationToken cancellationToken) =>
        Rooms = [.. (await Administration.Rooms.ListAsync(Query, cancellationToken)).Select(room => new RoomRow(room.Jid, room.Settings.Name, room.Subject, room.CreatedAt))];
}
