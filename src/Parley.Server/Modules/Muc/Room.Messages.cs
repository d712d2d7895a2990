using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>Groupchat, subject, private messages, invitations, declines and voice requests.</summary>
public sealed partial class Room
{
    private async ValueTask MessageAsync(ServiceStanza stanza)
    {
        var message = stanza.Stanza;
        var type = message.GetAttribute("type");
        _bySession.TryGetValue(stanza.From, out var sender);
        if (type == "error")
        {
            // A client that bounces the room's messages is gone; it leaves rather than stay as a ghost.
            if (sender is not null)
            {
                await LeaveAsync(sender, stanza.From, presence: null).ConfigureAwait(false);
            }
            return;
        }
        if (stanza.To.Resource is not null)
        {
            await PrivateMessageAsync(stanza, sender).ConfigureAwait(false);
            return;
        }
        if (type == "groupchat")
        {
            await GroupchatAsync(stanza, sender).ConfigureAwait(false);
            return;
        }
        if (message.Child("x", Ns.MucUser) is { } userX)
        {
            if (userX.Child("invite", Ns.MucUser) is not null)
            {
                await InviteAsync(stanza, sender, userX).ConfigureAwait(false);
                return;
            }
            if (userX.Child("decline", Ns.MucUser) is { } decline)
            {
                await DeclineAsync(stanza, decline).ConfigureAwait(false);
                return;
            }
        }
        if (DataForm.Find(message) is { } form && DataForm.FormType(form) == Ns.MucRequest)
        {
            await VoiceRequestAsync(stanza, sender, form).ConfigureAwait(false);
            return;
        }
        await ErrorAsync(stanza, StanzaError.BadRequest("Send groupchat messages to the room, or private messages to room@service/nick.")).ConfigureAwait(false);
    }

    /// <summary>§7.4 and §8.1: one message built for every occupant, archived once, with the room's stanza-id.</summary>
    private async ValueTask GroupchatAsync(ServiceStanza stanza, Occupant? sender)
    {
        if (sender is null)
        {
            await ErrorAsync(stanza, StanzaError.NotAcceptable("Only occupants may send messages to the room.")).ConfigureAwait(false);
            return;
        }
        if (sender.Role < Role.Participant)
        {
            await ErrorAsync(stanza, StanzaError.Forbidden("Visitors may not speak in this moderated room; ask for voice.")).ConfigureAwait(false);
            return;
        }
        var original = stanza.Stanza;
        var subject = original.Child("subject");
        // §8.1: a subject with a body or a thread is an ordinary message that happens to carry one.
        if (subject is not null && original.Child("body") is null && original.Child("thread") is null)
        {
            await ChangeSubjectAsync(stanza, sender, subject.Text).ConfigureAwait(false);
            return;
        }

        var message = RoomCopy(original, sender, "groupchat");
        var stamp = _service.Time.GetUtcNow();
        if (Configuration.IsArchived)
        {
            var id = await _service.ArchiveAsync(Jid, sender.OccupantJid.ToString(), stamp, message).ConfigureAwait(false);
            message = WithStanzaId(message, id, Jid);
        }
        _history.Add(message, Jid, stamp);
        await BroadcastAsync(message, sender.OccupantJid).ConfigureAwait(false);
    }

