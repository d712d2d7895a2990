using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.Pep;
using Parley.Server.Modules.PrivateStorage;
using Parley.Xml;

namespace Parley.Server.Modules.Bookmarks;

/// <summary>
/// Keeps an account's three copies of its chatroom bookmarks in step, so that clients of every generation
/// see the same list: the legacy &lt;storage xmlns='storage:bookmarks'/&gt; in private XML (XEP-0048 on
/// XEP-0049) and in the PEP node of that name (XEP-0048 on XEP-0223), and one PEP item per room in
/// urn:xmpp:bookmarks:1 (XEP-0402). A write to any of them rewrites the other two (XEP-0402 §compat,
/// XEP-0411). The rewrites go through internal paths that raise no observers, so a conversion never
/// sets off the conversion back. Both copies are owned by their modules and reached only through the
/// interfaces they offer (<see cref="IPrivateXml"/>, <see cref="IPersonalEventing"/>).
/// </summary>
public sealed class BookmarksModule(IPrivateXml privateXml, IPersonalEventing pep) : IModule
{
    /// <summary>XEP-0223 keeps the whole legacy list in one item of this id.</summary>
    public const string LegacyItemId = "current";

    /// <summary>XEP-0402: every room kept, readable by the owner only, not pushed at each login.</summary>
    public static readonly PepNodeConfig Bookmarks2NodeConfig =
        PepNodeConfig.Default with { AccessModel = PepAccessModel.Whitelist, MaxItems = null, SendLastPublishedItem = "never" };

    /// <summary>XEP-0048 §3.3 via XEP-0223: one item, readable by the owner only.</summary>
    public static readonly PepNodeConfig LegacyNodeConfig =
        PepNodeConfig.Default with { AccessModel = PepAccessModel.Whitelist, SendLastPublishedItem = "never" };

