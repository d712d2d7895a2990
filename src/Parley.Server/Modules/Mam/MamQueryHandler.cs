using Parley.Protocol;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Mam;

/// <summary>
/// Answers a whole &lt;query xmlns='urn:xmpp:mam:2'/&gt; IQ on one archive: the form for a get; for a set, the
/// results sent one by one and then the IQ result with &lt;fin/&gt;. Access control is the caller's: call it only
/// once the requester may read <c>archive</c>.
/// </summary>
public static class MamQueryHandler
{
    /// <param name="iq">The IQ request; the returned element answers it (result or error).</param>
    /// <param name="archive">Whose archive: a user's bare JID or a room's JID.</param>
    /// <param name="requester">The full JID the results go to.</param>
    /// <param name="send">Queues one result message to the requester, ahead of the IQ result.</param>
    public static async ValueTask<Element> AnswerAsync(
        Element iq, Element query, Jid archive, Jid requester, IArchiveStore store, int maxPageSize, Action<Element> send, CancellationToken cancellationToken = default)
    {
        var type = iq.GetAttribute("type");
        if (type == "get")
        {
            return Stanzas.IqResult(iq, MamQueryParser.Form(store.SupportsFullTextSearch));
        }
        if (type != "set")
        {
            return Stanzas.ErrorReply(iq, StanzaError.BadRequest("A query is an IQ of type set (or get for the form)."));
        }

        MamQuery parsed;
        ArchivePage page;
        try
        {
            parsed = MamQueryParser.Parse(query, archive.ToString(), maxPageSize, store.SupportsFullTextSearch);
            foreach (var id in parsed.OtherIds)
            {
                // Only to learn whether the archive holds it: the store answers item-not-found when not.
                await store.QueryAsync(new ArchiveQuery(archive.ToString(), AfterId: id, Max: 0), cancellationToken).ConfigureAwait(false);
            }
            page = await store.QueryAsync(parsed.Archive, cancellationToken).ConfigureAwait(false);
        }
        catch (MamQueryException e)
        {
            return Stanzas.ErrorReply(iq, e.Error);
        }
        catch (ArchiveItemNotFoundException e)
        {
            return Stanzas.ErrorReply(iq, StanzaError.ItemNotFound($"The archive has no message with id '{e.Id}'."));
        }

        var messages = page.Messages;
        for (var i = 0; i < messages.Count; i++)
        {
            var message = parsed.FlipPage ? messages[messages.Count - 1 - i] : messages[i];
            send(MamResultWriter.ResultMessage(archive, requester, parsed.QueryId, message));
        }
        return Stanzas.IqResult(iq, MamResultWriter.Fin(parsed, page));
    }

    /// <summary>Answers &lt;iq type='get'&gt;&lt;metadata xmlns='urn:xmpp:mam:2'/&gt; on one archive.</summary>
    public static async ValueTask<Element> AnswerMetadataAsync(Element iq, Jid archive, IArchiveStore store, CancellationToken cancellationToken = default)
    {
        var first = await store.QueryAsync(new ArchiveQuery(archive.ToString(), Max: 1), cancellationToken).ConfigureAwait(false);
        var last = await store.QueryAsync(new ArchiveQuery(archive.ToString(), Max: 1, FromEnd: true), cancellationToken).ConfigureAwait(false);
        return Stanzas.IqResult(iq, MamResultWriter.Metadata(first.Messages.FirstOrDefault(), last.Messages.FirstOrDefault()));
    }
}
