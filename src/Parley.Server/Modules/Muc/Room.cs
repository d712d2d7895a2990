using System.Globalization;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>A user's affiliation with a room, and the nickname they registered (§7.10).</summary>
public sealed record AffiliationEntry(Affiliation Affiliation, string? Nick, string? Reason);

/// <summary>
/// One chat room (XEP-0045): its configuration, affiliations, occupants, subject and recent history.
/// Every method runs under <see cref="Gate"/>, which <see cref="MucService"/> holds while the room handles a
/// stanza, so the room's state needs no other locking. This file: entering, leaving and presence.
/// </summary>
public sealed partial class Room
{
    private readonly MucService _service;
    private readonly Dictionary<string, Occupant> _occupants = new(StringComparer.Ordinal);
    private readonly Dictionary<Jid, Occupant> _bySession = [];
    private readonly Dictionary<Jid, AffiliationEntry> _affiliations = [];
    private readonly RoomHistory _history;
    private readonly OccupantIds _occupantIds;
    private readonly DateTimeOffset _createdAt;
    private string _subject = "";
    private string _subjectNick = "";
    private bool _stored;

    /// <summary>Created by this join: the first occupant gets 201.</summary>
    private bool _isNew;

    private Room(MucService service, Jid jid, RoomConfiguration configuration, DateTimeOffset createdAt, OccupantIds occupantIds)
    {
        _service = service;
        _occupantIds = occupantIds;
        Jid = jid;
        Configuration = configuration;
        _createdAt = createdAt;
        _history = new RoomHistory(service.Options.HistoryMessages);
    }

    public Jid Jid { get; }

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Destroyed, or unloaded once empty; a stanza that finds it closed looks the room up again.</summary>
    public bool IsClosed { get; private set; }

    public RoomConfiguration Configuration { get; private set; }

    /// <summary>The room is in storage (persistent), as far as this node wrote or read it.</summary>
    public bool IsStored => _stored;

    /// <summary>A reserved room waiting for its owner's configuration (§10.1.3): nobody else may enter.</summary>
    public bool IsLocked { get; private set; }

    /// <summary>Who created the room in this run of the node (the ad hoc room limit counts it), or null for a loaded room.</summary>
    public Jid? Creator { get; }

    public int OccupantCount => _occupants.Count;

    /// <summary>The occupants as administrators see them, ordered by nickname; call under <see cref="Gate"/>.</summary>
    public IReadOnlyList<RoomOccupant> ListOccupants() =>
        [.. _occupants.Values.OrderBy(o => o.Nick, StringComparer.Ordinal).Select(o => new RoomOccupant(o.Nick, o.RealBareJid.ToString(), o.Role, o.Affiliation))];

    /// <summary>Listed in the service's disco#items.</summary>
    public bool IsListed => Configuration.Public && !IsLocked && !IsClosed;

    public string DisplayName => Configuration.Name.Length > 0 ? Configuration.Name : Jid.Local!;

    public static Room Create(MucService service, Jid jid, Jid creator, bool locked, DateTimeOffset now)
    {
        var room = new Room(service, jid, new RoomConfiguration(), now, OccupantIds.CreateNew(), creator) { IsLocked = locked, _isNew = true };
        room._affiliations[creator] = new AffiliationEntry(Affiliation.Owner, null, null);
        return room;
    }

    private Room(MucService service, Jid jid, RoomConfiguration configuration, DateTimeOffset createdAt, OccupantIds occupantIds, Jid creator)
        : this(service, jid, configuration, createdAt, occupantIds) => Creator = creator;

    /// <summary>A persistent room from storage, with its last messages from the archive as discussion history.</summary>
    public static async ValueTask<Room> LoadAsync(MucService service, StoredRoom stored)
    {
        var jid = Jid.Parse(stored.Jid);
        var occupantIds = await OccupantIds.LoadOrCreateAsync(service.Storage.Documents, jid).ConfigureAwait(false);
        var room = new Room(service, jid, RoomConfiguration.FromStoredXml(stored.ConfigXml), stored.CreatedAt, occupantIds)
        {
            _subject = stored.Subject,
            _subjectNick = stored.SubjectNick,
            _stored = true,
        };
        foreach (var affiliation in await service.Storage.Rooms.GetAffiliationsAsync(stored.Jid).ConfigureAwait(false))
        {
            if (Jid.TryParse(affiliation.Jid, out var user) && MucNames.TryParseAffiliation(affiliation.Affiliation, out var value))
            {
                room._affiliations[user] = new AffiliationEntry(value, affiliation.Nick, affiliation.Reason);
            }
        }
        if (service.Options.HistoryMessages > 0)
        {
            var page = await service.Storage.Archive.QueryAsync(new ArchiveQuery(stored.Jid, Max: service.Options.HistoryMessages, FromEnd: true)).ConfigureAwait(false);
            foreach (var message in page.Messages)
            {
                room._history.Add(WithStanzaId(ElementParser.Parse(message.Xml, Ns.Client), message.Id, jid), jid, message.Stamp);
            }
        }
        return room;
    }

