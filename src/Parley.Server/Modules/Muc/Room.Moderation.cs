using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>
/// XEP-0425 moderated message retraction: a moderator takes an occupant's groupchat message back. The archive keeps a
/// tombstone in its place (XEP-0424 §5), the discussion history drops it, and every occupant gets the retraction,
/// which the archive keeps too, for clients that catch up later. The room takes the request in the current form
/// (urn:xmpp:message-moderate:1) and in the fastened form of XEP-0425 before 0.3 (urn:xmpp:message-moderate:0), and
/// its retraction carries both, so every occupant's client understands it whichever form it speaks.
/// </summary>
public sealed partial class Room
{
    /// <summary>Either form of the request: <paramref name="request"/> is &lt;moderate&gt; (:1) or &lt;apply-to&gt; (:0).</summary>
    private async ValueTask ModerateAsync(ServiceStanza stanza, Element request)
    {
        if (!_bySession.TryGetValue(stanza.From, out var moderator) || moderator.Role != Role.Moderator)
        {
            await ErrorAsync(stanza, StanzaError.Forbidden("Only moderators may retract other occupants' messages.")).ConfigureAwait(false);
            return;
        }
        var isLegacy = request.Namespace == Ns.Fasten;
        var moderate = !isLegacy ? request : request.Name == "apply-to" ? request.Child("moderate", Ns.MessageModerationLegacy) : null;
        var retractNs = isLegacy ? Ns.MessageRetractionLegacy : Ns.MessageRetraction;
        var stanzaId = request.GetAttribute("id");
        if (moderate?.Name != "moderate" || string.IsNullOrEmpty(stanzaId) || moderate.Child("retract", retractNs) is null)
        {
            var expected = isLegacy
                ? $"<apply-to xmlns='{Ns.Fasten}' id='the room's stanza-id of the message'> with <moderate xmlns='{Ns.MessageModerationLegacy}'><retract xmlns='{Ns.MessageRetractionLegacy}'/></moderate>"
                : $"<moderate xmlns='{Ns.MessageModeration}' id='the room's stanza-id of the message'> with <retract xmlns='{Ns.MessageRetraction}'/>";
            await ErrorAsync(stanza, StanzaError.BadRequest($"Send {expected}.")).ConfigureAwait(false);
            return;
        }
        var original = await FindOccupantMessageAsync(stanzaId).ConfigureAwait(false);
        if (original is null)
        {
            await ErrorAsync(stanza, StanzaError.ItemNotFound($"The room has no message from an occupant with the stanza-id '{stanzaId}'.")).ConfigureAwait(false);
            return;
        }
        if (original.Child("retracted", Ns.MessageRetraction) is not null)
        {
            // Retracted already: the occupants were told and the archive holds the tombstone.
            await _service.ResultAsync(stanza).ConfigureAwait(false);
            return;
        }

        // Both forms put <reason> in the namespace of their <moderate>.
        var reason = moderate.ChildText("reason", moderate.Namespace) is { Length: > 0 } given ? given : null;
        var now = _service.Time.GetUtcNow();
        var retractionId = Guid.NewGuid().ToString("N");
        var archive = Jid.ToString();
        await _service.Storage.Archive.ReplaceXmlAsync(archive, stanzaId, Tombstone(original, moderator, reason, retractionId, now).ToXml(Ns.Client)).ConfigureAwait(false);
        _history.Remove(stanzaId);

        var retraction = Retraction(stanzaId, moderator, reason, retractionId);
        var archivedId = await _service.ArchiveAsync(Jid, archive, now, retraction).ConfigureAwait(false);
        await BroadcastAsync(WithStanzaId(retraction, archivedId, Jid), Jid).ConfigureAwait(false);
        await _service.ResultAsync(stanza).ConfigureAwait(false);
    }

