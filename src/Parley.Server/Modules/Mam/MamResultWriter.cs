using Parley.Protocol;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Mam;

/// <summary>The stanzas of an archive's answer (XEP-0313 §4.2): one message per result, then the &lt;fin/&gt; of the IQ result.</summary>
public static class MamResultWriter
{
    /// <summary>
    /// <c>&lt;message from=archive to=requester&gt;&lt;result queryid id&gt;&lt;forwarded&gt;&lt;delay stamp/&gt;ORIGINAL…</c>
    /// </summary>
    public static Element ResultMessage(Jid archive, Jid requester, string? queryId, ArchivedMessage archived)
    {
        var forwarded = new Element("forwarded", Ns.Forward)
            .Add(new Element("delay", Ns.Delay).SetAttribute("stamp", XmppDateTime.Format(archived.Stamp)))
            .Add(ElementParser.Parse(archived.Xml, Ns.Client));
        var result = new Element("result", Ns.Mam)
            .SetAttribute("queryid", queryId)
            .SetAttribute("id", archived.Id)
            .Add(forwarded);
        return new Element("message", Ns.Client)
            .SetAttribute("from", archive.ToString())
            .SetAttribute("to", requester.ToString())
            .Add(result);
    }

    /// <summary>
    /// <c>&lt;fin complete&gt;&lt;set xmlns=rsm&gt;&lt;first index/&gt;&lt;last/&gt;&lt;count/&gt;</c>. The index is given
    /// where it is known without counting again: a first page (0) and a last page (count − page size).
    /// </summary>
    public static Element Fin(MamQuery query, ArchivePage page)
    {
        var messages = page.Messages;
        var archiveQuery = query.Archive;
        int? index = archiveQuery.AfterId is null && archiveQuery.BeforeId is null
            ? archiveQuery.FromEnd ? page.Count - messages.Count : 0
            : null;
        var set = messages.Count > 0
            ? ResultSetManagement.Answer(messages[0].Id, messages[^1].Id, page.Count, index)
            : ResultSetManagement.Answer(null, null, page.Count);
        return new Element("fin", Ns.Mam)
            .SetAttribute("complete", page.Complete ? "true" : "false")
            .Add(set);
    }

    /// <summary>XEP-0313 §5 metadata: the first and last message of the archive; empty for an empty archive.</summary>
    public static Element Metadata(ArchivedMessage? first, ArchivedMessage? last)
    {
        var metadata = new Element("metadata", Ns.Mam);
        if (first is not null && last is not null)
        {
            metadata.AddChild("start", Ns.Mam).SetAttribute("id", first.Id).SetAttribute("timestamp", XmppDateTime.Format(first.Stamp));
            metadata.AddChild("end", Ns.Mam).SetAttribute("id", last.Id).SetAttribute("timestamp", XmppDateTime.Format(last.Stamp));
        }
        return metadata;
    }
}