    public ValueTask HandleAsync(ServiceStanza stanza) => stanza.Stanza.Name switch
    {
        "presence" => PresenceAsync(stanza),
        "message" => MessageAsync(stanza),
        "iq" => IqAsync(stanza),
        _ => ValueTask.CompletedTask,
    };

    public Affiliation AffiliationOf(Jid user) =>
        _affiliations.TryGetValue(user.Bare, out var entry) ? entry.Affiliation
        : _affiliations.TryGetValue(Jid.Create(null, user.Domain), out var domain) ? domain.Affiliation
        : Affiliation.None;

    private Role DefaultRole(Affiliation affiliation) => affiliation switch
    {
        Affiliation.Owner or Affiliation.Admin => Role.Moderator,
        Affiliation.Member => Role.Participant,
        Affiliation.None => Configuration.Moderated ? Role.Visitor : Role.Participant,
        _ => Role.None,
    };

    private ValueTask ErrorAsync(ServiceStanza stanza, StanzaError error) => _service.ErrorAsync(stanza, error);

    private ValueTask SendAsync(Element stanza, Jid from, Jid to) => _service.Router.RouteAsync(stanza, from, to);

    private async ValueTask PresenceAsync(ServiceStanza stanza)
    {
        var presence = stanza.Stanza;
        var type = presence.GetAttribute("type");
        if (type is "unavailable" or "error")
        {
            // An error from an occupant's client means it is gone (a "ghost"); it leaves like one that said so.
            if (_bySession.TryGetValue(stanza.From, out var leaving))
            {
                await LeaveAsync(leaving, stanza.From, type == "error" ? null : presence).ConfigureAwait(false);
            }
            return;
        }
        if (type is not null)
        {
            // Subscriptions and probes mean nothing to a room.
            return;
        }
        if (stanza.To.Resource is null)
        {
            await ErrorAsync(stanza, StanzaError.JidMalformed("Join a room as room@service/nickname.")).ConfigureAwait(false);
            return;
        }
        if (_bySession.TryGetValue(stanza.From, out var occupant))
        {
            if (occupant.Nick == stanza.To.Resource)
            {
                await PresenceUpdateAsync(occupant, stanza.From, presence).ConfigureAwait(false);
            }
            else
            {
                await ChangeNickAsync(stanza, occupant).ConfigureAwait(false);
            }
            return;
        }
        await JoinAsync(stanza).ConfigureAwait(false);
    }

