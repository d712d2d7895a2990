using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.Mam;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>XEP-0313 on the room's JID: the room's archive (archive = room JID), with the MAM module's query parser.</summary>
public static class RoomArchive
{
    /// <summary>Largest page a client gets, whatever &lt;max/&gt; it asks for.</summary>
    public const int MaxPageSize = 100;

    public static async ValueTask QueryAsync(Room room, MucService service, ServiceStanza stanza, Element query, bool mayRead)
    {
        if (!room.Configuration.IsArchived)
        {
            await service.ErrorAsync(stanza, StanzaError.ServiceUnavailable("This room does not archive its messages.")).ConfigureAwait(false);
            return;
        }
        if (!mayRead)
        {
            await service.ErrorAsync(stanza, StanzaError.Forbidden("Only those who may enter the room may read its archive.")).ConfigureAwait(false);
            return;
        }
        Element answer;
        if (query.Name == "metadata")
        {
            answer = await MamQueryHandler.AnswerMetadataAsync(stanza.Stanza, room.Jid, service.Storage.Archive).ConfigureAwait(false);
        }
        else
        {
            var results = new List<Element>();
            answer = await MamQueryHandler.AnswerAsync(stanza.Stanza, query, room.Jid, stanza.From, service.Storage.Archive, MaxPageSize, results.Add).ConfigureAwait(false);
            foreach (var result in results)
            {
                await service.Router.RouteAsync(result, room.Jid, stanza.From).ConfigureAwait(false);
            }
        }
        await service.Router.RouteAsync(answer, room.Jid, stanza.From).ConfigureAwait(false);
    }
}
