using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Modules.Disco;

/// <summary>
/// Service discovery (XEP-0030) for the server and accounts: identity and the features that
/// the enabled modules registered; items list the hosted services, and on an account what its modules list there. The server's
/// capabilities hash (XEP-0115) goes into the stream features, and its node answers disco#info. A feature a runtime
/// setting turns on or off (registration) changes the hash from the next stream on.
/// </summary>
public sealed class DiscoModule : IModule
{
    // The capabilities of one feature set: recomputed when the registry's collection of server features changes.
    private sealed record Capabilities(IReadOnlyCollection<string> Features, string Node, Element StreamFeature);

    private Capabilities? _capabilities;

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Caps);
        registry.AddStreamFeature(() => CapabilitiesNow(registry).StreamFeature);
        registry.AddFeature(Ns.DiscoInfo, account: true);
        registry.AddFeature(Ns.DiscoItems, account: true);
        registry.HandleIq(Ns.DiscoInfo, IqTarget.Server, request => ServerInfoAsync(request, registry));
        registry.HandleIq(Ns.DiscoInfo, IqTarget.Account, request => ValueTask.FromResult(AccountInfo(request, registry)));
        registry.HandleIq(Ns.DiscoItems, IqTarget.Server, request => ServerItemsAsync(request, registry));
        registry.HandleIq(Ns.DiscoItems, IqTarget.Account, request => AccountItemsAsync(request, registry));
    }

    private async ValueTask<Element> ServerInfoAsync(IqRequest request, ModuleRegistry registry)
    {
        var node = request.Payload.GetAttribute("node");
        if (!request.IsGet)
        {
            return request.Error(StanzaError.BadRequest());
        }
        if (node is not null && node != CapabilitiesNow(registry).Node)
        {
            return await ServerNodeAsync(request, registry, node, items: false).ConfigureAwait(false) ?? request.Error(StanzaError.ItemNotFound());
        }
        var query = new Element("query", Ns.DiscoInfo).SetAttribute("node", node);
        query.AddChild("identity").SetAttribute("category", "server").SetAttribute("type", "im").SetAttribute("name", "Parley");
        foreach (var feature in registry.ServerFeatures)
        {
            query.AddChild("feature").SetAttribute("var", feature);
        }
        return request.Result(query);
    }

    private Capabilities CapabilitiesNow(ModuleRegistry registry)
    {
        var features = registry.ServerFeatures;
        if (_capabilities is { } known && ReferenceEquals(known.Features, features))
        {
            return known;
        }
        var ver = EntityCapabilities.Ver("server", "im", "Parley", features);
        var capabilities = new Capabilities(features, EntityCapabilities.Node + "#" + ver, new Element("c", Ns.Caps)
            .SetAttribute("hash", "sha-1")
            .SetAttribute("node", EntityCapabilities.Node)
            .SetAttribute("ver", ver));
        _capabilities = capabilities;
        return capabilities;
    }

    private static Element AccountInfo(IqRequest request, ModuleRegistry registry)
    {
        if (!request.IsGet || request.Payload.GetAttribute("node") is not null)
        {
            return request.Error(request.IsGet ? StanzaError.ItemNotFound() : StanzaError.BadRequest());
        }
        // Only the account itself may see its account features until presence subscriptions exist (RFC 6121).
        if (!request.From.Bare.Equals(request.To))
        {
            return request.Error(StanzaError.ServiceUnavailable());
        }
        var query = new Element("query", Ns.DiscoInfo);
        query.AddChild("identity").SetAttribute("category", "account").SetAttribute("type", "registered");
        foreach (var (category, type) in registry.AccountIdentities)
        {
            query.AddChild("identity").SetAttribute("category", category).SetAttribute("type", type);
        }
        foreach (var feature in registry.AccountFeatures)
        {
            query.AddChild("feature").SetAttribute("var", feature);
        }
        return request.Result(query);
    }

    /// <summary>The services hosted under the domain the request was sent to (XEP-0030 §4).</summary>
    private static async ValueTask<Element> ServerItemsAsync(IqRequest request, ModuleRegistry registry)
    {
        if (!request.IsGet)
        {
            return request.Error(StanzaError.BadRequest());
        }
        if (request.Payload.GetAttribute("node") is { } node && await ServerNodeAsync(request, registry, node, items: true).ConfigureAwait(false) is { } answer)
        {
            return answer;
        }
        var query = new Element("query", Ns.DiscoItems);
        foreach (var service in registry.Services)
        {
            query.AddChild("item").SetAttribute("jid", $"{service.Subdomain}.{request.To.Domain}").SetAttribute("name", service.Name);
        }
        return request.Result(query);
    }

    /// <summary>The answer of the module that has the server's <paramref name="node"/> for this requester, or null.</summary>
    private static async ValueTask<Element?> ServerNodeAsync(IqRequest request, ModuleRegistry registry, string node, bool items)
    {
        foreach (var provider in registry.ServerNodes)
        {
            if (await provider(node, items, request.From).ConfigureAwait(false) is { } query)
            {
                return request.Result(query.SetAttribute("node", node));
            }
        }
        return null;
    }

    /// <summary>What the modules list on the account for this requester (PEP nodes); a node's items are none.</summary>
    private static async ValueTask<Element> AccountItemsAsync(IqRequest request, ModuleRegistry registry)
    {
        if (!request.IsGet)
        {
            return request.Error(StanzaError.BadRequest());
        }
        var query = new Element("query", Ns.DiscoItems);
        if (request.Payload.GetAttribute("node") is null)
        {
            foreach (var provider in registry.AccountItems)
            {
                await provider(request.To.Bare, request.From, query).ConfigureAwait(false);
            }
        }
        return request.Result(query);
    }
}
