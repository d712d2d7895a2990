namespace Parley.Server.Modules.Muc;

/// <summary>A cluster moves the room to another node.</summary>
public sealed partial class Room
{
    /// <summary>
    /// The room runs on another node of the cluster now: each occupant's devices hear that they are out of it because
    /// the service here shut down (XEP-0045 status code 332), so that their clients join again, which reaches the room where
    /// it runs now; then this copy closes. A persistent room's state is in storage already: each change is saved as it
    /// is made, and its messages are in the room's archive.
    /// </summary>
    public async ValueTask HandOffAsync()
    {
        foreach (var occupant in _occupants.Values)
        {
            foreach (var session in occupant.Sessions)
            {
                var self = OccupantPresence(occupant, session.Presence, "unavailable", seesJid: true, [110, 332], roleOverride: Role.None);
                self.SetAttribute("to", session.FullJid.ToString());
                await SendAsync(self, occupant.OccupantJid, session.FullJid).ConfigureAwait(false);
            }
        }
        _occupants.Clear();
        _bySession.Clear();
        IsClosed = true;
        await _service.RemoveAsync(this).ConfigureAwait(false);
    }
}
