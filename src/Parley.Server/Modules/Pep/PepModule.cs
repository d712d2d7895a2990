using System.Globalization;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Pep;

/// <summary>
/// Personal eventing (XEP-0163) on the subset of publish-subscribe (XEP-0060) it needs: each account is
/// a pubsub service of its own. The owner publishes (the first publish creates the node, with
/// publish-options applied), retracts, configures and deletes; others retrieve items as the node's
/// access model allows. Events go to the sessions that asked for them through entity capabilities
/// (NODE+notify), see <see cref="PepNotifier"/>.
/// </summary>
public sealed class PepModule(IParleyStorage storage, PepNotifier notifier, ParleyOptions options, TimeProvider time) : IModule, IPersonalEventing
{
    private const string Feature = "http://jabber.org/protocol/pubsub#";

    private readonly List<PepItemPublished> _publishedObservers = [];
    private readonly List<PepItemRetracted> _retractedObservers = [];
    private readonly List<PepNodeEmptied> _emptiedObservers = [];

    private IPepStore Store => storage.Pep;

    private int MaxItems => options.Limits.MaxPepItemsPerNode;

    public void Register(ModuleRegistry registry)
    {
        registry.AddAccountIdentity("pubsub", "pep");
        foreach (var feature in new[]
        {
            "access-open", "access-presence", "access-roster", "access-whitelist", "auto-create", "config-node", "config-node-max",
            "create-nodes", "delete-items", "delete-nodes", "filtered-notifications", "item-ids", "last-published", "persistent-items",
            "presence-notifications", "publish", "publish-options", "purge-nodes", "retract-items", "retrieve-affiliations",
            "retrieve-default", "retrieve-items", "retrieve-subscriptions",
        })
        {
            registry.AddFeature(Feature + feature, server: false, account: true);
        }
        registry.AddFeature(Ns.PubSub, server: false, account: true);
        registry.HandleIq(Ns.PubSub, IqTarget.Account, HandlePubSubAsync);
        registry.HandleIq(Ns.PubSubOwner, IqTarget.Account, HandleOwnerAsync);
        registry.AddAccountItems(ListNodesAsync);
        notifier.Register(registry);
    }

    public void OnPublished(PepItemPublished observer) => _publishedObservers.Add(observer);

    public void OnRetracted(PepItemRetracted observer) => _retractedObservers.Add(observer);

    public void OnEmptied(PepNodeEmptied observer) => _emptiedObservers.Add(observer);

    public async ValueTask<IReadOnlyList<PepPayload>> GetItemsAsync(Jid owner, string node)
    {
        var items = await Store.GetItemsAsync(owner.Bare.ToString(), node, MaxItems).ConfigureAwait(false);
        var payloads = new PepPayload[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            payloads[i] = new PepPayload(items[i].Id, ElementParser.Parse(items[i].Xml, Ns.Client));
        }
        return payloads;
    }

    public async ValueTask PublishInternalAsync(Jid owner, string node, string itemId, Element payload, PepNodeConfig configIfCreated)
    {
        var account = owner.Bare.ToString();
        PepNodeConfig config;
        while (true)
        {
            if (await Store.GetNodeAsync(account, node).ConfigureAwait(false) is { } stored)
            {
                config = PepNodeConfig.FromStored(stored.ConfigXml);
                break;
            }
            // False when a concurrent publish created it first: then its configuration applies.
            if (await Store.CreateNodeAsync(account, node, configIfCreated.ToStored()).ConfigureAwait(false))
            {
                config = configIfCreated;
                break;
            }
        }
        await StoreAndNotifyAsync(owner.Bare, node, config, itemId, payload).ConfigureAwait(false);
    }

