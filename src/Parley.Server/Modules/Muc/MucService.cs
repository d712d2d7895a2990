using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Server.Diagnostics;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>
/// The multi-user chat service of every served domain (conference.DOMAIN): finds, loads and creates rooms,
/// hands each stanza to its room under the room's gate, and answers what is addressed to the service itself.
/// Rooms in use live in memory; persistent rooms are loaded from storage on first use and unloaded when
/// their last occupant leaves. Changes made with `parley room` reach rooms in memory through node notices.
/// </summary>
public sealed partial class MucService(MucOptions options, IParleyStorage storage, Router router, TimeProvider time, ParleyMetrics metrics, ILogger<MucService> logger)
{
    private readonly ConcurrentDictionary<Jid, Room> _rooms = new();
    private readonly SemaphoreSlim _roomsGate = new(1, 1);

    public MucOptions Options { get; } = options;
    public IParleyStorage Storage { get; } = storage;
    public Router Router { get; } = router;

    public TimeProvider Time { get; } = time;

    public ILogger Logger { get; } = logger;

    /// <summary>Appends <paramref name="message"/> to a room's archive, timed as the users' archives are; returns its stanza id.</summary>
    public async Task<string> ArchiveAsync(Jid room, string with, DateTimeOffset stamp, Element message)
    {
        var started = Stopwatch.GetTimestamp();
        var id = await Storage.Archive.AppendAsync(room.ToString(), with, stamp, message).ConfigureAwait(false);
        metrics.RoomArchiveAppended(started);
        return id;
    }

    /// <summary>Rooms in memory now (occupied, or being created).</summary>
    public int LoadedRooms => _rooms.Count;