    // One conversion at a time: each reads one copy and rewrites the others, so two interleaved ones could
    // leave a stale list behind. Bookmark edits are rare; a single gate costs nothing that matters.
    private readonly SemaphoreSlim _converting = new(1, 1);

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Bookmarks + "#compat", server: false, account: true);
        registry.AddFeature(Ns.Bookmarks + "#compat-pep", server: false, account: true);
        registry.AddFeature(Ns.BookmarksConversion, server: false, account: true);
        privateXml.OnStored(OnPrivateStoredAsync);
        pep.OnPublished(OnPublishedAsync);
        pep.OnRetracted(OnRetractedAsync);
        pep.OnEmptied(OnEmptiedAsync);
    }

    private ValueTask OnPrivateStoredAsync(Jid account, Element fragment) =>
        IsLegacyList(fragment) ? ConvertAsync(() => FromLegacyAsync(account, fragment, fromPep: false)) : ValueTask.CompletedTask;

    private ValueTask OnPublishedAsync(Jid owner, string node, string itemId, Element payload) => node switch
    {
        Ns.Bookmarks => ConvertAsync(() => FromBookmarks2Async(owner)),
        Ns.LegacyBookmarks when IsLegacyList(payload) => ConvertAsync(() => FromLegacyAsync(owner, payload, fromPep: true)),
        _ => ValueTask.CompletedTask,
    };

    private ValueTask OnRetractedAsync(Jid owner, string node, string itemId) =>
        node == Ns.Bookmarks ? ConvertAsync(() => FromBookmarks2Async(owner)) : ValueTask.CompletedTask;

    /// <summary>A deleted or purged list is an empty list in the other copies too.</summary>
    private ValueTask OnEmptiedAsync(Jid owner, string node) => node switch
    {
        Ns.Bookmarks => ConvertAsync(() => FromBookmarks2Async(owner)),
        Ns.LegacyBookmarks => ConvertAsync(() => FromLegacyAsync(owner, new Element("storage", Ns.LegacyBookmarks), fromPep: true)),
        _ => ValueTask.CompletedTask,
    };

    private async ValueTask ConvertAsync(Func<ValueTask> conversion)
    {
        await _converting.WaitAsync().ConfigureAwait(false);
        try
        {
            await conversion().ConfigureAwait(false);
        }
        finally
        {
            _converting.Release();
        }
    }

    /// <summary>
    /// A legacy list was stored: the other legacy copy gets it whole, and bookmarks2 gets an item for each room
    /// that changed and loses the items of rooms no longer listed, each with its event.
    /// </summary>
    private async ValueTask FromLegacyAsync(Jid account, Element legacy, bool fromPep)
    {
        if (fromPep)
        {
            await privateXml.SetAsync(account, legacy).ConfigureAwait(false);
        }
        else
        {
            await pep.PublishInternalAsync(account, Ns.LegacyBookmarks, LegacyItemId, legacy.Clone(), LegacyNodeConfig).ConfigureAwait(false);
        }

        var wanted = new Dictionary<string, Element>(StringComparer.Ordinal);
        foreach (var conference in legacy.Children("conference", Ns.LegacyBookmarks))
        {
            // A bookmarks2 item is named by its room; an entry without a usable room JID has no item to become.
            if (Jid.TryParse(conference.GetAttribute("jid"), out var room))
            {
                wanted[room.ToString()] = ToBookmarks2(conference);
            }
        }
        var current = await pep.GetItemsAsync(account, Ns.Bookmarks).ConfigureAwait(false);
        var unchanged = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in current)
        {
            if (!wanted.TryGetValue(item.Id, out var conference))
            {
                await pep.RetractInternalAsync(account, Ns.Bookmarks, item.Id).ConfigureAwait(false);
            }
            else if (conference.ToXml(Ns.Client) == item.Payload.ToXml(Ns.Client))
            {
                unchanged.Add(item.Id);
            }
        }
        foreach (var (room, conference) in wanted)
        {
            if (!unchanged.Contains(room))
            {
                await pep.PublishInternalAsync(account, Ns.Bookmarks, room, conference, Bookmarks2NodeConfig).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A bookmarks2 item changed: both legacy copies are rewritten from all the items. What bookmarks2 cannot
    /// hold (the legacy list's &lt;url/&gt; entries) is kept from the private XML copy.
    /// </summary>
    private async ValueTask FromBookmarks2Async(Jid owner)
    {
        var legacy = new Element("storage", Ns.LegacyBookmarks);
        var items = await pep.GetItemsAsync(owner, Ns.Bookmarks).ConfigureAwait(false);
        // The items come newest first; the list keeps the order the rooms were bookmarked in.
        for (var i = items.Count - 1; i >= 0; i--)
        {
            var conference = items[i].Payload;
            if (conference.Name == "conference" && conference.Namespace == Ns.Bookmarks)
            {
                legacy.Add(ToLegacy(items[i].Id, conference));
            }
        }
        if (await privateXml.GetAsync(owner, "storage", Ns.LegacyBookmarks).ConfigureAwait(false) is { } previous)
        {
            foreach (var child in previous.Children())
            {
                if (child.Name != "conference" || child.Namespace != Ns.LegacyBookmarks)
                {
                    legacy.Add(child);
                }
            }
        }
        await privateXml.SetAsync(owner, legacy).ConfigureAwait(false);
        await pep.PublishInternalAsync(owner, Ns.LegacyBookmarks, LegacyItemId, legacy, LegacyNodeConfig).ConfigureAwait(false);
    }

    /// <summary>
    /// XEP-0048's &lt;conference jid name autojoin&gt;&lt;nick/&gt;&lt;password/&gt;…&lt;/conference&gt; as a XEP-0402 item payload;
    /// children of other namespaces go into &lt;extensions/&gt;, which XEP-0402 tells clients to preserve.
    /// </summary>
    public static Element ToBookmarks2(Element legacyConference)
    {
        var conference = new Element("conference", Ns.Bookmarks).SetAttribute("name", legacyConference.GetAttribute("name"));
        if (IsTrue(legacyConference.GetAttribute("autojoin")))
        {
            conference.SetAttribute("autojoin", "true");
        }
        Element? extensions = null;
        foreach (var child in legacyConference.Children())
        {
            if (child.Namespace == Ns.LegacyBookmarks && child.Name is "nick" or "password")
            {
                conference.AddChild(child.Name, Ns.Bookmarks).AddText(child.Text);
            }
            else if (child.Namespace != Ns.LegacyBookmarks)
            {
                extensions ??= new Element("extensions", Ns.Bookmarks);
                extensions.Add(child.Clone());
            }
        }
        if (extensions is not null)
        {
            conference.Add(extensions);
        }
        return conference;
    }

    /// <summary>A XEP-0402 item as a XEP-0048 &lt;conference/&gt;; the item id is the room JID.</summary>
    public static Element ToLegacy(string room, Element conference)
    {
        var legacy = new Element("conference", Ns.LegacyBookmarks)
            .SetAttribute("jid", room)
            .SetAttribute("name", conference.GetAttribute("name"))
            .SetAttribute("autojoin", IsTrue(conference.GetAttribute("autojoin")) ? "true" : "false");
        foreach (var child in conference.Children())
        {
            if (child.Namespace == Ns.Bookmarks && child.Name is "nick" or "password")
            {
                legacy.AddChild(child.Name, Ns.LegacyBookmarks).AddText(child.Text);
            }
            else if (child.Namespace == Ns.Bookmarks && child.Name == "extensions")
            {
                foreach (var extension in child.Children())
                {
                    legacy.Add(extension.Clone());
                }
            }
        }
        return legacy;
    }

    private static bool IsLegacyList(Element element) => element.Name == "storage" && element.Namespace == Ns.LegacyBookmarks;

    /// <summary>xs:boolean, which both XEPs use for autojoin.</summary>
    private static bool IsTrue(string? value) => value is "true" or "1";
}