    /// <summary>§7.2: the checks in the order that tells the user the most useful reason, then the join itself.</summary>
    private async ValueTask JoinAsync(ServiceStanza stanza)
    {
        var user = stanza.From;
        var nick = stanza.To.Resource!;
        var affiliation = AffiliationOf(user);
        var mucX = stanza.Stanza.Child("x", Ns.Muc);
        _occupants.TryGetValue(nick, out var sameNick);
        var error = sameNick is not null && !sameNick.RealBareJid.Equals(user.Bare) ? StanzaError.Conflict("That nickname is in use by another occupant.")
            : IsLocked && affiliation != Affiliation.Owner ? StanzaError.ItemNotFound("The room is locked until its owner configures it.")
            : affiliation == Affiliation.Outcast ? StanzaError.Forbidden("You are banned from this room.")
            : Configuration.MembersOnly && affiliation < Affiliation.Member ? new StanzaError("registration-required", ErrorType.Auth, "Only members may enter this room.")
            : Configuration.PasswordProtected && mucX?.ChildText("password", Ns.Muc) != Configuration.Password ? StanzaError.NotAuthorized("A correct password is required to enter this room.")
            : sameNick is null && IsFull() && affiliation < Affiliation.Admin ? new StanzaError("service-unavailable", ErrorType.Wait, "The room is full.")
            : NickRegisteredByOther(nick, user) ? StanzaError.Conflict("That nickname is registered by another user.")
            : (StanzaError?)null;
        if (error is { } refused)
        {
            await ErrorAsync(stanza, refused).ConfigureAwait(false);
            if (_occupants.Count == 0)
            {
                await CloseIfEmptyAsync().ConfigureAwait(false);
            }
            return;
        }

        var created = _isNew;
        _isNew = false;
        var session = new OccupantSession(user, stanza.Stanza);
        if (sameNick is not null)
        {
            // The same user from another device joins the same occupant (one nickname, several sessions).
            sameNick.Sessions.Add(session);
            _bySession[user] = sameNick;
            await SendOccupantsToAsync(user, sameNick).ConfigureAwait(false);
            await SendSelfPresenceAsync(sameNick, session, StatusCodesOnJoin(created: false)).ConfigureAwait(false);
            await SendHistoryAndSubjectAsync(user, mucX).ConfigureAwait(false);
            return;
        }

        var occupant = new Occupant(stanza.To, user.Bare, _occupantIds.Of(user)) { Affiliation = affiliation, Role = DefaultRole(affiliation) };
        occupant.Sessions.Add(session);
        await SendOccupantsToAsync(user, occupant).ConfigureAwait(false);
        _occupants[nick] = occupant;
        _bySession[user] = occupant;
        await BroadcastPresenceAsync(occupant, type: null, otherCodes: [], selfCodes: StatusCodesOnJoin(created)).ConfigureAwait(false);
        if (created && IsLocked)
        {
            // §10.1.2: the owner is told the room waits for configuration.
            var notice = new Element("message", Ns.Client).SetAttribute("type", "groupchat").SetAttribute("from", Jid.ToString());
            notice.AddChild("body").AddText("The room is locked until you configure it or accept the default configuration (an instant room).");
            await SendAsync(notice, Jid, user).ConfigureAwait(false);
        }
        await SendHistoryAndSubjectAsync(user, mucX).ConfigureAwait(false);
    }

    private int[] StatusCodesOnJoin(bool created)
    {
        var codes = new List<int>(3);
        if (Configuration.NonAnonymous)
        {
            codes.Add(100);
        }
        if (Configuration.IsArchived)
        {
            codes.Add(170);
        }
        if (created)
        {
            codes.Add(201);
        }
        return [.. codes];
    }

    private bool IsFull()
    {
        var limit = Configuration.MaxUsers > 0 ? Configuration.MaxUsers : _service.Options.MaxOccupantsPerRoom;
        return limit > 0 && _occupants.Count >= limit;
    }

