using Parley.Protocol;
using Parley.Server.Modules.Muc;

namespace Parley.Server.Administration;

/// <summary>
/// The occupants of the chat rooms that run on other nodes of a cluster (a room runs on one node at a time), as the
/// node running each answers over the bus (Parley.Cluster); on a node that runs alone every room runs here.
/// </summary>
public interface IRoomsElsewhere
{
    /// <summary>Who is in <paramref name="room"/> when another node runs it (none when that node does not answer in time); null when this node runs it.</summary>
    Task<IReadOnlyList<RoomOccupant>?> OccupantsAsync(Jid room, CancellationToken cancellationToken);
}

/// <summary>A node that runs alone runs every room.</summary>
public sealed class NoRoomsElsewhere : IRoomsElsewhere
{
    public Task<IReadOnlyList<RoomOccupant>?> OccupantsAsync(Jid room, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<RoomOccupant>?>(null);
}

/// <summary>
/// Who is in a room now, for the console and the REST API, from the node that runs it; none when the chat service is
/// switched off (<paramref name="chat"/> is null then).
/// </summary>
public sealed class RoomOccupants(IRoomsElsewhere elsewhere, MucService? chat = null)
{
    public async Task<IReadOnlyList<RoomOccupant>> ListAsync(Jid room, CancellationToken cancellationToken = default) =>
        await elsewhere.OccupantsAsync(room.Bare, cancellationToken).ConfigureAwait(false)
        ?? (chat is null ? [] : await chat.OccupantsAsync(room.Bare).ConfigureAwait(false));
}
