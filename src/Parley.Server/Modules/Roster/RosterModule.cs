using System.Globalization;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.ModuleContract;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Roster;

/// <summary>
/// Roster management (RFC 6121 §2): get with versioning (XEP-0237), add and update, remove — which
/// also cancels the subscriptions both ways (§2.5.2), by telling presence through
/// <see cref="RosterService.OnContactLeaving"/> — and the administrator's limit on contacts.
/// </summary>
public sealed class RosterModule(RosterService rosters, RuntimeSettings settings) : IModule
{
    public void Register(ModuleRegistry registry)
    {
        registry.HandleIq(Ns.Roster, IqTarget.Account, HandleAsync);
        registry.AddStreamFeature(new Element("ver", Ns.RosterVersioning));
        registry.OnAccountRemoving(AllContactsLeavingAsync);
        registry.OnAccountRemoved(rosters.ContactRemovedAsync);
        rosters.Interested.ForgetWhenEnded(registry);
        rosters.Interested.KeepOnResumption(registry, "roster-pushes");
    }

    private async ValueTask<Element> HandleAsync(IqRequest request)
    {
        if (!request.From.Bare.Equals(request.To))
        {
            // §2.1.5: only the account itself manages its roster; pushes from anyone else are refused.
            return request.Error(StanzaError.Forbidden("Only the account itself can use its roster."));
        }
        return request.IsGet ? await GetAsync(request).ConfigureAwait(false) : await SetAsync(request).ConfigureAwait(false);
    }

    private async ValueTask<Element> GetAsync(IqRequest request)
    {
        if (request.Sender is { } session)
        {
            rosters.Interested.Set(session);
        }
        var roster = await rosters.GetAsync(request.To).ConfigureAwait(false);
        var version = roster.Version.ToString(CultureInfo.InvariantCulture);
        if (request.Payload.GetAttribute("ver") == version)
        {
            // XEP-0237 §4: the client's copy is current; changes from now on come as pushes.
            return request.Result();
        }
        var query = new Element("query", Ns.Roster).SetAttribute("ver", version);
        foreach (var item in roster.Items)
        {
            query.Add(RosterXml.Item(item));
        }
        return request.Result(query);
    }

    private async ValueTask<Element> SetAsync(IqRequest request)
    {
        var items = request.Payload.Children("item", Ns.Roster).ToList();
        if (items.Count != 1)
        {
            return request.Error(StanzaError.BadRequest("A roster set carries exactly one item."));
        }
        var element = items[0];
        if (!Jid.TryParse(element.GetAttribute("jid"), out var jid))
        {
            return request.Error(StanzaError.JidMalformed("The item's 'jid' is missing or not a valid JID."));
        }
        var contact = jid.Bare;
        // §2.1.2.5: any other subscription value from a client is ignored; subscriptions change through presence.
        if (element.GetAttribute("subscription") == "remove")
        {
            return await RemoveAsync(request, contact).ConfigureAwait(false);
        }

        var groups = new List<string>();
        foreach (var group in element.Children("group", Ns.Roster))
        {
            var name = group.Text;
            if (name.Length == 0)
            {
                return request.Error(StanzaError.NotAcceptable("A group name cannot be empty."));
            }
            if (groups.Contains(name))
            {
                return request.Error(StanzaError.BadRequest($"The group '{name}' is listed twice."));
            }
            groups.Add(name);
        }
        var itemName = element.GetAttribute("name");

        using (await rosters.LockAsync(request.To).ConfigureAwait(false))
        {
            var existing = await rosters.GetItemAsync(request.To, contact).ConfigureAwait(false);
            var limit = settings.Current.MaxContacts;
            if (existing is null && limit > 0 && await rosters.CountAsync(request.To).ConfigureAwait(false) >= limit)
            {
                return request.Error(StanzaError.NotAllowed($"This server allows at most {limit} contacts per user."));
            }
            var item = (existing ?? new RosterItem(contact.ToString(), null, Subscription.None, false, false, []))
                with
            { Name = string.IsNullOrEmpty(itemName) ? null : itemName, Groups = groups };
            await rosters.SetAsync(request.To, item).ConfigureAwait(false);
        }
        return request.Result();
    }

    private async ValueTask<Element> RemoveAsync(IqRequest request, Jid contact)
    {
        var item = await rosters.GetItemAsync(request.To, contact).ConfigureAwait(false);
        var pending = await rosters.HasPendingAsync(request.To, contact).ConfigureAwait(false);
        if (item is null && !pending)
        {
            return request.Error(StanzaError.ItemNotFound("That contact is not on the roster."));
        }
        await rosters.ContactLeavingAsync(request.To, contact).ConfigureAwait(false);
        using (await rosters.LockAsync(request.To).ConfigureAwait(false))
        {
            await rosters.RemoveAsync(request.To, contact).ConfigureAwait(false);
        }
        return request.Result();
    }

    /// <summary>
    /// An account that goes leaves no contact subscribed to it or waiting for its answer (as Prosody and ejabberd do):
    /// every contact on its roster or with a pending request leaves it, and presence ends their subscriptions.
    /// </summary>
    private async ValueTask AllContactsLeavingAsync(Jid account)
    {
        var contacts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in (await rosters.GetAsync(account).ConfigureAwait(false)).Items)
        {
            contacts.Add(item.Contact);
        }
        foreach (var pending in await rosters.GetPendingAsync(account).ConfigureAwait(false))
        {
            contacts.Add(pending.Contact);
        }
        foreach (var contact in contacts)
        {
            if (Jid.TryParse(contact, out var jid))
            {
                await rosters.ContactLeavingAsync(account, jid).ConfigureAwait(false);
            }
        }
    }
}
