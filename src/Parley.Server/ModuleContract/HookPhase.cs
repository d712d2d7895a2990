namespace Parley.Server.ModuleContract;

/// <summary>
/// Where a module's stanza hook runs among the others (client-stanza and inbound hooks run in
/// ascending order; hooks of one phase in the order their modules registered). All phases are named
/// here, so the order of the whole pipeline reads in one place.
/// </summary>
public enum HookPhase
{
    /// <summary>XEP-0191: stanzas to or from a blocked JID are refused or dropped before presence, roster, archive or offline handling see them.</summary>
    Blocking = 10,

    /// <summary>XEP-0115: capabilities learnt from the answers to the server's disco#info requests.</summary>
    CapsFromDisco = 20,

    /// <summary>XEP-0153: the avatar hash stamped on outgoing presence.</summary>
    AvatarHash = 50,

    /// <summary>XEP-0115/0163: a presence's caps noted, for PEP notifications.</summary>
    CapsFromPresence = 60,

    /// <summary>RFC 6121: presence broadcast, probes and subscriptions.</summary>
    Presence = 100,

    /// <summary>XEP-0163: a contact's PEP event, addressed to the account, handed to its sessions that asked for the node.</summary>
    PepNotifications = 120,

    /// <summary>XEP-0313: the message archived (and its stanza-id added), after every module that may drop or answer it itself.</summary>
    Archive = 900,

    /// <summary>XEP-0280: copies of a sent message to the sender's other resources, once blocking refused what may not go out and the archive saw it.</summary>
    CarbonCopies = 950,

    /// <summary>XEP-0280: the &lt;private/&gt; marker removed, last of the inbound hooks that change messages, so the stripped copy is what is delivered.</summary>
    CarbonPrivacy = 960,
}
