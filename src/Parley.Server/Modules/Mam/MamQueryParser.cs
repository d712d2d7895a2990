using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Mam;

/// <summary>
/// A parsed XEP-0313 query: what to ask the archive store, the client's queryid, and whether the page goes out
/// newest first (&lt;flip-page/&gt;, which changes only the order of sending).
/// </summary>
public sealed record MamQuery(ArchiveQuery Archive, string? QueryId, bool FlipPage)
{
    /// <summary>
    /// The form's after-id/before-id when RSM's after/before named a different message: the query keeps the
    /// narrower bound, but XEP-0313 §4.1 still answers item-not-found for any id that is not in the archive.
    /// </summary>
    public IReadOnlyList<string> OtherIds { get; init; } = [];
}

/// <summary>A query the archive cannot answer, with the stanza error XEP-0313 gives for it.</summary>
public sealed class MamQueryException(StanzaError error) : Exception(error.Text)
{
    public StanzaError Error { get; } = error;
}

/// <summary>
/// Reads the &lt;query xmlns='urn:xmpp:mam:2'/&gt; of an archive query: the data form (XEP-0004) with the
/// XEP-0313 fields, and the result set management (XEP-0059) &lt;set/&gt;. User archives and room archives share it.
/// </summary>
public static class MamQueryParser
{
    /// <summary>The most ids one query may name, which is what the archive stores accept.</summary>
    public const int MaxIds = 1000;

    /// <summary>The XEP-0431 field, in Clark notation (XEP-0068) as Prosody and Conversations name it.</summary>
    public const string FullTextField = "{" + Ns.FullTextSearch + "}fulltext";

    /// <summary>Longer search text is refused, as the archive stores refuse it.</summary>
    public const int MaxFullTextLength = 1000;

    private const string XDataValidate = "http://jabber.org/protocol/xdata-validate";

    /// <summary>
    /// The answer to &lt;iq type='get'&gt;&lt;query xmlns='urn:xmpp:mam:2'/&gt;: the fields this server understands, with
    /// the full-text field only when the archive store answers it (<paramref name="fullTextSearch"/>).
    /// </summary>
    public static Element Form(bool fullTextSearch = false)
    {
        var form = DataForm.Create("form", Ns.Mam);
        DataForm.AddField(form, "with", FieldType.JidSingle);
        foreach (var field in new[] { "start", "end", "before-id", "after-id" })
        {
            DataForm.AddField(form, field, FieldType.TextSingle);
        }
        // XEP-0313 §4.1.5: the ids are open to any value, never listed.
        DataForm.AddField(form, "ids", FieldType.ListMulti)
            .AddChild("validate", XDataValidate).SetAttribute("datatype", "xs:string")
            .AddChild("open", XDataValidate);
        if (fullTextSearch)
        {
            DataForm.AddField(form, FullTextField, FieldType.TextSingle, "Search for");
        }
        return new Element("query", Ns.Mam).Add(form);
    }

