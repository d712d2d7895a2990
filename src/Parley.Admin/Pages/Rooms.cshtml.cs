using Microsoft.AspNetCore.Mvc;
using Parley.Protocol;
using Parley.Server.Modules.Muc;
using Parley.Storage;

namespace Parley.Admin.Pages;

/// <summary>The persistent rooms of the node's chat service: searched, created (owned by the administrator), destroyed.</summary>
public sealed class RoomsModel(IParleyStorage storage) : ConsolePage
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

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var query = Query?.Trim() ?? "";
        var rows = new List<RoomRow>();
        foreach (var domain in Options.EffectiveDomains)
        {
            foreach (var room in await storage.Rooms.ListAsync($"{Options.Module<MucOptions>().Subdomain}.{domain}", cancellationToken))
            {
                var name = RoomConfiguration.FromStoredXml(room.ConfigXml).Name;
                if (room.Jid.Contains(query, StringComparison.OrdinalIgnoreCase) || name.Contains(query, StringComparison.OrdinalIgnoreCase))
                {
                    rows.Add(new RoomRow(room.Jid, name, room.Subject, room.CreatedAt));
                }
            }
        }
        Rooms = rows;
    }
}