    /// <summary>
    /// Fan-out: the same element to every device of every occupant. It has no 'to' (RFC 6120 §8.1.1.1 lets a server
    /// leave it off towards a client), so it is serialized once and every connection writes the same bytes.
    /// </summary>
    public async ValueTask BroadcastAsync(Element message, Jid from)
    {
        SharedStanza.Share(message);
        foreach (var occupant in _occupants.Values)
        {
            foreach (var session in occupant.Sessions)
            {
                await SendAsync(message, from, session.FullJid).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask ChangeSubjectAsync(ServiceStanza stanza, Occupant sender, string subject)
    {
        if (sender.Role != Role.Moderator && !Configuration.ChangeSubject)
        {
            await ErrorAsync(stanza, StanzaError.Forbidden("Only moderators may change the subject of this room.")).ConfigureAwait(false);
            return;
        }
        _subject = subject;
        _subjectNick = sender.Nick;
        await SaveIfPersistentAsync().ConfigureAwait(false);
        var message = new Element("message", Ns.Client).SetAttribute("type", "groupchat").SetAttribute("from", sender.OccupantJid.ToString());
        if (stanza.Stanza.GetAttribute("id") is { } id)
        {
            message.SetAttribute("id", id);
        }
        message.AddChild("subject").AddText(subject);
        AddOccupantId(message, sender);
        await BroadcastAsync(message, sender.OccupantJid).ConfigureAwait(false);
    }

    /// <summary>§7.5: to every device of the occupant, from the sender's occupant JID, marked as MUC.</summary>
    private async ValueTask PrivateMessageAsync(ServiceStanza stanza, Occupant? sender)
    {
        var type = stanza.Stanza.GetAttribute("type");
        if (type == "groupchat")
        {
            await ErrorAsync(stanza, StanzaError.BadRequest("A groupchat message goes to the room, not to an occupant.")).ConfigureAwait(false);
            return;
        }
        if (sender is null)
        {
            await ErrorAsync(stanza, StanzaError.NotAcceptable("Only occupants may send private messages in the room.")).ConfigureAwait(false);
            return;
        }
        if (!_occupants.TryGetValue(stanza.To.Resource!, out var recipient))
        {
            await ErrorAsync(stanza, StanzaError.ItemNotFound("Nobody in the room has that nickname.")).ConfigureAwait(false);
            return;
        }
        var allowed = Configuration.AllowPrivateMessages switch
        {
            PrivateMessagePolicy.Anyone => true,
            PrivateMessagePolicy.Participants => sender.Role >= Role.Participant,
            PrivateMessagePolicy.Moderators => sender.Role == Role.Moderator,
            _ => false,
        };
        if (!allowed)
        {
            await ErrorAsync(stanza, StanzaError.Forbidden("This room does not let you send private messages.")).ConfigureAwait(false);
            return;
        }
        var message = RoomCopy(stanza.Stanza, sender, type);
        if (message.Child("x", Ns.MucUser) is null)
        {
            message.AddChild("x", Ns.MucUser);
        }
        foreach (var session in recipient.Sessions)
        {
            await SendAsync(message, sender.OccupantJid, session.FullJid).ConfigureAwait(false);
        }
    }

    /// <summary>§7.8.2: the room passes the invitation on, from itself, saying who invites.</summary>
    private async ValueTask InviteAsync(ServiceStanza stanza, Occupant? sender, Element userX)
    {
        var affiliation = AffiliationOf(stanza.From);
        if (sender is null && affiliation < Affiliation.Admin)
        {
            await ErrorAsync(stanza, StanzaError.NotAcceptable("Only occupants may invite others to the room.")).ConfigureAwait(false);
            return;
        }
        // In an open room anyone may come in anyway, so any occupant may invite; a members-only room asks for allowinvites.
        var mayInvite = affiliation >= Affiliation.Admin || sender?.Role == Role.Moderator || !Configuration.MembersOnly
            || (Configuration.AllowInvites && sender?.Role >= Role.Participant);
        if (!mayInvite)
        {
            await ErrorAsync(stanza, StanzaError.Forbidden("This room does not let you invite others.")).ConfigureAwait(false);
            return;
        }
        var invitees = new List<(Jid Jid, string? Reason)>();
        foreach (var invite in userX.Children("invite", Ns.MucUser))
        {
            if (!Jid.TryParse(invite.GetAttribute("to"), out var invitee))
            {
                await ErrorAsync(stanza, StanzaError.JidMalformed($"'{invite.GetAttribute("to")}' is not a JID to invite.")).ConfigureAwait(false);
                return;
            }
            invitees.Add((invitee, invite.ChildText("reason", Ns.MucUser)));
        }
        foreach (var (invitee, reason) in invitees)
        {
            if (Configuration.MembersOnly && AffiliationOf(invitee) < Affiliation.Member)
            {
                // §7.8.2: in a members-only room the invitation comes with membership.
                await SetAffiliationAsync(invitee.Bare, Affiliation.Member, null, actor: null).ConfigureAwait(false);
            }
            var message = new Element("message", Ns.Client).SetAttribute("from", Jid.ToString()).SetAttribute("to", invitee.ToString());
            message.AddChild("body").AddText($"{stanza.From.Bare} invites you to the room {Jid}{(reason is null ? "" : ": " + reason)}");
            var x = message.AddChild("x", Ns.MucUser);
            var forwarded = x.AddChild("invite").SetAttribute("from", stanza.From.ToString());
            if (reason is not null)
            {
                forwarded.AddChild("reason").AddText(reason);
            }
            if (Configuration.PasswordProtected)
            {
                x.AddChild("password").AddText(Configuration.Password);
            }
            await SendAsync(message, Jid, invitee).ConfigureAwait(false);
        }
    }

    /// <summary>§7.8.3 (decline): passed on to the inviter, from the room, saying who declines.</summary>
    private async ValueTask DeclineAsync(ServiceStanza stanza, Element decline)
    {
        if (!Jid.TryParse(decline.GetAttribute("to"), out var inviter))
        {
            await ErrorAsync(stanza, StanzaError.JidMalformed($"'{decline.GetAttribute("to")}' is not the JID of whoever invited you.")).ConfigureAwait(false);
            return;
        }
        var message = new Element("message", Ns.Client).SetAttribute("from", Jid.ToString()).SetAttribute("to", inviter.ToString());
        var forwarded = message.AddChild("x", Ns.MucUser).AddChild("decline").SetAttribute("from", stanza.From.Bare.ToString());
        if (decline.ChildText("reason", Ns.MucUser) is { } reason)
        {
            forwarded.AddChild("reason").AddText(reason);
        }
        await SendAsync(message, Jid, inviter).ConfigureAwait(false);
    }

    /// <summary>§7.13 and §8.6: a visitor's request for voice goes to the moderators; a moderator's approval grants it.</summary>
    private async ValueTask VoiceRequestAsync(ServiceStanza stanza, Occupant? sender, Element form)
    {
        if (sender is null)
        {
            await ErrorAsync(stanza, StanzaError.NotAcceptable("Only occupants may ask for voice.")).ConfigureAwait(false);
            return;
        }
        var values = DataForm.Values(form);
        if (sender.Role == Role.Moderator && values.GetValueOrDefault("muc#request_allow") is [var allowText] && DataForm.TryParseBoolean(allowText, out var allow))
        {
            if (allow && values.GetValueOrDefault("muc#roomnick") is [var nick] && _occupants.TryGetValue(nick, out var requester) && requester.Role == Role.Visitor)
            {
                await SetRoleAsync(requester, Role.Participant, sender, reason: null).ConfigureAwait(false);
            }
            return;
        }
        if (sender.Role != Role.Visitor)
        {
            // A participant already has voice; nothing to ask for.
            return;
        }
        var request = DataForm.Create("form", Ns.MucRequest, "Voice request");
        DataForm.AddField(request, "muc#role", FieldType.ListSingle, "Requested role", "participant");
        DataForm.AddField(request, "muc#jid", FieldType.JidSingle, "User ID", sender.RealJid.ToString());
        DataForm.AddField(request, "muc#roomnick", FieldType.TextSingle, "Room nickname", sender.Nick);
        DataForm.AddField(request, "muc#request_allow", FieldType.Boolean, "Grant voice to this person?", "false");
        var message = new Element("message", Ns.Client).SetAttribute("from", Jid.ToString());
        message.Add(request);
        foreach (var occupant in _occupants.Values)
        {
            if (occupant.Role == Role.Moderator)
            {
                foreach (var session in occupant.Sessions)
                {
                    await SendAsync(message, Jid, session.FullJid).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// A message as the room sends it: from the occupant JID, the client's payload with its origin-id (clients match
    /// their reflected messages by it), without ids claiming to be the room's, and the sender's occupant-id.
    /// </summary>
    private Element RoomCopy(Element original, Occupant sender, string? type)
    {
        var message = new Element("message", Ns.Client).SetAttribute("from", sender.OccupantJid.ToString()).SetAttribute("type", type);
        if (original.GetAttribute("id") is { } id)
        {
            message.SetAttribute("id", id);
        }
        if (original.GetAttribute("xml:lang") is { } lang)
        {
            message.SetAttribute("xml:lang", lang);
        }
        foreach (var child in original.Children())
        {
            // XEP-0359 §5 and XEP-0421 §4: a stanza-id by the room or an occupant-id from the sender could impersonate the room's.
            if (child.Namespace != Ns.OccupantId && !IsStanzaIdByRoom(child))
            {
                message.Add(child);
            }
        }
        AddOccupantId(message, sender);
        return message;
    }

    private bool IsStanzaIdByRoom(Element child) =>
        child is { Name: "stanza-id", Namespace: Ns.StanzaId } && Jid.TryParse(child.GetAttribute("by"), out var by) && by.Equals(Jid);

    private static void AddOccupantId(Element stanza, Occupant occupant) =>
        stanza.AddChild("occupant-id", Ns.OccupantId).SetAttribute("id", occupant.OccupantId);

    private static Element WithStanzaId(Element message, string id, Jid room)
    {
        message.AddChild("stanza-id", Ns.StanzaId).SetAttribute("id", id).SetAttribute("by", room.ToString());
        return message;
    }

    private async ValueTask SaveIfPersistentAsync()
    {
        if (!Configuration.Persistent)
        {
            return;
        }
        var stored = new StoredRoom(Jid.ToString(), Configuration.ToStoredXml(), _subject, _subjectNick, _createdAt);
        if (_stored)
        {
            // Not stored any more means `parley room destroy` deleted it: its notice will destroy this copy too.
            await _service.Storage.Rooms.UpdateAsync(stored).ConfigureAwait(false);
            return;
        }
        await _service.Storage.Rooms.SaveAsync(stored).ConfigureAwait(false);
        _stored = true;
        await _occupantIds.SaveAsync(_service.Storage.Documents, Jid).ConfigureAwait(false);
        foreach (var (jid, entry) in _affiliations)
        {
            await _service.Storage.Rooms.SetAffiliationAsync(Jid.ToString(), new RoomAffiliation(jid.ToString(), MucNames.Of(entry.Affiliation), entry.Nick, entry.Reason)).ConfigureAwait(false);
        }
    }
}