    /// <summary>
    /// Parses a query on <paramref name="archive"/>; a client's &lt;max/&gt; above <paramref name="maxPageSize"/> is lowered
    /// to it. The full-text field is known only when <paramref name="fullTextSearch"/>.
    /// </summary>
    /// <exception cref="MamQueryException">The query has an unknown field, a bad value, or paging this server does not do.</exception>
    public static MamQuery Parse(Element query, string archive, int maxPageSize, bool fullTextSearch = false)
    {
        string? with = null, afterId = null, beforeId = null, fullText = null;
        DateTimeOffset? start = null, end = null;
        List<string>? ids = null;
        if (DataForm.Find(query) is { } form)
        {
            foreach (var field in DataForm.Fields(form))
            {
                var name = field.Var;
                switch (name)
                {
                    case DataForm.FormTypeVar:
                        var formType = field.FirstValue;
                        if (formType != Ns.Mam)
                        {
                            throw BadRequest($"The form type is '{formType}'; expected '{Ns.Mam}'.");
                        }
                        break;
                    case "with":
                        var jid = SingleValue(field, name);
                        with = Jid.TryParse(jid, out var parsed)
                            ? parsed.ToString()
                            : throw new MamQueryException(StanzaError.JidMalformed($"'with' is not a valid JID: '{jid}'."));
                        break;
                    case "start":
                        start = ParseDateTime(SingleValue(field, name), name);
                        break;
                    case "end":
                        end = ParseDateTime(SingleValue(field, name), name);
                        break;
                    case "after-id":
                        afterId = SingleValue(field, name);
                        break;
                    case "before-id":
                        beforeId = SingleValue(field, name);
                        break;
                    case "ids":
                        ids = [.. field.Values];
                        if (ids.Count > MaxIds)
                        {
                            throw BadRequest($"'ids' names {ids.Count} messages; at most {MaxIds} are allowed.");
                        }
                        break;
                    case FullTextField when fullTextSearch:
                        // XEP-0431 §2.2: only a non-empty value is searched for; an empty one is no filter.
                        fullText = field.FirstValue;
                        if (fullText is { Length: > MaxFullTextLength })
                        {
                            throw BadRequest($"The search text has {fullText.Length} characters; at most {MaxFullTextLength} are allowed.");
                        }
                        break;
                    default:
                        // XEP-0313 §4.1.5: a field the server does not recognise is feature-not-implemented.
                        throw new MamQueryException(StanzaError.FeatureNotImplemented($"This server does not know the field '{name}'."));
                }
            }
        }

        var max = maxPageSize;
        var fromEnd = false;
        var otherIds = new List<string>();
        if (ResultSetManagement.Find(query) is { } set)
        {
            if (!ResultSetManagement.TryParse(set, out var page, out var invalid))
            {
                throw BadRequest(invalid);
            }
            if (page.Index is not null)
            {
                throw new MamQueryException(StanzaError.FeatureNotImplemented("Paging by <index/> is not supported; page with <after/> or <before/>."));
            }
            if (page.Max is { } requested)
            {
                max = Math.Min(requested, maxPageSize);
            }
            if (page.After is { } after)
            {
                afterId = Later(afterId, after, otherIds);
            }
            if (page.Before is { } before)
            {
                // An empty <before/> asks for the last page (XEP-0059 §2.5).
                fromEnd = true;
                if (!page.LastPage)
                {
                    beforeId = Earlier(beforeId, before, otherIds);
                }
            }
        }

        var flip = query.Child("flip-page", Ns.Mam) is not null;
        return new MamQuery(new ArchiveQuery(archive, with, start, end, afterId, beforeId, max, fromEnd, ids, fullText), query.GetAttribute("queryid"), flip)
        {
            OtherIds = otherIds,
        };
    }

    /// <summary>The later of two "after" bounds; ids of one archive sort in the order their messages were appended.</summary>
    private static string Later(string? formId, string rsmId, List<string> otherIds)
    {
        if (formId is null || formId == rsmId)
        {
            return rsmId;
        }
        var later = string.CompareOrdinal(formId, rsmId) > 0 ? formId : rsmId;
        otherIds.Add(ReferenceEquals(later, formId) ? rsmId : formId);
        return later;
    }

    private static string Earlier(string? formId, string rsmId, List<string> otherIds)
    {
        if (formId is null || formId == rsmId)
        {
            return rsmId;
        }
        var earlier = string.CompareOrdinal(formId, rsmId) < 0 ? formId : rsmId;
        otherIds.Add(ReferenceEquals(earlier, formId) ? rsmId : formId);
        return earlier;
    }

    private static string SingleValue(FormField field, string name)
    {
        var value = field.FirstValue;
        return string.IsNullOrEmpty(value) ? throw BadRequest($"The field '{name}' has no value.") : value;
    }

    private static DateTimeOffset ParseDateTime(string text, string field) =>
        XmppDateTime.TryParse(text, out var value)
            ? value
            : throw BadRequest($"'{field}' is not a date and time like 2024-05-01T12:00:00Z (XEP-0082): '{text}'.");

    private static MamQueryException BadRequest(string text) => new(StanzaError.BadRequest(text));
}