    public async ValueTask HandleAsync(ServiceStanza stanza)
    {
        try
        {
            if (stanza.To.Local is null)
            {
                await ServiceStanzaAsync(stanza).ConfigureAwait(false);
                return;
            }
            while (true)
            {
                var room = await FindOrCreateAsync(stanza).ConfigureAwait(false);
                if (room is null)
                {
                    return;
                }
                await room.Gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    // Destroyed or unloaded while this stanza waited: look again (it may be created anew).
                    if (room.IsClosed)
                    {
                        continue;
                    }
                    await room.HandleAsync(stanza).ConfigureAwait(false);
                    return;
                }
                finally
                {
                    room.Gate.Release();
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStanzaFailed(Logger, e, stanza.Stanza.Name, stanza.From.ToString(), stanza.To.ToString());
            await ErrorAsync(stanza, StanzaError.InternalServerError()).ConfigureAwait(false);
        }
    }

    /// <summary>Answers a stanza with an error from the address it was sent to (never an error to an error).</summary>
    public ValueTask ErrorAsync(ServiceStanza stanza, StanzaError error) =>
        Stanzas.IsError(stanza.Stanza) ? ValueTask.CompletedTask : Router.RouteAsync(Stanzas.ErrorReply(stanza.Stanza, error), stanza.To, stanza.From);

    public ValueTask ResultAsync(ServiceStanza iq, Element? payload = null) =>
        Router.RouteAsync(Stanzas.IqResult(iq.Stanza, payload), iq.To, iq.From);

    /// <summary>The room in memory, else the persistent room from storage, else a new room when the stanza is a join.</summary>
    private async ValueTask<Room?> FindOrCreateAsync(ServiceStanza stanza)
    {
        var roomJid = stanza.To.Bare;
        if (_rooms.TryGetValue(roomJid, out var room))
        {
            return room;
        }
        await _roomsGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_rooms.TryGetValue(roomJid, out room))
            {
                return room;
            }
            if (await Storage.Rooms.GetAsync(roomJid.ToString()).ConfigureAwait(false) is { } stored)
            {
                room = await Room.LoadAsync(this, stored).ConfigureAwait(false);
                _rooms[roomJid] = room;
                return room;
            }
            var isJoin = stanza.Stanza.Name == "presence" && stanza.Stanza.GetAttribute("type") is null;
            if (!isJoin)
            {
                // Presence to a missing room is dropped, and so is an IQ result (RFC 6120 §8.2.3: an answer is never answered).
                if (IsSelfPing(stanza))
                {
                    // XEP-0410: item-not-found would tell the client it is still in; a room that went (with the node that
                    // ran it) has no occupants, and not-acceptable tells it to join again.
                    await ErrorAsync(stanza, StanzaError.NotAcceptable($"You are not in {roomJid}: there is no such room now.")).ConfigureAwait(false);
                }
                else if (stanza.Stanza.Name != "presence" && stanza.Stanza.GetAttribute("type") != "result")
                {
                    await ErrorAsync(stanza, StanzaError.ItemNotFound($"There is no room {roomJid}.")).ConfigureAwait(false);
                }
                return null;
            }
            if (stanza.To.Resource is null)
            {
                await ErrorAsync(stanza, StanzaError.JidMalformed("Join a room as room@service/nickname.")).ConfigureAwait(false);
                return null;
            }
            var creator = stanza.From.Bare;
            if (Options.MaxRoomsPerUser > 0 && AdHocRoomsOf(creator) >= Options.MaxRoomsPerUser)
            {
                await ErrorAsync(stanza, StanzaError.ResourceConstraint($"You may have at most {Options.MaxRoomsPerUser} rooms at a time.")).ConfigureAwait(false);
                return null;
            }
            // A client that speaks MUC gets a reserved (locked) room to configure; an older one an instant room (§10.1).
            var locked = stanza.Stanza.Child("x", Ns.Muc) is not null;
            room = Room.Create(this, roomJid, creator, locked, Time.GetUtcNow());
            _rooms[roomJid] = room;
            return room;
        }
        finally
        {
            _roomsGate.Release();
        }
    }

    /// <summary>A ping to a nickname in the room: how a client checks that it is still an occupant (XEP-0410).</summary>
    private static bool IsSelfPing(ServiceStanza stanza) =>
        stanza.To.Resource is not null && stanza.Stanza.Name == "iq" && stanza.Stanza.GetAttribute("type") == "get"
        && stanza.Stanza.Child("ping", Ns.Ping) is not null;

    /// <summary>A room that was destroyed, or emptied and unloaded, leaves memory.</summary>
    public async ValueTask RemoveAsync(Room room)
    {
        await _roomsGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _rooms.TryRemove(new KeyValuePair<Jid, Room>(room.Jid, room));
        }
        finally
        {
            _roomsGate.Release();
        }
    }

    /// <summary>
    /// In a cluster, the rooms in memory that run on another node now (a node came up, or this one is failed over by
    /// hand) leave this node: their occupants are told and join again there. Returns how many left.
    /// </summary>
    public async ValueTask<int> HandOffRoomsAsync(Func<Jid, bool> runsElsewhere)
    {
        var handedOff = 0;
        foreach (var room in _rooms.Values)
        {
            if (runsElsewhere(room.Jid))
            {
                await UnderGateAsync(room, async () =>
                {
                    await room.HandOffAsync().ConfigureAwait(false);
                    handedOff++;
                }).ConfigureAwait(false);
            }
        }
        return handedOff;
    }

    /// <summary>
    /// An account was deleted: rooms in memory drop its affiliations (stored rooms lose them with the account's
    /// data), so that a new account of the same name inherits no ownership, membership or ban.
    /// </summary>
    public async ValueTask ForgetAccountAsync(Jid account)
    {
        foreach (var room in _rooms.Values)
        {
            await UnderGateAsync(room, () => room.ForgetAffiliationAsync(account)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The administrator (`parley room create|configure|destroy`) changed a stored room. A room in memory takes the stored state under its
    /// gate, or, gone from storage, is destroyed for its occupants and can no longer save itself back. A room not in
    /// memory needs nothing: it loads the new state when next used.
    /// </summary>
    public async ValueTask RoomChangedByAdministratorAsync(Jid roomJid)
    {
        if (_rooms.TryGetValue(roomJid.Bare, out var room))
        {
            await UnderGateAsync(room, async () =>
            {
                if (await Storage.Rooms.GetAsync(room.Jid.ToString()).ConfigureAwait(false) is { } stored)
                {
                    await room.TakeStoredAsync(stored).ConfigureAwait(false);
                }
                else if (room.IsStored)
                {
                    // A temporary room was never stored, so its absence from storage says nothing about it.
                    await room.DestroyAsync(alternate: null, "Destroyed by the administrator", password: null).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }
    }

    /// <summary>Who is in a room now, for administrators; none when the room is not in memory (no one is in it).</summary>
    public async ValueTask<IReadOnlyList<RoomOccupant>> OccupantsAsync(Jid roomJid)
    {
        IReadOnlyList<RoomOccupant> occupants = [];
        if (_rooms.TryGetValue(roomJid.Bare, out var room))
        {
            await UnderGateAsync(room, () =>
            {
                occupants = room.ListOccupants();
                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);
        }
        return occupants;
    }

    /// <summary>Runs <paramref name="action"/> on a room in memory under its gate, unless it was closed meanwhile.</summary>
    private static async ValueTask UnderGateAsync(Room room, Func<ValueTask> action)
    {
        await room.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!room.IsClosed)
            {
                await action().ConfigureAwait(false);
            }
        }
        finally
        {
            room.Gate.Release();
        }
    }

    /// <summary>Temporary rooms <paramref name="creator"/> created that still exist; creating rooms is rare, so a scan will do.</summary>
    private int AdHocRoomsOf(Jid creator)
    {
        var count = 0;
        foreach (var room in _rooms.Values)
        {
            if (creator.Equals(room.Creator) && !room.Configuration.Persistent)
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>Whether <paramref name="user"/> may make a room persistent (Parley:Muc:PersistentRoomCreators).</summary>
    public bool MayCreatePersistentRooms(Jid user)
    {
        if (Options.PersistentRoomCreators.Count == 0)
        {
            return true;
        }
        foreach (var allowed in Options.PersistentRoomCreators)
        {
            if (string.Equals(allowed, user.Bare.ToString(), StringComparison.OrdinalIgnoreCase) || string.Equals(allowed, user.Domain, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private async ValueTask ServiceStanzaAsync(ServiceStanza stanza)
    {
        var iq = stanza.Stanza;
        if (iq.Name != "iq" || iq.GetAttribute("type") is not ("get" or "set"))
        {
            if (iq.Name == "message")
            {
                await ErrorAsync(stanza, StanzaError.BadRequest("Send messages to a room, not to the service.")).ConfigureAwait(false);
            }
            return;
        }
        var payload = iq.Children().FirstOrDefault();
        var isGet = iq.GetAttribute("type") == "get";
        switch (payload?.Namespace)
        {
            case Ns.DiscoInfo when isGet && payload.GetAttribute("node") is null:
                await ResultAsync(stanza, ServiceInfo()).ConfigureAwait(false);
                break;
            case Ns.DiscoItems when isGet && payload.GetAttribute("node") is null:
                await ResultAsync(stanza, await PublicRoomsAsync(stanza.To.Domain).ConfigureAwait(false)).ConfigureAwait(false);
                break;
            case Ns.MucUnique when isGet:
                await ResultAsync(stanza, new Element("unique", Ns.MucUnique).AddText(UniqueRoomName())).ConfigureAwait(false);
                break;
            case Ns.Ping when isGet:
                await ResultAsync(stanza).ConfigureAwait(false);
                break;
            default:
                await ErrorAsync(stanza, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>XEP-0421 §5: every room gives occupant ids, so the service says so too.</summary>
    private static Element ServiceInfo()
    {
        var query = new Element("query", Ns.DiscoInfo);
        query.AddChild("identity").SetAttribute("category", "conference").SetAttribute("type", "text").SetAttribute("name", "Chatrooms");
        foreach (var feature in new[] { Ns.DiscoInfo, Ns.DiscoItems, Ns.Muc, Ns.MucUnique, Ns.Ping, Ns.MucSelfPing, Ns.OccupantId })
        {
            query.AddChild("feature").SetAttribute("var", feature);
        }
        return query;
    }

    /// <summary>Public rooms: those in memory and the stored ones, once each (XEP-0045 §6.3).</summary>
    private async ValueTask<Element> PublicRoomsAsync(string service)
    {
        var query = new Element("query", Ns.DiscoItems);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var room in _rooms.Values)
        {
            if (room.Jid.Domain == service && room.IsListed && listed.Add(room.Jid.ToString()))
            {
                query.AddChild("item").SetAttribute("jid", room.Jid.ToString()).SetAttribute("name", room.DisplayName);
            }
        }
        foreach (var stored in await Storage.Rooms.ListAsync(service).ConfigureAwait(false))
        {
            var configuration = RoomConfiguration.FromStoredXml(stored.ConfigXml);
            if (configuration.Public && listed.Add(stored.Jid))
            {
                var name = configuration.Name.Length > 0 ? configuration.Name : Jid.Parse(stored.Jid).Local!;
                query.AddChild("item").SetAttribute("jid", stored.Jid).SetAttribute("name", name);
            }
        }
        return query;
    }

    /// <summary>A name no room has, for clients that ask (muc#unique): 128 random bits, base32.</summary>
    private static string UniqueRoomName()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var chars = new char[26];
        var bits = 0;
        var buffer = 0;
        var index = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                chars[index++] = Alphabet[(buffer >> bits) & 31];
            }
        }
        chars[index] = Alphabet[(buffer << (5 - bits)) & 31];
        return new string(chars);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The chat service failed on a {Stanza} from {From} to {To}")]
    private static partial void LogStanzaFailed(ILogger logger, Exception exception, string stanza, string from, string to);
}
