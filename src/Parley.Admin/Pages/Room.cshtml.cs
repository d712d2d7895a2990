using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Modules.Muc;

namespace Parley.Admin.Pages;

/// <summary>Who is in a room now (on this node's chat service).</summary>
public sealed class RoomModel : ConsolePage
{
    [BindProperty(SupportsGet = true, Name = "jid")]
    public string Room { get; set; } = "";

    public IReadOnlyList<RoomOccupant> Occupants { get; private set; } = [];

    public async Task OnGetAsync()
    {
        // No chat service when the Muc module is switched off.
        if (Jid.TryParse(Room, out var jid) && HttpContext.RequestServices.GetService<MucService>() is { } service)
        {
            Occupants = await service.OccupantsAsync(jid);
        }
    }
}
