using Microsoft.Extensions.Logging;
using Parley.Ldap;
using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.Modules.VCard;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Ldap;

/// <summary>
/// Contact search (XEP-0055) at search.DOMAIN, with a data form (XEP-0004) and the old fixed fields alike: first,
/// last, nick, email, and a free-text field that matches any of them, the user id and the department. Searches the
/// directory when one is configured (values escaped per RFC 4515, substring matches), the local accounts (user
/// name and stored vCard) otherwise; at most <see cref="DirectoryOptions.SearchResultLimit"/> results.
/// </summary>
public sealed partial class ContactSearchService(DirectoryOptions options, LdapDirectory directory, IParleyStorage storage, Router router, ILogger<ContactSearchService> logger)
{
    public const string Subdomain = "search";
    private const string SearchNs = "jabber:iq:search";
    private static readonly string[] Fields = ["first", "last", "nick", "email"];

    public async ValueTask HandleAsync(ServiceStanza stanza)
    {
        var iq = stanza.Stanza;
        if (iq.Name != "iq" || iq.GetAttribute("type") is not ("get" or "set"))
        {
            return;
        }
        var payload = iq.Children().FirstOrDefault();
        var isGet = iq.GetAttribute("type") == "get";
        Element answer;
        try
        {
            answer = payload?.Namespace switch
            {
                Ns.DiscoInfo when isGet && payload.GetAttribute("node") is null => Stanzas.IqResult(iq, ServiceInfo()),
                Ns.DiscoItems when isGet => Stanzas.IqResult(iq, new Element("query", Ns.DiscoItems)),
                SearchNs when isGet => Stanzas.IqResult(iq, SearchForm()),
                SearchNs => await SearchAsync(iq, payload, stanza.To.Domain).ConfigureAwait(false),
                _ => Stanzas.ErrorReply(iq, StanzaError.ServiceUnavailable()),
            };
        }
        catch (DirectoryUnavailableException e)
        {
            LogDirectoryUnavailable(logger, e.Message);
            answer = Stanzas.ErrorReply(iq, new StanzaError("remote-server-timeout", ErrorType.Wait, "The directory cannot be searched now; try again later."));
        }
        await router.RouteAsync(answer, stanza.To, stanza.From).ConfigureAwait(false);
    }

    private static Element ServiceInfo()
    {
        var query = new Element("query", Ns.DiscoInfo);
        query.AddChild("identity").SetAttribute("category", "directory").SetAttribute("type", "user").SetAttribute("name", "Contact search");
        foreach (var feature in new[] { Ns.DiscoInfo, SearchNs, Ns.DataForms })
        {
            query.AddChild("feature").SetAttribute("var", feature);
        }
        return query;
    }

    /// <summary>§2: the instructions and fields, in both the old form and a data form.</summary>
    private static Element SearchForm()
    {
        var query = new Element("query", SearchNs);
        query.AddChild("instructions", SearchNs).AddText("Find colleagues by name, nickname, e-mail, user id or department.");
        foreach (var field in Fields)
        {
            query.AddChild(field, SearchNs);
        }
        var form = DataForm.Create("form", SearchNs, "Contact search");
        form.AddChild("instructions", Ns.DataForms).AddText("Fill in any field; 'Any' matches name, nickname, e-mail, user id and department.");
        DataForm.AddField(form, "search", FieldType.TextSingle, "Any");
        DataForm.AddField(form, "first", FieldType.TextSingle, "Given name");
        DataForm.AddField(form, "last", FieldType.TextSingle, "Family name");
        DataForm.AddField(form, "nick", FieldType.TextSingle, "Nickname or user id");
        DataForm.AddField(form, "email", FieldType.TextSingle, "E-mail");
        return query.Add(form);
    }