    private bool NickRegisteredByOther(string nick, Jid user)
    {
        foreach (var (jid, entry) in _affiliations)
        {
            if (entry.Nick == nick && !jid.Equals(user.Bare))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>§7.2.3: the presence of every occupant already there, to a joining session.</summary>
    private async ValueTask SendOccupantsToAsync(Jid session, Occupant joining)
    {
        var seesJids = Configuration.NonAnonymous || joining.Role == Role.Moderator;
        foreach (var occupant in _occupants.Values)
        {
            if (ReferenceEquals(occupant, joining))
            {
                continue;
            }
            var presence = OccupantPresence(occupant, occupant.Presence, null, seesJids, []);
            presence.SetAttribute("to", session.ToString());
            await SendAsync(presence, occupant.OccupantJid, session).ConfigureAwait(false);
        }
    }

    private async ValueTask SendHistoryAndSubjectAsync(Jid session, Element? mucX)
    {
        var history = mucX?.Child("history", Ns.Muc);
        var maxStanzas = Math.Max(0, Configuration.MaxHistoryFetch);
        int? maxChars = null;
        DateTimeOffset? since = null;
        if (history is not null)
        {
            if (int.TryParse(history.GetAttribute("maxstanzas"), NumberStyles.None, CultureInfo.InvariantCulture, out var stanzas))
            {
                maxStanzas = Math.Min(maxStanzas, stanzas);
            }
            if (int.TryParse(history.GetAttribute("maxchars"), NumberStyles.None, CultureInfo.InvariantCulture, out var chars))
            {
                maxChars = chars;
            }
            if (int.TryParse(history.GetAttribute("seconds"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                since = _service.Time.GetUtcNow().AddSeconds(-seconds);
            }
            if (history.GetAttribute("since") is { } sinceText
                && XmppDateTime.TryParse(sinceText, out var sinceStamp)
                && (since is null || sinceStamp > since))
            {
                since = sinceStamp;
            }
        }
        foreach (var entry in _history.Select(maxStanzas, maxChars, since))
        {
            await SendAsync(entry.Delayed, Jid.Parse(entry.Delayed.GetAttribute("from")!), session).ConfigureAwait(false);
        }
        // §7.2.15: the subject always comes last, empty when there is none, and marks the end of the join.
        var from = _subjectNick.Length > 0 ? Jid.WithResource(_subjectNick) : Jid;
        var subject = new Element("message", Ns.Client).SetAttribute("type", "groupchat").SetAttribute("from", from.ToString()).SetAttribute("to", session.ToString());
        subject.AddChild("subject").AddText(_subject);
        await SendAsync(subject, from, session).ConfigureAwait(false);
    }

    private async ValueTask PresenceUpdateAsync(Occupant occupant, Jid session, Element presence)
    {
        occupant.Find(session)!.Presence = presence;
        // The latest device's presence is the one the room shows.
        var index = occupant.Sessions.FindIndex(s => s.FullJid.Equals(session));
        var moved = occupant.Sessions[index];
        occupant.Sessions.RemoveAt(index);
        occupant.Sessions.Add(moved);
        await BroadcastPresenceAsync(occupant, type: null, otherCodes: [], selfCodes: []).ConfigureAwait(false);
    }

    /// <summary>§7.6: unavailable from the old nickname with 303 and the new one, then available from the new.</summary>
    private async ValueTask ChangeNickAsync(ServiceStanza stanza, Occupant occupant)
    {
        var nick = stanza.To.Resource!;
        if (_occupants.ContainsKey(nick) || NickRegisteredByOther(nick, stanza.From))
        {
            await ErrorAsync(stanza, StanzaError.Conflict("That nickname is in use by another occupant.")).ConfigureAwait(false);
            return;
        }
        await BroadcastPresenceAsync(occupant, "unavailable", otherCodes: [303], selfCodes: [303], newNick: nick).ConfigureAwait(false);
        _occupants.Remove(occupant.Nick);
        occupant.OccupantJid = stanza.To;
        occupant.Find(stanza.From)!.Presence = stanza.Stanza;
        _occupants[nick] = occupant;
        await BroadcastPresenceAsync(occupant, type: null, otherCodes: [], selfCodes: []).ConfigureAwait(false);
    }

    private async ValueTask LeaveAsync(Occupant occupant, Jid session, Element? presence)
    {
        var leaving = occupant.Find(session)!;
        _bySession.Remove(session);
        if (occupant.Sessions.Count > 1)
        {
            // Another device stays: only the leaving one hears that it left.
            occupant.Sessions.Remove(leaving);
            var self = OccupantPresence(occupant, presence ?? leaving.Presence, "unavailable", seesJid: true, [110], roleOverride: Role.None);
            self.SetAttribute("to", session.ToString());
            await SendAsync(self, occupant.OccupantJid, session).ConfigureAwait(false);
            return;
        }
        if (presence is not null)
        {
            leaving.Presence = presence;
        }
        await RemoveOccupantAsync(occupant, otherCodes: [], selfCodes: []).ConfigureAwait(false);
        await CloseIfEmptyAsync().ConfigureAwait(false);
    }

    /// <summary>Takes the occupant out and tells everyone, the occupant's devices included (with 110).</summary>
    private async ValueTask RemoveOccupantAsync(Occupant occupant, int[] otherCodes, int[] selfCodes, Action<Element, Element>? addToX = null)
    {
        var role = occupant.Role;
        occupant.Role = Role.None;
        await BroadcastPresenceAsync(occupant, "unavailable", otherCodes, selfCodes, addToX: addToX).ConfigureAwait(false);
        occupant.Role = role;
        _occupants.Remove(occupant.Nick);
        foreach (var session in occupant.Sessions)
        {
            _bySession.Remove(session.FullJid);
        }
    }

    /// <summary>An empty room leaves memory: a temporary one is gone for good, a persistent one is unloaded.</summary>
    private async ValueTask CloseIfEmptyAsync()
    {
        if (_occupants.Count > 0 || IsClosed)
        {
            return;
        }
        IsClosed = true;
        await _service.RemoveAsync(this).ConfigureAwait(false);
    }

    /// <summary>
    /// Tells every occupant about <paramref name="subject"/>'s presence: each other occupant gets it with or without
    /// the real JID (built once for each), the subject's own devices get it with 110 and the codes for them.
    /// </summary>
    private async ValueTask BroadcastPresenceAsync(Occupant subject, string? type, int[] otherCodes, int[] selfCodes, string? newNick = null, Action<Element, Element>? addToX = null, Element? source = null)
    {
        Element? withJid = null;
        Element? withoutJid = null;
        var presence = source ?? subject.Presence;
        foreach (var occupant in _occupants.Values)
        {
            if (ReferenceEquals(occupant, subject))
            {
                continue;
            }
            var seesJid = Configuration.NonAnonymous || occupant.Role == Role.Moderator;
            var shared = seesJid
                ? withJid ??= OccupantPresence(subject, presence, type, true, otherCodes, newNick: newNick, addToX: addToX)
                : withoutJid ??= OccupantPresence(subject, presence, type, false, otherCodes, newNick: newNick, addToX: addToX);
            foreach (var session in occupant.Sessions)
            {
                await SendAsync(Addressed(shared, session.FullJid), subject.OccupantJid, session.FullJid).ConfigureAwait(false);
            }
        }
        if (_occupants.ContainsKey(subject.Nick) || type == "unavailable")
        {
            int[] codes = [110, .. selfCodes];
            var self = OccupantPresence(subject, presence, type, true, codes, newNick: newNick, addToX: addToX);
            foreach (var session in subject.Sessions)
            {
                await SendAsync(Addressed(self, session.FullJid), subject.OccupantJid, session.FullJid).ConfigureAwait(false);
            }
        }
    }

    private ValueTask SendSelfPresenceAsync(Occupant occupant, OccupantSession session, int[] codes)
    {
        var self = OccupantPresence(occupant, occupant.Presence, null, true, [110, .. codes]);
        self.SetAttribute("to", session.FullJid.ToString());
        return SendAsync(self, occupant.OccupantJid, session.FullJid);
    }

    /// <summary>Presence is addressed to each device: clients file it by 'to' (their roster code does), unlike groupchat messages.</summary>
    private static Element Addressed(Element presence, Jid to)
    {
        var copy = new Element(presence.Name, presence.Namespace);
        foreach (var attribute in presence.Attributes)
        {
            copy.SetAttribute(attribute.Name, attribute.Value);
        }
        copy.SetAttribute("to", to.ToString());
        foreach (var node in presence.Nodes)
        {
            copy.Add(node);
        }
        return copy;
    }

    /// <summary>
    /// The room's presence for an occupant: the client's show/status/priority and extensions, without its MUC
    /// elements, plus &lt;x xmlns='muc#user'&gt; with the item (the real JID when <paramref name="seesJid"/>) and status codes.
    /// </summary>
    private Element OccupantPresence(Occupant occupant, Element source, string? type, bool seesJid, int[] codes, Role? roleOverride = null, string? newNick = null, Action<Element, Element>? addToX = null)
    {
        var presence = new Element("presence", Ns.Client).SetAttribute("from", occupant.OccupantJid.ToString()).SetAttribute("type", type);
        foreach (var child in source.Children())
        {
            // XEP-0421 §4: an occupant-id from the client could impersonate another occupant; the room adds its own.
            if (child.Namespace is Ns.Muc or Ns.MucUser or Ns.OccupantId || (type == "unavailable" && child.Name is "show" or "priority"))
            {
                continue;
            }
            presence.Add(child);
        }
        var x = presence.AddChild("x", Ns.MucUser);
        var item = x.AddChild("item")
            .SetAttribute("affiliation", MucNames.Of(occupant.Affiliation))
            .SetAttribute("role", MucNames.Of(roleOverride ?? occupant.Role));
        if (seesJid)
        {
            item.SetAttribute("jid", occupant.RealJid.ToString());
        }
        if (newNick is not null)
        {
            item.SetAttribute("nick", newNick);
        }
        addToX?.Invoke(x, item);
        foreach (var code in codes)
        {
            x.AddChild("status").SetAttribute("code", code.ToString(CultureInfo.InvariantCulture));
        }
        AddOccupantId(presence, occupant);
        return presence;
    }
}
