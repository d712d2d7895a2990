using Parley.Protocol.Precis;
using Parley.Server.ModuleContract;

namespace Parley.Server.Modules.Muc;

/// <summary>Parley:Muc, the multi-user chat module's options (XEP-0045).</summary>
public sealed class MucOptions : IModuleOptions
{
    /// <summary>The multi-user chat service is hosted at SUBDOMAIN.DOMAIN for every served domain (XEP-0045).</summary>
    public string Subdomain { get; set; } = "conference";

    /// <summary>Temporary (ad hoc) rooms one user may have created that still exist; 0 = unlimited.</summary>
    public int MaxRoomsPerUser { get; set; } = 10;

    /// <summary>Occupants one room may have; the upper bound of a room's muc#roomconfig_maxusers. 0 = unlimited.</summary>
    public int MaxOccupantsPerRoom { get; set; } = 1000;

    /// <summary>Bare JIDs (or domains) of the users who may make a room persistent; empty = every user.</summary>
    public List<string> PersistentRoomCreators { get; set; } = [];

    /// <summary>Messages a room keeps for the discussion history sent on join (XEP-0045 §7.2.14).</summary>
    public int HistoryMessages { get; set; } = 50;

    public IEnumerable<string> Validate(string section)
    {
        if (!Precis.TryPrepareDomainpart(Subdomain, out var subdomain, out _) || subdomain != Subdomain || subdomain.Contains('.'))
        {
            yield return $"{section}:Subdomain: '{Subdomain}' is not one lower-case DNS label such as 'conference'.";
        }
        if (MaxRoomsPerUser < 0 || MaxOccupantsPerRoom < 0 || HistoryMessages < 0)
        {
            yield return $"{section}: MaxRoomsPerUser, MaxOccupantsPerRoom and HistoryMessages must not be negative.";
        }
    }
}