    public async ValueTask<bool> RetractInternalAsync(Jid owner, string node, string itemId)
    {
        var account = owner.Bare.ToString();
        if (await Store.GetNodeAsync(account, node).ConfigureAwait(false) is not { } stored
            || !await Store.RetractAsync(account, node, itemId).ConfigureAwait(false))
        {
            return false;
        }
        var config = PepNodeConfig.FromStored(stored.ConfigXml);
        if (config.NotifyRetract)
        {
            await notifier.RetractedAsync(owner.Bare, node, config, itemId).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>XEP-0060 §5.2 and XEP-0163 §6: the nodes whose items the requester may retrieve, as items of the account.</summary>
    private async ValueTask ListNodesAsync(Jid account, Jid requester, Element query)
    {
        var owner = account.ToString();
        foreach (var node in await Store.GetNodesAsync(owner).ConfigureAwait(false))
        {
            if (await notifier.DenialAsync(account, PepNodeConfig.FromStored(node.ConfigXml), requester.Bare).ConfigureAwait(false) is null)
            {
                query.AddChild("item", Ns.DiscoItems).SetAttribute("jid", owner).SetAttribute("node", node.Node);
            }
        }
    }

    private async ValueTask<Element> HandlePubSubAsync(IqRequest request)
    {
        var pubsub = request.Payload;
        if (pubsub.Name != "pubsub")
        {
            return request.Error(StanzaError.BadRequest("The payload must be <pubsub xmlns='http://jabber.org/protocol/pubsub'/>."));
        }
        var action = pubsub.Children().FirstOrDefault(child => child.Name is not ("publish-options" or "configure"));
        return (action?.Name, request.IsSet) switch
        {
            ("publish", true) => await PublishAsync(request, action!, pubsub.Child("publish-options", Ns.PubSub)).ConfigureAwait(false),
            ("retract", true) => await RetractAsync(request, action!).ConfigureAwait(false),
            ("create", true) => await CreateAsync(request, action!, pubsub.Child("configure", Ns.PubSub)).ConfigureAwait(false),
            ("items", false) => await ItemsAsync(request, action!).ConfigureAwait(false),
            ("subscriptions", false) => request.Result(new Element("pubsub", Ns.PubSub).Add(new Element("subscriptions", Ns.PubSub))),
            ("affiliations", false) => await AffiliationsAsync(request).ConfigureAwait(false),
            ("subscribe" or "unsubscribe" or "options", _) => PubSubError(request, StanzaError.FeatureNotImplemented(
                "Personal eventing subscribes contacts through presence and entity capabilities (NODE+notify); explicit subscriptions are not supported."),
                "unsupported", action!.Name),
            _ => request.Error(StanzaError.BadRequest("The pubsub request names no action this service knows (publish, retract, items, create, ...).")),
        };
    }

    private async ValueTask<Element> HandleOwnerAsync(IqRequest request)
    {
        var pubsub = request.Payload;
        if (pubsub.Name != "pubsub")
        {
            return request.Error(StanzaError.BadRequest("The payload must be <pubsub xmlns='http://jabber.org/protocol/pubsub#owner'/>."));
        }
        if (!IsOwner(request))
        {
            return request.Error(StanzaError.Forbidden("Only the account itself owns its nodes."));
        }
        var action = pubsub.Children().FirstOrDefault();
        if ((action?.Name, request.IsSet) is ("default", false))
        {
            return request.Result(new Element("pubsub", Ns.PubSubOwner).Add(new Element("default", Ns.PubSubOwner).Add(PepNodeConfig.Default.ToForm("form"))));
        }
        if (action is null || action.Name is not ("configure" or "delete" or "purge" or "subscriptions" or "affiliations"))
        {
            return request.Error(StanzaError.BadRequest("The owner request names no action this service knows (configure, delete, purge, ...)."));
        }
        if (action.GetAttribute("node") is not { Length: > 0 } node)
        {
            return PubSubError(request, StanzaError.BadRequest("The request must name a node."), "nodeid-required");
        }
        var owner = request.To.ToString();
        if (await Store.GetNodeAsync(owner, node).ConfigureAwait(false) is not { } stored)
        {
            return request.Error(StanzaError.ItemNotFound($"There is no node '{node}'."));
        }
        var config = PepNodeConfig.FromStored(stored.ConfigXml);
        return (action.Name, request.IsSet) switch
        {
            ("configure", false) => request.Result(new Element("pubsub", Ns.PubSubOwner)
                .Add(new Element("configure", Ns.PubSubOwner).SetAttribute("node", node).Add(config.ToForm("form")))),
            ("configure", true) => await ConfigureAsync(request, node, config, action).ConfigureAwait(false),
            ("delete", true) => await DeleteAsync(request, node, config).ConfigureAwait(false),
            ("purge", true) => await PurgeAsync(request, node, config).ConfigureAwait(false),
            ("subscriptions", false) => request.Result(new Element("pubsub", Ns.PubSubOwner)
                .Add(new Element("subscriptions", Ns.PubSubOwner).SetAttribute("node", node))),
            ("affiliations", false) => request.Result(new Element("pubsub", Ns.PubSubOwner)
                .Add(new Element("affiliations", Ns.PubSubOwner).SetAttribute("node", node)
                    .Add(new Element("affiliation", Ns.PubSubOwner).SetAttribute("jid", owner).SetAttribute("affiliation", "owner")))),
            _ => request.Error(StanzaError.BadRequest($"<{action.Name}/> is not a {(request.IsSet ? "set" : "get")} request.")),
        };
    }

    /// <summary>XEP-0060 §7.1, with auto-create (XEP-0163 §3) and publish-options (§7.1.5).</summary>
    private async ValueTask<Element> PublishAsync(IqRequest request, Element publish, Element? publishOptions)
    {
        if (!IsOwner(request))
        {
            return request.Error(StanzaError.Forbidden("Only the account itself may publish to its nodes."));
        }
        if (publish.GetAttribute("node") is not { Length: > 0 } node)
        {
            return PubSubError(request, StanzaError.BadRequest("The publish must name a node."), "nodeid-required");
        }
        var items = publish.Children("item", Ns.PubSub).ToList();
        if (items.Count != 1)
        {
            return PubSubError(request, StanzaError.BadRequest("Publish exactly one item."), items.Count == 0 ? "item-required" : "invalid-payload");
        }
        var item = items[0];
        var payloads = item.Children().ToList();
        if (payloads.Count != 1)
        {
            return PubSubError(request, StanzaError.BadRequest("The item must hold exactly one payload element."), payloads.Count == 0 ? "payload-required" : "invalid-payload");
        }
        var payloadXml = payloads[0].ToXml(Ns.Client);
        var size = Encoding.UTF8.GetByteCount(payloadXml);
        if (size > options.Limits.MaxPepItemBytes)
        {
            return PubSubError(request, StanzaError.NotAcceptable(
                $"The item is {size} bytes; this server keeps items of at most {options.Limits.MaxPepItemBytes} bytes."), "payload-too-big");
        }

        IReadOnlyDictionary<string, IReadOnlyList<string>> preconditions = new Dictionary<string, IReadOnlyList<string>>();
        if (publishOptions is not null)
        {
            var form = DataForm.Read(DataForm.Find(publishOptions));
            if (form is null || !DataForm.HasFormType(form, PepNodeConfig.PublishOptionsFormType))
            {
                return PubSubError(request, StanzaError.BadRequest(
                    $"publish-options must hold a data form of FORM_TYPE {PepNodeConfig.PublishOptionsFormType}."), "invalid-options");
            }
            preconditions = form;
        }

        var owner = request.To.ToString();
        var config = await LoadOrCreateAsync(owner, node, preconditions).ConfigureAwait(false);
        if (config.Error is not null)
        {
            return PubSubError(request, StanzaError.Conflict(config.Error), "precondition-not-met");
        }

        var id = item.GetAttribute("id") is { Length: > 0 } given ? given : Guid.NewGuid().ToString("N");
        await StoreAndNotifyAsync(request.To, node, config.Config!, id, payloads[0], payloadXml).ConfigureAwait(false);
        foreach (var observer in _publishedObservers)
        {
            await observer(request.To, node, id, payloads[0]).ConfigureAwait(false);
        }

        var result = new Element("pubsub", Ns.PubSub);
        result.AddChild("publish", Ns.PubSub).SetAttribute("node", node).AddChild("item", Ns.PubSub).SetAttribute("id", id);
        return request.Result(result);
    }

    private async ValueTask StoreAndNotifyAsync(Jid owner, string node, PepNodeConfig config, string itemId, Element payload, string? payloadXml = null)
    {
        if (config.PersistItems)
        {
            var published = new PepItem(itemId, time.GetUtcNow(), payloadXml ?? payload.ToXml(Ns.Client));
            await Store.PublishAsync(owner.ToString(), node, published, config.ItemLimit(MaxItems)).ConfigureAwait(false);
        }
        await notifier.PublishedAsync(owner, node, config, itemId, payload).ConfigureAwait(false);
    }

    /// <summary>
    /// The node's configuration; a node that does not exist is created with the publish-options applied.
    /// An existing node must already be configured as the options say (XEP-0060 §7.1.5).
    /// </summary>
    private async ValueTask<(PepNodeConfig? Config, string? Error)> LoadOrCreateAsync(
        string owner, string node, IReadOnlyDictionary<string, IReadOnlyList<string>> preconditions)
    {
        while (true)
        {
            if (await Store.GetNodeAsync(owner, node).ConfigureAwait(false) is { } stored)
            {
                var existing = PepNodeConfig.FromStored(stored.ConfigXml);
                return existing.FirstUnmetPrecondition(preconditions) is { } unmet
                    ? (null, $"The node is not configured with the {unmet} the publish-options ask for; configure the node first.")
                    : (existing, null);
            }
            var created = PepNodeConfig.DefaultFor(node).With(preconditions, out var error);
            if (created is null)
            {
                return (null, error);
            }
            // False when a concurrent publish created it first: then its configuration is the one to meet.
            if (await Store.CreateNodeAsync(owner, node, created.ToStored()).ConfigureAwait(false))
            {
                return (created, null);
            }
        }
    }

    /// <summary>XEP-0060 §7.2.</summary>
    private async ValueTask<Element> RetractAsync(IqRequest request, Element retract)
    {
        if (!IsOwner(request))
        {
            return request.Error(StanzaError.Forbidden("Only the account itself may retract items from its nodes."));
        }
        if (retract.GetAttribute("node") is not { Length: > 0 } node)
        {
            return PubSubError(request, StanzaError.BadRequest("The retract must name a node."), "nodeid-required");
        }
        if (retract.Child("item", Ns.PubSub)?.GetAttribute("id") is not { Length: > 0 } id)
        {
            return PubSubError(request, StanzaError.BadRequest("The retract must name an item id."), "item-required");
        }
        var owner = request.To.ToString();
        if (await Store.GetNodeAsync(owner, node).ConfigureAwait(false) is not { } stored)
        {
            return request.Error(StanzaError.ItemNotFound($"There is no node '{node}'."));
        }
        if (!await Store.RetractAsync(owner, node, id).ConfigureAwait(false))
        {
            return request.Error(StanzaError.ItemNotFound($"The node '{node}' has no item '{id}'."));
        }
        var config = PepNodeConfig.FromStored(stored.ConfigXml);
        if (retract.GetAttribute("notify") is "true" or "1" || config.NotifyRetract)
        {
            await notifier.RetractedAsync(request.To, node, config, id).ConfigureAwait(false);
        }
        foreach (var observer in _retractedObservers)
        {
            await observer(request.To, node, id).ConfigureAwait(false);
        }
        return request.Result();
    }

    /// <summary>XEP-0060 §8.1, with an optional configuration (§8.1.3).</summary>
    private async ValueTask<Element> CreateAsync(IqRequest request, Element create, Element? configure)
    {
        if (!IsOwner(request))
        {
            return request.Error(StanzaError.Forbidden("Only the account itself may create its nodes."));
        }
        if (create.GetAttribute("node") is not { Length: > 0 } node)
        {
            return PubSubError(request, StanzaError.NotAcceptable("Personal eventing nodes need a name; instant nodes are not supported."), "nodeid-required");
        }
        var config = PepNodeConfig.DefaultFor(node);
        if (configure is not null && DataForm.Read(DataForm.Find(configure)) is { } form)
        {
            if (ConfigFromForm(form, config, out var error) is not { } submitted)
            {
                return request.Error(StanzaError.NotAcceptable(error));
            }
            config = submitted;
        }
        if (!await Store.CreateNodeAsync(request.To.ToString(), node, config.ToStored()).ConfigureAwait(false))
        {
            return request.Error(StanzaError.Conflict($"The node '{node}' exists already."));
        }
        return request.Result();
    }

    /// <summary>XEP-0060 §6.5: all items, the newest max_items, or the items asked for by id.</summary>
    private async ValueTask<Element> ItemsAsync(IqRequest request, Element items)
    {
        if (items.GetAttribute("node") is not { Length: > 0 } node)
        {
            return PubSubError(request, StanzaError.BadRequest("The request must name a node."), "nodeid-required");
        }
        var owner = request.To.ToString();
        if (await Store.GetNodeAsync(owner, node).ConfigureAwait(false) is not { } stored)
        {
            return request.Error(StanzaError.ItemNotFound($"There is no node '{node}'."));
        }
        var config = PepNodeConfig.FromStored(stored.ConfigXml);
        if (await notifier.DenialAsync(request.To, config, request.From.Bare).ConfigureAwait(false) is { } denied)
        {
            return PubSubError(request, denied.Error, denied.Condition);
        }

        IReadOnlyList<PepItem> found;
        var ids = items.Children("item", Ns.PubSub).Select(item => item.GetAttribute("id")).OfType<string>().Where(id => id.Length > 0).ToList();
        if (ids.Count > 0)
        {
            found = await Store.GetItemsAsync(owner, node, ids).ConfigureAwait(false);
        }
        else
        {
            var max = config.ItemLimit(MaxItems);
            if (items.GetAttribute("max_items") is { } maxText)
            {
                if (!int.TryParse(maxText, NumberStyles.None, CultureInfo.InvariantCulture, out var asked) || asked < 1)
                {
                    return request.Error(StanzaError.BadRequest($"max_items must be a positive number, not '{maxText}'."));
                }
                max = Math.Min(max, asked);
            }
            found = await Store.GetItemsAsync(owner, node, max).ConfigureAwait(false);
        }

        var list = new Element("items", Ns.PubSub).SetAttribute("node", node);
        // The store gives newest first; the reply lists them in the order they were published.
        for (var i = found.Count - 1; i >= 0; i--)
        {
            list.Add(PepNotifier.ItemElement(Ns.PubSub, found[i].Id, ElementParser.Parse(found[i].Xml, Ns.Client)));
        }
        return request.Result(new Element("pubsub", Ns.PubSub).Add(list));
    }

    private async ValueTask<Element> AffiliationsAsync(IqRequest request)
    {
        var affiliations = new Element("affiliations", Ns.PubSub);
        if (IsOwner(request))
        {
            foreach (var node in await Store.GetNodesAsync(request.To.ToString()).ConfigureAwait(false))
            {
                affiliations.AddChild("affiliation", Ns.PubSub).SetAttribute("node", node.Node).SetAttribute("affiliation", "owner");
            }
        }
        return request.Result(new Element("pubsub", Ns.PubSub).Add(affiliations));
    }

    /// <summary>XEP-0060 §8.2.4: a submitted form changes the configuration; a canceled one nothing.</summary>
    private async ValueTask<Element> ConfigureAsync(IqRequest request, string node, PepNodeConfig config, Element configure)
    {
        var x = DataForm.Find(configure);
        if (x?.GetAttribute("type") == "cancel")
        {
            return request.Result();
        }
        if (DataForm.Read(x) is not { } form)
        {
            return request.Error(StanzaError.BadRequest("The configure request must hold a submitted pubsub#node_config form."));
        }
        if (ConfigFromForm(form, config, out var error) is not { } changed)
        {
            return request.Error(StanzaError.NotAcceptable(error));
        }
        var owner = request.To.ToString();
        if (!await Store.SetConfigAsync(owner, node, changed.ToStored()).ConfigureAwait(false))
        {
            return request.Error(StanzaError.ItemNotFound($"There is no node '{node}'."));
        }
        // A lower limit, or no persistence at all, applies to the items already stored.
        await Store.TrimAsync(owner, node, changed.PersistItems ? changed.ItemLimit(MaxItems) : 0).ConfigureAwait(false);
        return request.Result();
    }

    /// <summary>XEP-0060 §8.4.</summary>
    private async ValueTask<Element> DeleteAsync(IqRequest request, string node, PepNodeConfig config)
    {
        if (!await Store.DeleteNodeAsync(request.To.ToString(), node).ConfigureAwait(false))
        {
            return request.Error(StanzaError.ItemNotFound($"There is no node '{node}'."));
        }
        if (config.NotifyDelete)
        {
            await notifier.NodeEventAsync(request.To, node, config, new Element("delete", Ns.PubSubEvent).SetAttribute("node", node)).ConfigureAwait(false);
        }
        await RaiseEmptiedAsync(request.To, node).ConfigureAwait(false);
        return request.Result();
    }

    /// <summary>XEP-0060 §8.5.</summary>
    private async ValueTask<Element> PurgeAsync(IqRequest request, string node, PepNodeConfig config)
    {
        await Store.TrimAsync(request.To.ToString(), node, 0).ConfigureAwait(false);
        await notifier.NodeEventAsync(request.To, node, config, new Element("purge", Ns.PubSubEvent).SetAttribute("node", node)).ConfigureAwait(false);
        await RaiseEmptiedAsync(request.To, node).ConfigureAwait(false);
        return request.Result();
    }

    private async ValueTask RaiseEmptiedAsync(Jid owner, string node)
    {
        foreach (var observer in _emptiedObservers)
        {
            await observer(owner, node).ConfigureAwait(false);
        }
    }

    private static PepNodeConfig? ConfigFromForm(Dictionary<string, IReadOnlyList<string>> form, PepNodeConfig config, out string error)
    {
        if (form.ContainsKey(DataForm.FormTypeVar) && !DataForm.HasFormType(form, PepNodeConfig.NodeConfigFormType))
        {
            error = $"The form must be of FORM_TYPE {PepNodeConfig.NodeConfigFormType}.";
            return null;
        }
        var changed = config.With(form, out var invalid);
        error = invalid ?? "";
        return changed;
    }

    private static bool IsOwner(IqRequest request) => request.From.Bare.Equals(request.To);

    /// <summary>
    /// An error with a pubsub-specific condition (XEP-0060 §7, §6.5.9), without echoing the request:
    /// a refused item may be large.
    /// </summary>
    internal static Element PubSubError(IqRequest request, StanzaError error, string? condition, string? unsupportedFeature = null)
    {
        var request0 = request.Stanza;
        var empty = new Element("iq", request0.Namespace)
            .SetAttribute("id", request0.GetAttribute("id"))
            .SetAttribute("from", request0.GetAttribute("from"))
            .SetAttribute("to", request0.GetAttribute("to"));
        var reply = Stanzas.ErrorReply(empty, error);
        if (condition is not null)
        {
            var specific = new Element(condition, Ns.PubSubErrors).SetAttribute("feature", unsupportedFeature);
            reply.Child("error")!.Add(specific);
        }
        return reply;
    }
}
