using System.Diagnostics.CodeAnalysis;
using Parley.Protocol;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Mam;

/// <summary>
/// XEP-0313 preferences as XML:
/// <c>&lt;prefs default='always|never|roster'&gt;&lt;always&gt;&lt;jid/&gt;…&lt;/always&gt;&lt;never&gt;…&lt;/never&gt;&lt;/prefs&gt;</c>.
/// </summary>
public static class PreferencesXml
{
    public static Element Write(ArchivePreferences preferences)
    {
        var prefs = new Element("prefs", Ns.Mam).SetAttribute("default", preferences.Default);
        prefs.Add(JidList("always", preferences.Always));
        prefs.Add(JidList("never", preferences.Never));
        return prefs;
    }

    /// <summary>Reads a set request's &lt;prefs/&gt;; JIDs come back prepared (RFC 7622) and each list without repeats.</summary>
    public static bool TryRead(Element prefs, [NotNullWhen(true)] out ArchivePreferences? preferences, out StanzaError error)
    {
        preferences = null;
        error = default;
        var mode = prefs.GetAttribute("default");
        if (mode is not ("always" or "never" or "roster"))
        {
            error = StanzaError.BadRequest($"'default' must be always, never or roster, not '{mode}'.");
            return false;
        }
        if (!TryReadJids(prefs.Child("always", Ns.Mam), out var always, ref error) || !TryReadJids(prefs.Child("never", Ns.Mam), out var never, ref error))
        {
            return false;
        }
        preferences = new ArchivePreferences(mode, always, never);
        return true;
    }

    private static Element JidList(string name, IReadOnlyList<string> jids)
    {
        var list = new Element(name, Ns.Mam);
        foreach (var jid in jids)
        {
            list.AddChild("jid", Ns.Mam).AddText(jid);
        }
        return list;
    }

    private static bool TryReadJids(Element? list, out List<string> jids, ref StanzaError error)
    {
        jids = [];
        if (list is null)
        {
            return true;
        }
        foreach (var item in list.Children("jid", Ns.Mam))
        {
            if (!Jid.TryParse(item.Text, out var jid))
            {
                error = StanzaError.JidMalformed($"'{item.Text}' in <{list.Name}/> is not a valid JID.");
                return false;
            }
            var prepared = jid.ToString();
            if (!jids.Contains(prepared))
            {
                jids.Add(prepared);
            }
        }
        return true;
    }
}
