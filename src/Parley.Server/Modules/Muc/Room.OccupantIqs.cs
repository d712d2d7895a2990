using System.Diagnostics.CodeAnalysis;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>
/// IQs to an occupant's room JID (XEP-0045; passed on as Prosody and ejabberd do): the room answers self-ping
/// (XEP-0410) itself and passes every other request on to the occupant, from the sender's occupant JID so that real
/// JIDs stay hidden, then passes the answer back from the occupant JID that was asked.
/// </summary>
public sealed partial class Room
{
    // Room for every occupant's client asking several others at once (avatars and versions on join); beyond it, a flood.
    private const int MaxForwardedIqs = 256;

    // Longer than clients wait for an answer (about a minute), so no answer a requester still expects is refused.
    private static readonly TimeSpan ForwardedIqLifetime = TimeSpan.FromMinutes(2);

    private readonly ForwardedIqs _forwardedIqs = new(MaxForwardedIqs, ForwardedIqLifetime);

    private async ValueTask OccupantIqAsync(ServiceStanza stanza, Element payload)
    {
        if (!_bySession.TryGetValue(stanza.From, out var sender))
        {
            await ErrorAsync(stanza, StanzaError.NotAcceptable("You are not in this room.")).ConfigureAwait(false);
            return;
        }
        if (!_occupants.TryGetValue(stanza.To.Resource!, out var target))
        {
            await ErrorAsync(stanza, StanzaError.ItemNotFound("Nobody in the room has that nickname.")).ConfigureAwait(false);
            return;
        }
        var isGet = stanza.Stanza.GetAttribute("type") == "get";
        if (payload.Namespace == Ns.Ping && isGet)
        {
            await _service.ResultAsync(stanza).ConfigureAwait(false);
            return;
        }
        // The device that joined or changed presence last: the one whose presence the room shows for the nickname.
        // An account's vCard is the server's to answer, as if asked at the bare JID (as Prosody does).
        var recipient = payload.Namespace == Ns.VCard && payload.Name == "vCard" && isGet ? target.RealBareJid : target.RealJid;
        var forwarded = new ForwardedIq(stanza.Stanza.GetAttribute("id"), stanza.From, sender.OccupantJid, recipient, target.OccupantJid, _service.Time.GetUtcNow());
        if (_forwardedIqs.Add(forwarded) is not { } id)
        {
            await ErrorAsync(stanza, StanzaError.ResourceConstraint("The room is waiting for too many answers from its occupants; try again shortly.")).ConfigureAwait(false);
            return;
        }
        await SendAsync(IqCopy(stanza.Stanza, id, sender.OccupantJid, recipient), sender.OccupantJid, recipient).ConfigureAwait(false);
    }

    /// <summary>A result or error for an IQ the room passed on goes back to the requester with its own id.</summary>
    private async ValueTask OccupantAnswerAsync(ServiceStanza stanza)
    {
        if (!TryTakeForwarded(stanza, out var forwarded) || !_bySession.ContainsKey(forwarded.Requester))
        {
            // Nobody waits for it: the room never sent that id, the answer came too late, or the requester has left.
            return;
        }
        var answer = IqCopy(stanza.Stanza, forwarded.OriginalId, forwarded.RecipientOccupantJid, forwarded.Requester);
        await SendAsync(answer, forwarded.RecipientOccupantJid, forwarded.Requester).ConfigureAwait(false);
    }

    private bool TryTakeForwarded(ServiceStanza answer, [NotNullWhen(true)] out ForwardedIq? forwarded) =>
        _forwardedIqs.TryTake(answer.Stanza.GetAttribute("id"), answer.From, answer.To, _service.Time.GetUtcNow(), out forwarded);

    /// <summary>An IQ as the room passes it on: its own addresses and id, the same type, language and payload.</summary>
    private static Element IqCopy(Element iq, string? id, Jid from, Jid to)
    {
        var copy = new Element("iq", Ns.Client)
            .SetAttribute("type", iq.GetAttribute("type"))
            .SetAttribute("id", id)
            .SetAttribute("from", from.ToString())
            .SetAttribute("to", to.ToString());
        if (iq.GetAttribute("xml:lang") is { } lang)
        {
            copy.SetAttribute("xml:lang", lang);
        }
        foreach (var child in iq.Children())
        {
            copy.Add(child);
        }
        return copy;
    }
}