    private async Task<Element> SearchAsync(Element iq, Element query, string serviceDomain)
    {
        var domain = serviceDomain.StartsWith(Subdomain + ".", StringComparison.Ordinal) ? serviceDomain[(Subdomain.Length + 1)..] : serviceDomain;
        var form = DataForm.Read(DataForm.Find(query));
        var criteria = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in Fields.Append("search"))
        {
            var value = form is not null ? form.GetValueOrDefault(field)?.FirstOrDefault() : query.ChildText(field, SearchNs);
            if (!string.IsNullOrWhiteSpace(value))
            {
                criteria[field] = value.Trim();
            }
        }
        if (criteria.Count == 0)
        {
            return Stanzas.ErrorReply(iq, StanzaError.NotAcceptable("Fill in at least one field."));
        }
        var found = options.IsConfigured
            ? await SearchDirectoryAsync(criteria, domain).ConfigureAwait(false)
            : await SearchLocalAsync(criteria, domain).ConfigureAwait(false);
        return Stanzas.IqResult(iq, form is not null ? FormResult(found) : LegacyResult(found));
    }

    private async Task<List<Found>> SearchDirectoryAsync(Dictionary<string, string> criteria, string domain)
    {
        var filter = DirectoryFilter(options, criteria);
        var people = await directory.SearchUsersAsync(filter, options.SearchResultLimit).ConfigureAwait(false);
        var found = new List<Found>();
        foreach (var person in people)
        {
            if (DirectoryAccounts.TryGetJid(person, options, domain, out var jid, out _))
            {
                found.Add(new Found(jid.ToString(), person.GivenName, person.Surname, person.DisplayName, person.Mail));
            }
        }
        return found;
    }

    /// <summary>The directory filter of a search's fields (`first`, `last`, `nick`, `email`; any other field is free text), each a substring match.</summary>
    public static string DirectoryFilter(DirectoryOptions options, IEnumerable<KeyValuePair<string, string>> criteria)
    {
        var a = options.Attributes;
        var filter = string.Concat(criteria.Select(c => c.Key switch
        {
            "first" => Contains(a.GivenName, c.Value),
            "last" => Contains(a.Surname, c.Value),
            "nick" => $"(|{Contains(options.UserIdAttribute, c.Value)}{Contains(a.DisplayName, c.Value)})",
            "email" => Contains(a.Mail, c.Value),
            _ => $"(|{Contains(a.GivenName, c.Value)}{Contains(a.Surname, c.Value)}{Contains(a.DisplayName, c.Value)}{Contains(a.Mail, c.Value)}{Contains(options.UserIdAttribute, c.Value)}{Contains(options.DepartmentAttribute, c.Value)})",
        }));
        return $"(&{filter})";
    }

    private static string Contains(string attribute, string value) => $"({attribute}=*{LdapFilter.Escape(value)}*)";

    /// <summary>Without a directory: the domain's accounts whose user name or stored vCard matches every field given.</summary>
    private async Task<List<Found>> SearchLocalAsync(Dictionary<string, string> criteria, string domain)
    {
        var found = new List<Found>();
        foreach (var account in await storage.Accounts.ListAsync(domain, 0, int.MaxValue).ConfigureAwait(false))
        {
            var stored = await storage.Documents.GetAsync(account.Jid, VCardModule.DocumentKind, "").ConfigureAwait(false);
            var vCard = stored is null ? null : ElementParser.Parse(stored.Xml, Ns.Client);
            var user = account.Jid[..account.Jid.IndexOf('@')];
            var first = vCard?.Child("N", Ns.VCard)?.ChildText("GIVEN", Ns.VCard);
            var last = vCard?.Child("N", Ns.VCard)?.ChildText("FAMILY", Ns.VCard);
            var nick = vCard?.ChildText("NICKNAME", Ns.VCard) ?? vCard?.ChildText("FN", Ns.VCard);
            var email = vCard?.Child("EMAIL", Ns.VCard)?.ChildText("USERID", Ns.VCard);
            var matches = criteria.All(c => c.Key switch
            {
                "first" => Has(first, c.Value),
                "last" => Has(last, c.Value),
                "nick" => Has(nick, c.Value) || Has(user, c.Value),
                "email" => Has(email, c.Value),
                _ => Has(first, c.Value) || Has(last, c.Value) || Has(nick, c.Value) || Has(email, c.Value) || Has(user, c.Value),
            });
            if (matches)
            {
                found.Add(new Found(account.Jid, first, last, nick, email));
                if (found.Count == options.SearchResultLimit)
                {
                    break;
                }
            }
        }
        return found;
    }

    private static bool Has(string? text, string value) => text is not null && text.Contains(value, StringComparison.OrdinalIgnoreCase);

    /// <summary>§3: a result form with the reported fields and one item per contact.</summary>
    private static Element FormResult(List<Found> found)
    {
        var form = DataForm.Create("result", SearchNs);
        var reported = form.AddChild("reported", Ns.DataForms);
        foreach (var (var, label) in new[] { ("jid", "JID"), ("first", "Given name"), ("last", "Family name"), ("nick", "Name"), ("email", "E-mail") })
        {
            reported.AddChild("field", Ns.DataForms).SetAttribute("var", var).SetAttribute("label", label).SetAttribute("type", var == "jid" ? FieldType.JidSingle : FieldType.TextSingle);
        }
        foreach (var contact in found)
        {
            var item = form.AddChild("item", Ns.DataForms);
            foreach (var (var, value) in contact.Values())
            {
                item.AddChild("field", Ns.DataForms).SetAttribute("var", var).AddChild("value", Ns.DataForms).AddText(value ?? "");
            }
        }
        return new Element("query", SearchNs).Add(form);
    }

    /// <summary>§2: the old form, an &lt;item jid=''/&gt; per contact.</summary>
    private static Element LegacyResult(List<Found> found)
    {
        var query = new Element("query", SearchNs);
        foreach (var contact in found)
        {
            var item = query.AddChild("item", SearchNs).SetAttribute("jid", contact.Jid);
            foreach (var (var, value) in contact.Values().Skip(1))
            {
                item.AddChild(var, SearchNs).AddText(value ?? "");
            }
        }
        return query;
    }

    private sealed record Found(string Jid, string? First, string? Last, string? Nick, string? Email)
    {
        public IEnumerable<(string Var, string? Value)> Values() => [("jid", Jid), ("first", First), ("last", Last), ("nick", Nick), ("email", Email)];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Contact search: {Reason}")]
    private static partial void LogDirectoryUnavailable(ILogger logger, string reason);
}
