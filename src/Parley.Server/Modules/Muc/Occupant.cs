using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>
/// One nickname in a room: a user, present from one or more of their devices (sessions) under that nickname.
/// Only the room touches it, under the room's gate.
/// </summary>
public sealed class Occupant(Jid occupantJid, Jid realBareJid, string occupantId)
{
    /// <summary>room@service/nick.</summary>
    public Jid OccupantJid { get; set; } = occupantJid;

    public string Nick => OccupantJid.Resource!;

    public Jid RealBareJid { get; } = realBareJid;

    /// <summary>XEP-0421: the room's stable, pseudonymous id for <see cref="RealBareJid"/>.</summary>
    public string OccupantId { get; } = occupantId;

    public Role Role { get; set; }

    public Affiliation Affiliation { get; set; }

    /// <summary>The user's sessions in the room, the most recent last, each with the presence it last sent to the room.</summary>
    public List<OccupantSession> Sessions { get; } = [];

    /// <summary>The presence the room shows for this occupant: the most recent device's.</summary>
    public Element Presence => Sessions[^1].Presence;

    public Jid RealJid => Sessions[^1].FullJid;

    public OccupantSession? Find(Jid fullJid)
    {
        foreach (var session in Sessions)
        {
            if (session.FullJid.Equals(fullJid))
            {
                return session;
            }
        }
        return null;
    }
}

/// <summary>One device of an occupant.</summary>
public sealed class OccupantSession(Jid fullJid, Element presence)
{
    public Jid FullJid { get; } = fullJid;
    public Element Presence { get; set; } = presence;
}

/// <summary>An occupant as the administration console lists it: nickname, the account behind it, role and affiliation.</summary>
public sealed record RoomOccupant(string Nick, string Account, Role Role, Affiliation Affiliation);
