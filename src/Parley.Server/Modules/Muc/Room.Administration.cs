using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.ModuleContract;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>Moderator, admin and owner use cases (XEP-0045 §8–§10), registration (§7.10) and destruction.</summary>
public sealed partial class Room
{
    /// <summary>§7.12: the disco#info node that asks the room for the requester's reserved nickname.</summary>
    private const string ReservedNickNode = "x-roomuser-item";

    private async ValueTask IqAsync(ServiceStanza stanza)
    {
        var iq = stanza.Stanza;
        var type = iq.GetAttribute("type");
        if (type is "result" or "error")
        {
            // The answer to an IQ the room passed on comes back to the requester's occupant JID.
            if (stanza.To.Resource is not null)
            {
                await OccupantAnswerAsync(stanza).ConfigureAwait(false);
            }
            return;
        }
        if (type is not ("get" or "set"))
        {
            return;
        }
        var payload = iq.Children().FirstOrDefault();
        if (payload is null)
        {
            await ErrorAsync(stanza, StanzaError.BadRequest("The IQ has no payload.")).ConfigureAwait(false);
            return;
        }
        var isGet = type == "get";
        if (stanza.To.Resource is not null)
        {
            await OccupantIqAsync(stanza, payload).ConfigureAwait(false);
            return;
        }
        switch (payload.Namespace)
        {
            case Ns.DiscoInfo when isGet && payload.GetAttribute("node") is { } node:
                await NodeInfoAsync(stanza, node).ConfigureAwait(false);
                break;
            case Ns.DiscoInfo when isGet:
                await _service.ResultAsync(stanza, Info()).ConfigureAwait(false);
                break;
            case Ns.DiscoItems when isGet && payload.GetAttribute("node") is not null:
                await ErrorAsync(stanza, StanzaError.ItemNotFound("The room has no such node.")).ConfigureAwait(false);
                break;
            case Ns.DiscoItems when isGet:
                await _service.ResultAsync(stanza, Items(stanza.From)).ConfigureAwait(false);
                break;
            case Ns.Ping when isGet:
                await _service.ResultAsync(stanza).ConfigureAwait(false);
                break;
            case Ns.MucAdmin:
                await (isGet ? AdminListAsync(stanza, payload) : AdminChangeAsync(stanza, payload)).ConfigureAwait(false);
                break;
            case Ns.MucOwner:
                await OwnerAsync(stanza, payload, isGet).ConfigureAwait(false);
                break;
            case Ns.Register:
                await RegisterAsync(stanza, payload, isGet).ConfigureAwait(false);
                break;
            case Ns.MessageModeration or Ns.Fasten when !isGet:
                await ModerateAsync(stanza, payload).ConfigureAwait(false);
                break;
            case Ns.Mam:
                await RoomArchive.QueryAsync(this, _service, stanza, payload, MayReadArchive(stanza.From)).ConfigureAwait(false);
                break;
            default:
                await ErrorAsync(stanza, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
                break;
        }
    }

    private bool MayReadArchive(Jid user) =>
        _bySession.ContainsKey(user) || AffiliationOf(user) >= (Configuration.MembersOnly ? Affiliation.Member : Affiliation.None) && AffiliationOf(user) != Affiliation.Outcast;

    /// <summary>§9.5, §9.8, §10.5, §10.8 and §8.5, §9.? lists: by affiliation (admins and owners) or by role (moderators).</summary>
    private async ValueTask AdminListAsync(ServiceStanza stanza, Element query)
    {
        var item = query.Child("item", Ns.MucAdmin);
        var requester = AffiliationOf(stanza.From);
        _bySession.TryGetValue(stanza.From, out var occupant);
        var result = new Element("query", Ns.MucAdmin);
        if (MucNames.TryParseAffiliation(item?.GetAttribute("affiliation"), out var affiliation) && affiliation != Affiliation.None)
        {
            // §9.5 lets members see the member list; like ejabberd and Prosody, only where real JIDs are no secret.
            var memberMaySee = requester >= Affiliation.Member && Configuration.NonAnonymous && affiliation != Affiliation.Outcast;
            if (requester < Affiliation.Admin && !memberMaySee)
            {
                await ErrorAsync(stanza, StanzaError.Forbidden("Only admins and owners may see affiliation lists, and members those of a non-anonymous room.")).ConfigureAwait(false);
                return;
            }
            foreach (var (jid, entry) in _affiliations)
            {
                if (entry.Affiliation == affiliation)
                {
                    var listed = result.AddChild("item").SetAttribute("affiliation", MucNames.Of(affiliation)).SetAttribute("jid", jid.ToString()).SetAttribute("nick", entry.Nick);
                    if (entry.Reason is not null)
                    {
                        listed.AddChild("reason").AddText(entry.Reason);
                    }
                }
            }
        }
        else if (MucNames.TryParseRole(item?.GetAttribute("role"), out var role) && role != Role.None)
        {
            if (occupant?.Role != Role.Moderator && requester < Affiliation.Admin)
            {
                await ErrorAsync(stanza, StanzaError.Forbidden("Only moderators may see role lists.")).ConfigureAwait(false);
                return;
            }
            foreach (var listed in _occupants.Values)
            {
                if (listed.Role == role)
                {
                    result.AddChild("item").SetAttribute("role", MucNames.Of(role)).SetAttribute("nick", listed.Nick)
                        .SetAttribute("affiliation", MucNames.Of(listed.Affiliation)).SetAttribute("jid", listed.RealJid.ToString());
                }
            }
        }
        else
        {
            await ErrorAsync(stanza, StanzaError.BadRequest("Ask for one affiliation (owner, admin, member, outcast) or one role (moderator, participant, visitor).")).ConfigureAwait(false);
            return;
        }
        await _service.ResultAsync(stanza, result).ConfigureAwait(false);
    }

    private sealed record RoleChange(Occupant Target, Role Role, string? Reason);

    private sealed record AffiliationChange(Jid Target, Affiliation Affiliation, string? Reason);

    /// <summary>§8 and §9: kick, voice, moderator (roles by nick) and ban, membership, admin, owner (affiliations by JID); all or nothing.</summary>
    private async ValueTask AdminChangeAsync(ServiceStanza stanza, Element query)
    {
        var requester = AffiliationOf(stanza.From);
        _bySession.TryGetValue(stanza.From, out var actor);
        var isModerator = actor?.Role == Role.Moderator || requester >= Affiliation.Admin;
        var roles = new List<RoleChange>();
        var affiliations = new List<AffiliationChange>();
        foreach (var item in query.Children("item", Ns.MucAdmin))
        {
            var reason = item.ChildText("reason", Ns.MucAdmin);
            var roleName = item.GetAttribute("role");
            var affiliationName = item.GetAttribute("affiliation");
            StanzaError? error = null;
            if (roleName is not null && affiliationName is not null)
            {
                error = StanzaError.BadRequest("An item changes a role or an affiliation, not both.");
            }
            else if (roleName is not null)
            {
                error = CheckRoleChange(item, roleName, reason, actor, requester, isModerator, roles);
            }
            else if (affiliationName is not null)
            {
                error = CheckAffiliationChange(item, affiliationName, reason, requester, affiliations);
            }
            else
            {
                error = StanzaError.BadRequest("An item needs a role or an affiliation.");
            }
            if (error is { } refused)
            {
                await ErrorAsync(stanza, refused).ConfigureAwait(false);
                return;
            }
        }
        if (roles.Count == 0 && affiliations.Count == 0)
        {
            await ErrorAsync(stanza, StanzaError.BadRequest("There is no item to change.")).ConfigureAwait(false);
            return;
        }
        if (!KeepsAnOwner(affiliations))
        {
            await ErrorAsync(stanza, StanzaError.Conflict("The room must keep at least one owner.")).ConfigureAwait(false);
            return;
        }
        foreach (var change in affiliations)
        {
            await SetAffiliationAsync(change.Target, change.Affiliation, change.Reason, actor).ConfigureAwait(false);
        }
        foreach (var change in roles)
        {
            if (_occupants.ContainsValue(change.Target))
            {
                await SetRoleAsync(change.Target, change.Role, actor, change.Reason).ConfigureAwait(false);
            }
        }
        await _service.ResultAsync(stanza).ConfigureAwait(false);
        await CloseIfEmptyAsync().ConfigureAwait(false);
    }

    private StanzaError? CheckRoleChange(Element item, string roleName, string? reason, Occupant? actor, Affiliation requester, bool isModerator, List<RoleChange> roles)
    {
        if (!MucNames.TryParseRole(roleName, out var role))
        {
            return StanzaError.BadRequest($"'{roleName}' is not a role.");
        }
        if (!isModerator)
        {
            return StanzaError.Forbidden("Only moderators may change roles.");
        }
        if (item.GetAttribute("nick") is not { } nick || !_occupants.TryGetValue(nick, out var target))
        {
            return StanzaError.ItemNotFound("Nobody in the room has that nickname.");
        }
        var actorRank = actor is null ? requester : (Affiliation)Math.Max((int)requester, (int)actor.Affiliation);
        switch (role)
        {
            case Role.None or Role.Visitor:
                if (target.Affiliation >= Affiliation.Admin || target.Affiliation > actorRank)
                {
                    return StanzaError.NotAllowed($"You may not {(role == Role.None ? "kick" : "silence")} an occupant with affiliation {MucNames.Of(target.Affiliation)}.");
                }
                break;
            case Role.Participant when target.Role == Role.Moderator:
                if (requester < Affiliation.Admin)
                {
                    return StanzaError.Forbidden("Only admins and owners may revoke moderator status.");
                }
                if (target.Affiliation >= Affiliation.Admin)
                {
                    return StanzaError.NotAllowed("Admins and owners are always moderators.");
                }
                break;
            case Role.Moderator:
                if (requester < Affiliation.Admin)
                {
                    return StanzaError.Forbidden("Only admins and owners may grant moderator status.");
                }
                break;
        }
        roles.Add(new RoleChange(target, role, reason));
        return null;
    }

    private StanzaError? CheckAffiliationChange(Element item, string affiliationName, string? reason, Affiliation requester, List<AffiliationChange> affiliations)
    {
        if (!MucNames.TryParseAffiliation(affiliationName, out var affiliation))
        {
            return StanzaError.BadRequest($"'{affiliationName}' is not an affiliation.");
        }
        if (requester < Affiliation.Admin)
        {
            return StanzaError.Forbidden("Only admins and owners may change affiliations.");
        }
        if (!Jid.TryParse(item.GetAttribute("jid"), out var target))
        {
            return StanzaError.JidMalformed($"'{item.GetAttribute("jid")}' is not a JID.");
        }
        var current = AffiliationOf(target);
        if (current >= Affiliation.Admin && requester < Affiliation.Owner)
        {
            return StanzaError.NotAllowed($"Only owners may change the affiliation of an {MucNames.Of(current)}.");
        }
        if (affiliation >= Affiliation.Admin && requester < Affiliation.Owner)
        {
            return StanzaError.Forbidden("Only owners may grant admin or owner status.");
        }
        affiliations.Add(new AffiliationChange(target.Bare, affiliation, reason));
        return null;
    }

    private bool KeepsAnOwner(List<AffiliationChange> changes)
    {
        var owners = new HashSet<Jid>();
        foreach (var (jid, entry) in _affiliations)
        {
            if (entry.Affiliation == Affiliation.Owner)
            {
                owners.Add(jid);
            }
        }
        foreach (var change in changes)
        {
            if (change.Affiliation == Affiliation.Owner)
            {
                owners.Add(change.Target);
            }
            else
            {
                owners.Remove(change.Target);
            }
        }
        return owners.Count > 0;
    }

    /// <summary>The account is gone: it keeps no affiliation here, as if an owner had set it to none.</summary>
    public ValueTask ForgetAffiliationAsync(Jid account) =>
        _affiliations.ContainsKey(account) ? SetAffiliationAsync(account, Affiliation.None, reason: null, actor: null) : ValueTask.CompletedTask;

    /// <summary>Sets an affiliation, stores it, and shows its effect on the user's occupant (if in the room).</summary>
    private async ValueTask SetAffiliationAsync(Jid user, Affiliation affiliation, string? reason, Occupant? actor)
    {
        var nick = _affiliations.TryGetValue(user, out var old) ? old.Nick : null;
        if (affiliation == Affiliation.None)
        {
            _affiliations.Remove(user);
        }
        else
        {
            _affiliations[user] = new AffiliationEntry(affiliation, affiliation == Affiliation.Outcast ? null : nick, reason);
        }
        if (_stored)
        {
            var entry = affiliation == Affiliation.None ? null : _affiliations[user];
            await _service.Storage.Rooms.SetAffiliationAsync(Jid.ToString(), new RoomAffiliation(user.ToString(), MucNames.Of(affiliation), entry?.Nick, entry?.Reason)).ConfigureAwait(false);
        }
        await ShowAffiliationChangeAsync(user, affiliation, reason, actor).ConfigureAwait(false);
    }

    /// <summary>
    /// Shows a changed affiliation: the user's occupants get their new role, or are removed when banned (301) or no
    /// longer a member of a members-only room (321); a user not in the room is told by message (101).
    /// </summary>
    private async ValueTask ShowAffiliationChangeAsync(Jid user, Affiliation affiliation, string? reason, Occupant? actor)
    {
        var occupantsOfUser = new List<Occupant>();
        foreach (var occupant in _occupants.Values)
        {
            if (occupant.RealBareJid.Equals(user) || (user.Local is null && occupant.RealBareJid.Domain == user.Domain))
            {
                occupantsOfUser.Add(occupant);
            }
        }
        if (occupantsOfUser.Count == 0)
        {
            if (user.Local is not null && affiliation != Affiliation.Outcast)
            {
                // §9.3 and status 101: the user hears of the change while not in the room.
                var notice = new Element("message", Ns.Client).SetAttribute("from", Jid.ToString()).SetAttribute("to", user.ToString());
                var x = notice.AddChild("x", Ns.MucUser);
                x.AddChild("item").SetAttribute("affiliation", MucNames.Of(affiliation)).SetAttribute("jid", user.ToString());
                x.AddChild("status").SetAttribute("code", "101");
                await SendAsync(notice, Jid, user).ConfigureAwait(false);
            }
            return;
        }
        foreach (var occupant in occupantsOfUser)
        {
            occupant.Affiliation = affiliation;
            if (affiliation == Affiliation.Outcast)
            {
                await RemoveOccupantAsync(occupant, [301], [301], (_, item) => AddActorAndReason(item, actor, reason)).ConfigureAwait(false);
            }
            else if (Configuration.MembersOnly && affiliation < Affiliation.Member)
            {
                await RemoveOccupantAsync(occupant, [321], [321], (_, item) => AddActorAndReason(item, actor, reason)).ConfigureAwait(false);
            }
            else
            {
                occupant.Role = DefaultRole(affiliation);
                await BroadcastPresenceAsync(occupant, type: null, otherCodes: [], selfCodes: [], addToX: (_, item) => AddActorAndReason(item, actor, reason)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Kick (role none, 307), voice (visitor/participant) or moderator status.</summary>
    private async ValueTask SetRoleAsync(Occupant target, Role role, Occupant? actor, string? reason)
    {
        if (role == Role.None)
        {
            await RemoveOccupantAsync(target, [307], [307], (_, item) => AddActorAndReason(item, actor, reason)).ConfigureAwait(false);
            return;
        }
        target.Role = role;
        await BroadcastPresenceAsync(target, type: null, otherCodes: [], selfCodes: [], addToX: (_, item) => AddActorAndReason(item, actor, reason)).ConfigureAwait(false);
    }

    private static void AddActorAndReason(Element item, Occupant? actor, string? reason)
    {
        if (actor is not null)
        {
            item.AddChild("actor").SetAttribute("nick", actor.Nick);
        }
        if (reason is not null)
        {
            item.AddChild("reason").AddText(reason);
        }
    }

    /// <summary>§10: the configuration form, a submitted form, a cancelled one, or the room's destruction.</summary>
    private async ValueTask OwnerAsync(ServiceStanza stanza, Element query, bool isGet)
    {
        if (AffiliationOf(stanza.From) != Affiliation.Owner)
        {
            await ErrorAsync(stanza, StanzaError.Forbidden("Only owners may configure or destroy the room.")).ConfigureAwait(false);
            return;
        }
        if (isGet)
        {
            var result = new Element("query", Ns.MucOwner);
            result.Add(Configuration.ToForm(ListOf(Affiliation.Owner), ListOf(Affiliation.Admin), _service.Options.MaxOccupantsPerRoom));
            await _service.ResultAsync(stanza, result).ConfigureAwait(false);
            return;
        }
        if (query.Child("destroy", Ns.MucOwner) is { } destroy)
        {
            Jid? alternate = null;
            if (destroy.GetAttribute("jid") is { } alternateText && !Jid.TryParse(alternateText, out alternate))
            {
                await ErrorAsync(stanza, StanzaError.JidMalformed($"'{alternateText}' is not a room JID.")).ConfigureAwait(false);
                return;
            }
            await _service.ResultAsync(stanza).ConfigureAwait(false);
            await DestroyAsync(alternate, destroy.ChildText("reason", Ns.MucOwner), destroy.ChildText("password", Ns.MucOwner)).ConfigureAwait(false);
            return;
        }
        var form = DataForm.Find(query);
        if (form?.GetAttribute("type") == "cancel")
        {
            await _service.ResultAsync(stanza).ConfigureAwait(false);
            if (IsLocked)
            {
                // §10.1.3: cancelling the first configuration of a reserved room destroys it.
                await DestroyAsync(null, null, null).ConfigureAwait(false);
            }
            return;
        }
        if (form?.GetAttribute("type") != "submit")
        {
            await ErrorAsync(stanza, StanzaError.BadRequest("Send a data form of type submit or cancel, or <destroy/>.")).ConfigureAwait(false);
            return;
        }
        await ConfigureAsync(stanza, form).ConfigureAwait(false);
    }

    private async ValueTask ConfigureAsync(ServiceStanza stanza, Element form)
    {
        var submission = Configuration.Apply(form, _service.Options.MaxOccupantsPerRoom);
        if (submission.Configuration is not { } configuration)
        {
            await ErrorAsync(stanza, StanzaError.NotAcceptable(submission.Error)).ConfigureAwait(false);
            return;
        }
        if (configuration.Persistent && !Configuration.Persistent && !_service.MayCreatePersistentRooms(stanza.From))
        {
            await ErrorAsync(stanza, StanzaError.Forbidden("You may not create persistent rooms on this service.")).ConfigureAwait(false);
            return;
        }
        var changes = new List<AffiliationChange>();
        if (submission.Owners is { } owners)
        {
            ListChanges(Affiliation.Owner, owners, changes);
        }
        if (submission.Admins is { } admins)
        {
            ListChanges(Affiliation.Admin, admins, changes);
        }
        if (!KeepsAnOwner(changes))
        {
            await ErrorAsync(stanza, StanzaError.Conflict("The room must keep at least one owner.")).ConfigureAwait(false);
            return;
        }

        var old = Configuration;
        Configuration = configuration;
        IsLocked = false;
        if (configuration.Persistent)
        {
            await SaveIfPersistentAsync().ConfigureAwait(false);
        }
        else if (_stored)
        {
            await _service.Storage.Rooms.DeleteAsync(Jid.ToString()).ConfigureAwait(false);
            _stored = false;
        }
        _bySession.TryGetValue(stanza.From, out var actor);
        foreach (var change in changes)
        {
            await SetAffiliationAsync(change.Target, change.Affiliation, null, actor).ConfigureAwait(false);
        }
        await _service.ResultAsync(stanza).ConfigureAwait(false);

        await RemoveNonMembersIfNowMembersOnlyAsync(old, configuration).ConfigureAwait(false);
        await AnnounceConfigurationChangeAsync(old, configuration).ConfigureAwait(false);
        await CloseIfEmptyAsync().ConfigureAwait(false);
    }

    /// <summary>§9.9: a room that became members-only removes the occupants who are not members (322).</summary>
    private async ValueTask RemoveNonMembersIfNowMembersOnlyAsync(RoomConfiguration old, RoomConfiguration configuration)
    {
        if (!configuration.MembersOnly || old.MembersOnly)
        {
            return;
        }
        foreach (var occupant in _occupants.Values.ToList())
        {
            if (occupant.Affiliation < Affiliation.Member)
            {
                await RemoveOccupantAsync(occupant, [322], [322]).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The administrator changed the stored room (`parley room create|configure`): the room in memory takes the
    /// stored configuration and affiliations. Occupants see each changed affiliation as if an owner had set it,
    /// non-members leave a room that became members-only (322), and everyone hears that the configuration changed (104).
    /// </summary>
    public async ValueTask TakeStoredAsync(StoredRoom stored)
    {
        var storedAffiliations = new Dictionary<Jid, AffiliationEntry>();
        foreach (var affiliation in await _service.Storage.Rooms.GetAffiliationsAsync(stored.Jid).ConfigureAwait(false))
        {
            if (Jid.TryParse(affiliation.Jid, out var user) && MucNames.TryParseAffiliation(affiliation.Affiliation, out var value))
            {
                storedAffiliations[user] = new AffiliationEntry(value, affiliation.Nick, affiliation.Reason);
            }
        }
        var changed = new List<Jid>();
        foreach (var (jid, entry) in _affiliations)
        {
            if (!storedAffiliations.TryGetValue(jid, out var now) || now.Affiliation != entry.Affiliation)
            {
                changed.Add(jid);
            }
        }
        foreach (var jid in storedAffiliations.Keys)
        {
            if (!_affiliations.ContainsKey(jid))
            {
                changed.Add(jid);
            }
        }
        _affiliations.Clear();
        foreach (var (jid, entry) in storedAffiliations)
        {
            _affiliations[jid] = entry;
        }
        if (!_stored)
        {
            // A temporary room in memory that the administrator made persistent under the same JID.
            _stored = true;
            await _occupantIds.SaveAsync(_service.Storage.Documents, Jid).ConfigureAwait(false);
        }

        var old = Configuration;
        Configuration = RoomConfiguration.FromStoredXml(stored.ConfigXml);
        IsLocked = false;
        foreach (var jid in changed)
        {
            var affiliation = _affiliations.TryGetValue(jid, out var entry) ? entry.Affiliation : Affiliation.None;
            await ShowAffiliationChangeAsync(jid, affiliation, reason: null, actor: null).ConfigureAwait(false);
        }
        await RemoveNonMembersIfNowMembersOnlyAsync(old, Configuration).ConfigureAwait(false);
        await AnnounceConfigurationChangeAsync(old, Configuration).ConfigureAwait(false);
        await CloseIfEmptyAsync().ConfigureAwait(false);
    }

    /// <summary>Owner or admin lists from the form: who joins the list, and who leaves it (to no affiliation).</summary>
    private void ListChanges(Affiliation affiliation, List<Jid> listed, List<AffiliationChange> changes)
    {
        foreach (var (jid, entry) in _affiliations)
        {
            if (entry.Affiliation == affiliation && !listed.Contains(jid))
            {
                changes.Add(new AffiliationChange(jid, Affiliation.None, null));
            }
        }
        foreach (var jid in listed)
        {
            if (AffiliationOf(jid) != affiliation)
            {
                changes.Add(new AffiliationChange(jid, affiliation, null));
            }
        }
    }

    /// <summary>§10.2.1: occupants hear that the configuration changed, with the codes for what matters to their privacy.</summary>
    private async ValueTask AnnounceConfigurationChangeAsync(RoomConfiguration old, RoomConfiguration configuration)
    {
        if (_occupants.Count == 0 || old == configuration)
        {
            return;
        }
        var codes = new List<string> { "104" };
        if (configuration.IsArchived != old.IsArchived)
        {
            codes.Add(configuration.IsArchived ? "170" : "171");
        }
        if (configuration.NonAnonymous != old.NonAnonymous)
        {
            codes.Add(configuration.NonAnonymous ? "172" : "173");
        }
        var message = new Element("message", Ns.Client).SetAttribute("type", "groupchat").SetAttribute("from", Jid.ToString());
        var x = message.AddChild("x", Ns.MucUser);
        foreach (var code in codes)
        {
            x.AddChild("status").SetAttribute("code", code);
        }
        await BroadcastAsync(message, Jid).ConfigureAwait(false);
    }

    /// <summary>§10.9: every occupant is told (with the alternate venue), the room leaves storage and memory.</summary>
    public async ValueTask DestroyAsync(Jid? alternate, string? reason, string? password)
    {
        foreach (var occupant in _occupants.Values)
        {
            var presence = new Element("presence", Ns.Client).SetAttribute("from", occupant.OccupantJid.ToString()).SetAttribute("type", "unavailable");
            var x = presence.AddChild("x", Ns.MucUser);
            x.AddChild("item").SetAttribute("affiliation", "none").SetAttribute("role", "none");
            var destroy = x.AddChild("destroy").SetAttribute("jid", alternate?.ToString());
            if (reason is not null)
            {
                destroy.AddChild("reason").AddText(reason);
            }
            if (password is not null)
            {
                destroy.AddChild("password").AddText(password);
            }
            AddOccupantId(presence, occupant);
            foreach (var session in occupant.Sessions)
            {
                await SendAsync(Addressed(presence, session.FullJid), occupant.OccupantJid, session.FullJid).ConfigureAwait(false);
            }
        }
        _occupants.Clear();
        _bySession.Clear();
        if (_stored)
        {
            await _service.Storage.Rooms.DeleteAsync(Jid.ToString()).ConfigureAwait(false);
            _stored = false;
        }
        IsClosed = true;
        await _service.RemoveAsync(this).ConfigureAwait(false);
    }

    /// <summary>§7.10: registering a nickname with the room makes the user a member with that nickname reserved.</summary>
    private async ValueTask RegisterAsync(ServiceStanza stanza, Element query, bool isGet)
    {
        var user = stanza.From.Bare;
        var affiliation = AffiliationOf(user);
        if (affiliation == Affiliation.Outcast)
        {
            await ErrorAsync(stanza, StanzaError.Forbidden("You are banned from this room.")).ConfigureAwait(false);
            return;
        }
        var registeredNick = _affiliations.TryGetValue(user, out var entry) ? entry.Nick : null;
        if (isGet)
        {
            var result = new Element("query", Ns.Register);
            if (registeredNick is not null)
            {
                result.AddChild("registered");
                result.AddChild("username").AddText(registeredNick);
            }
            else
            {
                result.AddChild("instructions").AddText("Choose the nickname to reserve in this room.");
                var form = DataForm.Create("form", Ns.MucRegister, "Register with the room");
                DataForm.Require(DataForm.AddField(form, "muc#register_roomnick", FieldType.TextSingle, "Nickname"));
                result.Add(form);
            }
            await _service.ResultAsync(stanza, result).ConfigureAwait(false);
            return;
        }
        if (query.Child("remove", Ns.Register) is not null)
        {
            if (affiliation == Affiliation.Member)
            {
                await SetAffiliationAsync(user, Affiliation.None, null, null).ConfigureAwait(false);
            }
            await _service.ResultAsync(stanza).ConfigureAwait(false);
            return;
        }
        if (Configuration.MembersOnly && affiliation < Affiliation.Member)
        {
            await ErrorAsync(stanza, StanzaError.NotAllowed("Only members may register with this members-only room.")).ConfigureAwait(false);
            return;
        }
        var submitted = DataForm.Find(query) is { } x && x.GetAttribute("type") == "submit" ? DataForm.Values(x) : null;
        var nick = submitted?.GetValueOrDefault("muc#register_roomnick") is [var value] ? value : null;
        if (string.IsNullOrEmpty(nick) || !Protocol.Precis.Precis.TryPrepareResourcepart(nick, out var prepared, out _))
        {
            await ErrorAsync(stanza, StanzaError.BadRequest("Submit the form with a nickname (muc#register_roomnick).")).ConfigureAwait(false);
            return;
        }
        if (NickRegisteredByOther(prepared, user) || (_occupants.TryGetValue(prepared, out var holder) && !holder.RealBareJid.Equals(user)))
        {
            await ErrorAsync(stanza, StanzaError.Conflict("That nickname is taken in this room.")).ConfigureAwait(false);
            return;
        }
        var newAffiliation = affiliation < Affiliation.Member ? Affiliation.Member : affiliation;
        _affiliations[user] = new AffiliationEntry(newAffiliation, prepared, entry?.Reason);
        if (_stored)
        {
            await _service.Storage.Rooms.SetAffiliationAsync(Jid.ToString(), new RoomAffiliation(user.ToString(), MucNames.Of(newAffiliation), prepared, entry?.Reason)).ConfigureAwait(false);
        }
        await _service.ResultAsync(stanza).ConfigureAwait(false);
        if (newAffiliation != affiliation)
        {
            await SetAffiliationAsync(user, newAffiliation, null, null).ConfigureAwait(false);
        }
    }

    private List<string> ListOf(Affiliation affiliation)
    {
        var list = new List<string>();
        foreach (var (jid, entry) in _affiliations)
        {
            if (entry.Affiliation == affiliation)
            {
                list.Add(jid.ToString());
            }
        }
        return list;
    }

    /// <summary>§6.4 and XEP-0128: identity, the features that describe the room, and the muc#roominfo form.</summary>
    private Element Info()
    {
        var query = new Element("query", Ns.DiscoInfo);
        query.AddChild("identity").SetAttribute("category", "conference").SetAttribute("type", "text").SetAttribute("name", DisplayName);
        var configuration = Configuration;
        string[] features =
        [
            Ns.Muc,
            Ns.DiscoInfo,
            Ns.DiscoItems,
            Ns.Register,
            Ns.MucSelfPing,
            Ns.StanzaId,
            Ns.OccupantId,
            Ns.MessageModeration,
            Ns.MessageModerationLegacy,
            configuration.Public ? "muc_public" : "muc_hidden",
            configuration.Persistent ? "muc_persistent" : "muc_temporary",
            configuration.MembersOnly ? "muc_membersonly" : "muc_open",
            configuration.Moderated ? "muc_moderated" : "muc_unmoderated",
            configuration.NonAnonymous ? "muc_nonanonymous" : "muc_semianonymous",
            configuration.PasswordProtected ? "muc_passwordprotected" : "muc_unsecured",
        ];
        foreach (var feature in features)
        {
            query.AddChild("feature").SetAttribute("var", feature);
        }
        if (configuration.IsArchived)
        {
            query.AddChild("feature").SetAttribute("var", Ns.Mam);
            if (_service.Storage.Archive.SupportsFullTextSearch)
            {
                query.AddChild("feature").SetAttribute("var", Ns.FullTextSearch);
            }
        }
        var form = DataForm.Create("result", Ns.MucRoomInfo);
        DataForm.AddField(form, "muc#roominfo_description", null, "Description", configuration.Description);
        DataForm.AddField(form, "muc#roominfo_occupants", null, "Number of occupants", _occupants.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        DataForm.AddField(form, "muc#roominfo_subject", null, "Subject", _subject);
        DataForm.AddField(form, "muc#roominfo_subjectmod", FieldType.Boolean, "Occupants may change the subject", DataForm.Boolean(configuration.ChangeSubject));
        DataForm.AddField(form, "muc#roominfo_lang", null, "Language", configuration.Language);
        DataForm.AddField(form, "muc#roomconfig_roomname", null, "Name", DisplayName);
        DataForm.AddField(form, "muc#roomconfig_allowinvites", FieldType.Boolean, "Occupants may invite", DataForm.Boolean(configuration.AllowInvites || !configuration.MembersOnly));
        DataForm.AddField(form, "muc#roomconfig_allowpm", FieldType.ListSingle, "Who may send private messages", RoomConfiguration.PolicyName(configuration.AllowPrivateMessages));
        DataForm.AddField(form, "muc#roomconfig_whois", FieldType.ListSingle, "Who may see real JIDs", configuration.NonAnonymous ? "anyone" : "moderators");
        query.Add(form);
        return query;
    }

    /// <summary>
    /// §7.12: the node x-roomuser-item names the requester's reserved nickname as the identity, or is empty when they
    /// have none; the room has no other nodes.
    /// </summary>
    private async ValueTask NodeInfoAsync(ServiceStanza stanza, string node)
    {
        if (node != ReservedNickNode)
        {
            await ErrorAsync(stanza, StanzaError.ItemNotFound("The room has no such node.")).ConfigureAwait(false);
            return;
        }
        var query = new Element("query", Ns.DiscoInfo).SetAttribute("node", node);
        if (_affiliations.TryGetValue(stanza.From.Bare, out var entry) && entry.Nick is { Length: > 0 } nick)
        {
            query.AddChild("identity").SetAttribute("category", "conference").SetAttribute("name", nick).SetAttribute("type", "text");
        }
        await _service.ResultAsync(stanza, query).ConfigureAwait(false);
    }

    /// <summary>§6.5: the occupants, for a public room or for someone in it.</summary>
    private Element Items(Jid requester)
    {
        var query = new Element("query", Ns.DiscoItems);
        if (Configuration.Public || _bySession.ContainsKey(requester))
        {
            foreach (var occupant in _occupants.Values)
            {
                query.AddChild("item").SetAttribute("jid", occupant.OccupantJid.ToString());
            }
        }
        return query;
    }
}
