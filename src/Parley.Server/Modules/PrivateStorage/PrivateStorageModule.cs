using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.PrivateStorage;

/// <summary>
/// Private XML storage (XEP-0049): an account keeps XML fragments that only it can read, one per
/// element name and namespace (bookmarks, client preferences).
/// </summary>
public sealed class PrivateStorageModule(IParleyStorage storage) : IModule, IPrivateXml
{
    /// <summary>Where fragments are kept: storage.Documents (account, "private", "name namespace").</summary>
    private const string DocumentKind = "private";

    private readonly List<PrivateFragmentStored> _storedObservers = [];

    /// <summary>The storage.Documents key of the fragment named <paramref name="name"/> in <paramref name="ns"/>.</summary>
    private static string DocumentKey(string name, string ns) => name + " " + ns;

    public void OnStored(PrivateFragmentStored observer) => _storedObservers.Add(observer);

    public async ValueTask<Element?> GetAsync(Jid account, string name, string ns) =>
        await storage.Documents.GetAsync(account.Bare.ToString(), DocumentKind, DocumentKey(name, ns)).ConfigureAwait(false) is { } stored
            ? ElementParser.Parse(stored.Xml, Ns.Client)
            : null;

    public async ValueTask SetAsync(Jid account, Element fragment) =>
        await storage.Documents.SetAsync(account.Bare.ToString(), DocumentKind, DocumentKey(fragment.Name, fragment.Namespace!), fragment.ToXml(Ns.Client)).ConfigureAwait(false);

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Private, account: true);
        registry.HandleIq(Ns.Private, IqTarget.Account, HandleAsync);
    }

    private async ValueTask<Element> HandleAsync(IqRequest request)
    {
        if (!request.From.Bare.Equals(request.To))
        {
            // The XEP prefers forbidden to the service-unavailable that older servers answer.
            return request.Error(StanzaError.Forbidden("Private XML is readable and writable only by its owner."));
        }
        if (request.Payload.Name != "query")
        {
            return request.Error(StanzaError.BadRequest("The payload must be <query xmlns='jabber:iq:private'/>."));
        }

        Element? fragment = null;
        foreach (var child in request.Payload.Children())
        {
            if (fragment is not null)
            {
                return request.Error(StanzaError.BadRequest("The query must hold exactly one element; send one request per element."));
            }
            fragment = child;
        }
        if (fragment is null)
        {
            // XEP-0049's "Bad Format": nothing says what to get or set.
            return request.Error(StanzaError.BadRequest("The query must hold the element to get or set, in its own namespace."));
        }
        if (IsReserved(fragment.Namespace))
        {
            return request.Error(StanzaError.NotAcceptable($"<{fragment.Name}/> needs a namespace of its own; elements in '{fragment.Namespace}' cannot be stored."));
        }

        if (request.IsGet)
        {
            // Nothing stored yet: the empty element, which clients read as "no data".
            var data = await GetAsync(request.To, fragment.Name, fragment.Namespace!).ConfigureAwait(false) ?? new Element(fragment.Name, fragment.Namespace);
            return request.Result(new Element("query", Ns.Private).Add(data));
        }
        await SetAsync(request.To, fragment).ConfigureAwait(false);
        foreach (var observer in _storedObservers)
        {
            await observer(request.To, fragment).ConfigureAwait(false);
        }
        return request.Result();
    }

    /// <summary>
    /// An element without a namespace of its own (it inherits jabber:iq:private, or is in the stream's or none),
    /// and vcard-temp, which has its own protocol: XEP-0049 lets servers refuse these with not-acceptable.
    /// </summary>
    private static bool IsReserved(string? ns) =>
        ns is null or "" or Ns.Private or Ns.Client or Ns.Server or Ns.VCard;
}
