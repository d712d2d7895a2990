using Microsoft.Extensions.Hosting;
using Parley.Cluster.Bus;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Modules.Muc;

namespace Parley.Cluster.Rooms;

/// <summary>
/// Who is in a room that runs on another node, for this node's console and API: a node answers on
/// <c>parley.admin.&lt;name&gt;.room-occupants</c> (a room's bare JID) with the occupants of that room on its chat
/// service, and asks the node that runs a room (<see cref="RoomPlacement"/>) when it is not this one. Its occupants may
/// be connected to any node; the room knows them all. Over the administrative connection (<see cref="AdminBus"/>).
/// </summary>
public sealed class BusRoomOccupants(ClusterView view, RoomPlacement placement, AdminBus bus, MucService? chat = null) : BackgroundService, IRoomsElsewhere
{
    private static string Subject(string node) => AdminBus.SubjectOf(node) + ".room-occupants";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        bus.AnswerAsync<IReadOnlyList<RoomOccupant>>(Subject(view.Self), async text =>
            chat is not null && Jid.TryParse(text, out var room) ? await chat.OccupantsAsync(room).ConfigureAwait(false) : [], stoppingToken);

    public async Task<IReadOnlyList<RoomOccupant>?> OccupantsAsync(Jid room, CancellationToken cancellationToken) =>
        placement.HostedElsewhere(room) is { } host
            ? await bus.AskAsync<List<RoomOccupant>>(Subject(host.Name), room.ToString(), cancellationToken).ConfigureAwait(false) ?? []
            : null;
}