    /// <summary>The archived groupchat message an occupant sent, or null: the room's own messages are not for moderating.</summary>
    private async ValueTask<Element?> FindOccupantMessageAsync(string stanzaId)
    {
        ArchivePage page;
        try
        {
            page = await _service.Storage.Archive.QueryAsync(new ArchiveQuery(Jid.ToString(), Max: 1, Ids: [stanzaId])).ConfigureAwait(false);
        }
        catch (ArchiveItemNotFoundException)
        {
            return null;
        }
        if (page.Messages is not [var archived])
        {
            return null;
        }
        var message = ElementParser.Parse(archived.Xml, Ns.Client);
        var fromOccupant = Jid.TryParse(message.GetAttribute("from"), out var from) && from.Resource is not null;
        return fromOccupant && message.GetAttribute("type") == "groupchat" ? message : null;
    }

    /// <summary>The moderator as the retraction names them: the occupant JID, and the occupant-id for semi-anonymous rooms.</summary>
    private static Element Moderated(Occupant moderator)
    {
        var moderated = new Element("moderated", Ns.MessageModeration).SetAttribute("by", moderator.OccupantJid.ToString());
        AddOccupantId(moderated, moderator);
        return moderated;
    }

    /// <summary>
    /// XEP-0425 §3.1: from the room, &lt;retract id='stanza-id'&gt; saying which moderator did it and why; beside it the
    /// same in the form before 0.3, &lt;apply-to id='stanza-id'&gt;&lt;moderated&gt;&lt;retract/&gt;, for the clients that know only that.
    /// </summary>
    private Element Retraction(string stanzaId, Occupant moderator, string? reason, string retractionId)
    {
        var message = new Element("message", Ns.Client)
            .SetAttribute("type", "groupchat")
            .SetAttribute("id", retractionId)
            .SetAttribute("from", Jid.ToString());
        var retract = message.AddChild("retract", Ns.MessageRetraction).SetAttribute("id", stanzaId);
        retract.Add(Moderated(moderator));
        if (reason is not null)
        {
            retract.AddChild("reason").AddText(reason);
        }

        var legacyModerated = message.AddChild("apply-to", Ns.Fasten).SetAttribute("id", stanzaId)
            .AddChild("moderated", Ns.MessageModerationLegacy).SetAttribute("by", moderator.OccupantJid.ToString());
        legacyModerated.AddChild("retract", Ns.MessageRetractionLegacy);
        AddOccupantId(legacyModerated, moderator);
        if (reason is not null)
        {
            legacyModerated.AddChild("reason").AddText(reason);
        }

        // XEP-0424 §4: clients that know nothing of retractions show this instead.
        message.AddChild("fallback", Ns.Fallback).SetAttribute("for", Ns.MessageRetraction);
        message.AddChild("body").AddText($"{moderator.Nick} retracted a message{(reason is null ? "." : ": " + reason)}");
        return message;
    }

    /// <summary>
    /// XEP-0425 §4: what the archive keeps of a moderated message: its addressing and author's occupant-id, nothing of
    /// its content, and &lt;retracted/&gt; with the retraction's id, when, by whom and why.
    /// </summary>
    private static Element Tombstone(Element original, Occupant moderator, string? reason, string retractionId, DateTimeOffset stamp)
    {
        var tombstone = new Element("message", Ns.Client);
        foreach (var attribute in original.Attributes)
        {
            tombstone.SetAttribute(attribute.Name, attribute.Value);
        }
        if (original.Child("occupant-id", Ns.OccupantId) is { } author)
        {
            tombstone.Add(author);
        }
        var retracted = tombstone.AddChild("retracted", Ns.MessageRetraction)
            .SetAttribute("id", retractionId)
            .SetAttribute("stamp", XmppDateTime.FormatSeconds(stamp));
        retracted.Add(Moderated(moderator));
        if (reason is not null)
        {
            retracted.AddChild("reason").AddText(reason);
        }
        return tombstone;
    }
}
