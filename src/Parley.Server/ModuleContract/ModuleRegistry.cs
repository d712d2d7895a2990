using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.ModuleContract;

/// <summary>Whom an IQ handler answers for: the server itself, or an account on the server's behalf.</summary>
[Flags]
public enum IqTarget
{
    /// <summary>IQs addressed to the domain (to='example.com').</summary>
    Server = 1,

    /// <summary>IQs addressed to an account's bare JID, or sent without 'to' by the account itself.</summary>
    Account = 2,
}

/// <summary>An IQ request of type get or set, and the one payload child it carries.</summary>
public sealed record IqRequest(Element Stanza, Element Payload, Jid From, Jid To, ClientSession? Sender)
{
    public bool IsGet => Stanza.GetAttribute("type") == "get";
    public bool IsSet => Stanza.GetAttribute("type") == "set";

    public Element Result(Element? payload = null) => Stanzas.IqResult(Stanza, payload);
    public Element Error(StanzaError error) => Stanzas.ErrorReply(Stanza, error);
}

/// <summary>Answers an IQ request with a result or an error stanza.</summary>
public delegate ValueTask<Element> IqHandler(IqRequest request);

/// <summary>A stanza a local client sent, after the server stamped its 'from'.</summary>
public sealed record ClientStanza(Element Stanza, ClientSession Sender, Jid? To);

/// <summary>Sees a stanza from a client before it is routed; returns true when it has dealt with it.</summary>
public delegate ValueTask<bool> ClientStanzaHook(ClientStanza stanza);

/// <summary>
/// A stanza on its way to a local account (its bare or a full JID), from anyone. A hook that must
/// change it (the archive adds a stanza-id) sets <see cref="Stanza"/> to a changed copy — never
/// changing the element in place, which the sender's other copies may share — and later hooks and
/// the delivery see that copy.
/// </summary>
public sealed class InboundStanza(Element stanza, Jid from, Jid to)
{
    public Element Stanza { get; set; } = stanza;
    public Jid From { get; } = from;
    public Jid To { get; } = to;

    /// <summary>
    /// It came from another node of the cluster, whose leaving hooks (<see cref="ModuleRegistry.OnLeavingNode"/>)
    /// saw it: what depends on the sender alone was checked there.
    /// </summary>
    public bool Arrived { get; init; }
}

/// <summary>Sees a stanza before it reaches a local account; returns true when it has dealt with it.</summary>
public delegate ValueTask<bool> InboundStanzaHook(InboundStanza stanza);

/// <summary>
/// A normal or chat message no session could take (RFC 6121 §8.5.2.2); returns true when it kept it
/// (offline storage), false to let the sender get &lt;service-unavailable/&gt;.
/// </summary>
public delegate ValueTask<bool> UndeliverableMessageHook(Element message, Jid from, Jid to);


/// <summary>
/// Acts on a notice the <c>parley</c> CLI left in the database (<see cref="Parley.Storage.NodeNoticeKinds"/>);
/// <paramref name="subject"/> is what it is about, e.g. the removed account's bare JID.
/// </summary>
public delegate ValueTask NodeNoticeHandler(string subject);

/// <summary>
/// Whether a stanza kept for <paramref name="account"/> (an offline message, a pending subscription
/// request) from <paramref name="from"/> may still be delivered; false drops it.
/// </summary>
public delegate ValueTask<bool> StoredStanzaFilter(Jid account, Jid from);

/// <summary>
/// A message that reached a local account, and the sessions it was queued to (empty when it was
/// stored offline). Carbons copy it to the account's other sessions from here.
/// </summary>
public readonly record struct DeliveredMessage(Element Message, Jid From, Jid To, IReadOnlyList<ClientSession> Recipients)
{
    public override string ToString() => $"a message from {From} to {To}";
}

/// <summary>
/// Adds to <paramref name="query"/>, the disco#items of <paramref name="account"/>'s bare JID (no node), the items
/// <paramref name="requester"/> may see, e.g. PEP nodes (XEP-0163 §6).
/// </summary>
public delegate ValueTask AccountItemsProvider(Jid account, Jid requester, Element query);

/// <summary>
/// Answers service discovery of one of the server's nodes (XEP-0030 §3.2, §4.2) for <paramref name="requester"/>:
/// the disco#items query when <paramref name="items"/> is true, else the disco#info one; null when it has no such
/// node, or none this requester may see.
/// </summary>
public delegate ValueTask<Element?> ServerNodeProvider(string node, bool items, Jid requester);

/// <summary>A stanza addressed to a hosted service (e.g. conference.example.com) or to something under it.</summary>
public sealed record ServiceStanza(Element Stanza, Jid From, Jid To);

public delegate ValueTask ServiceHandler(ServiceStanza stanza);

/// <summary>A service the node hosts on a subdomain of every served domain, e.g. "conference" for multi-user chat.</summary>
public sealed record HostedService(string Subdomain, string Name, ServiceHandler Handler);

/// <summary>An IQ on a stream that has not authenticated yet (e.g. in-band registration, XEP-0077).</summary>
public sealed record UnauthenticatedIq(Element Stanza, Element Payload, string Domain, string RemoteAddress)
{
    public Element Result(Element? payload = null) => Stanzas.IqResult(Stanza, payload);
    public Element Error(StanzaError error) => Stanzas.ErrorReply(Stanza, error);
}

public delegate ValueTask<Element> UnauthenticatedIqHandler(UnauthenticatedIq request);

/// <summary>A top-level element of a bound stream that is not a stanza (a "nonza": XEP-0198's &lt;r/&gt;, XEP-0352's &lt;active/&gt;).</summary>
public sealed record StreamElement(Element Element, ClientSession Session, Parley.Server.Streams.IManagedStream Stream);

public delegate ValueTask StreamElementHandler(StreamElement element);

/// <summary>What the enabled modules registered; frozen once the node has started.</summary>
public sealed class ModuleRegistry
{
    private readonly Dictionary<(string Namespace, IqTarget Target), IqHandler> _iqHandlers = [];
    private readonly OrderedHooks<ClientStanzaHook> _clientHooks = new();
    private readonly OrderedHooks<InboundStanzaHook> _inboundHooks = new();
    private readonly OrderedHooks<InboundStanzaHook> _leavingHooks = new();
    private readonly List<UndeliverableMessageHook> _undeliverable = [];
    private readonly List<StoredStanzaFilter> _storedStanzaFilters = [];
    private readonly Dictionary<string, ModuleEvent<string>> _nodeNotices = new(StringComparer.Ordinal);
    private readonly List<Func<Element>> _streamFeatures = [];
    private readonly List<HostedService> _services = [];
    private readonly List<Action> _registered = [];
    private readonly Dictionary<string, Action<ClientSession, Element>> _restorers = new(StringComparer.Ordinal);
    private readonly List<(Element Feature, Func<bool> Offered)> _unauthenticatedStreamFeatures = [];
    private readonly Dictionary<string, UnauthenticatedIqHandler> _unauthenticatedIq = [];
    private readonly Dictionary<string, StreamElementHandler> _streamElements = [];
    private readonly List<(string Category, string Type)> _accountIdentities = [];
    private readonly List<AccountItemsProvider> _accountItems = [];
    private readonly List<ServerNodeProvider> _serverNodes = [];
    private readonly SortedSet<string> _serverFeatures = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _accountFeatures = new(StringComparer.Ordinal);
    private readonly List<(string Feature, Func<bool> Offered)> _offeredServerFeatures = [];
    // The server's features as last asked, and which of the offered ones were in: the same collection while none changes.
    // A class, so that streams reading it while another replaces it see one whole pair.
    private ServerFeaturesNow? _serverFeaturesNow;

    private sealed record ServerFeaturesNow(bool[] Offered, IReadOnlyCollection<string> Features);
    private FrozenDictionary<(string, IqTarget), IqHandler>? _frozenIq;
    private readonly ILogger _logger;

    public ModuleRegistry(ILogger<ModuleRegistry>? logger = null)
    {
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        SessionStarted = new("session started", _logger);
        SessionAvailable = new("session available", _logger);
        SessionReachable = new("session reachable", _logger);
        SessionEnded = new("session ended", _logger);
        SessionHibernated = new("session hibernated", _logger);
        AccountRemoving = new("account removing", _logger);
        AccountRemoved = new("account removed", _logger);
        RoomChanged = new("room changed", _logger);
        RosterImported = new("roster imported", _logger);
        MessageDelivered = new("message delivered", _logger);
    }

    /// <summary>Answers IQs whose payload is in <paramref name="ns"/>, for the given targets.</summary>
    public void HandleIq(string ns, IqTarget targets, IqHandler handler)
    {
        foreach (var target in new[] { IqTarget.Server, IqTarget.Account })
        {
            if (targets.HasFlag(target) && !_iqHandlers.TryAdd((ns, target), handler))
            {
                throw new InvalidOperationException($"Two modules answer IQs in {ns} for the {target}.");
            }
        }
    }

    /// <summary>Sees client stanzas named <paramref name="stanzaName"/> (message, presence, iq) in ascending order.</summary>
    public void OnClientStanza(string stanzaName, HookPhase phase, ClientStanzaHook hook) => _clientHooks.Add(stanzaName, (int)phase, hook);

    /// <summary>Sees stanzas named <paramref name="stanzaName"/> addressed to local accounts, in ascending order.</summary>
    public void OnInbound(string stanzaName, HookPhase phase, InboundStanzaHook hook) => _inboundHooks.Add(stanzaName, (int)phase, hook);

    /// <summary>
    /// Sees stanzas named <paramref name="stanzaName"/> to an account another node of the cluster serves, before they
    /// leave this node, in ascending order: the place for checks that need only the sender's state, which this node
    /// has at hand and the receiving node would have to read from storage. The receiving node's inbound hooks see the
    /// stanza with <see cref="InboundStanza.Arrived"/> set.
    /// </summary>
    public void OnLeavingNode(string stanzaName, HookPhase phase, InboundStanzaHook hook) => _leavingHooks.Add(stanzaName, (int)phase, hook);

    public void OnUndeliverableMessage(UndeliverableMessageHook hook) => _undeliverable.Add(hook);

    /// <summary>After a message to a local account was queued to its sessions.</summary>
    public void OnMessageDelivered(Func<DeliveredMessage, ValueTask> handler) => MessageDelivered.Add(handler);

    /// <summary>
    /// Hosts a service at SUBDOMAIN.DOMAIN for every served domain: every stanza to that JID or to
    /// anything under it (room@conference.example.com/nick) goes to <paramref name="handler"/>, and
    /// the server's disco#items lists it.
    /// </summary>
    public void AddService(string subdomain, string name, ServiceHandler handler)
    {
        if (_services.Any(s => s.Subdomain == subdomain))
        {
            throw new InvalidOperationException($"Two modules host the service {subdomain}.");
        }
        _services.Add(new HostedService(subdomain, name, handler));
    }

    public IReadOnlyList<HostedService> Services => _services;

    /// <summary>After the session is bound.</summary>
    public void OnSessionStarted(Func<ClientSession, ValueTask> handler) => SessionStarted.Add(handler);

    /// <summary>After the session's initial presence was broadcast (the presence module raises it).</summary>
    public void OnSessionAvailable(Func<ClientSession, ValueTask> handler) => SessionAvailable.Add(handler);

    /// <summary>
    /// After the session became a place for messages to the bare JID (RFC 6121 §8.5.2.1.1): its initial
    /// presence with a non-negative priority, or a later one that raised a negative priority.
    /// </summary>
    public void OnSessionReachable(Func<ClientSession, ValueTask> handler) => SessionReachable.Add(handler);

    /// <summary>After the session is gone from the registry.</summary>
    public void OnSessionEnded(Func<ClientSession, ValueTask> handler) => SessionEnded.Add(handler);

    /// <summary>After a resumable session lost its connection (XEP-0198); its unacknowledged stanzas wait in it.</summary>
    public void OnSessionHibernated(Func<ClientSession, ValueTask> handler) => SessionHibernated.Add(handler);

    /// <summary>
    /// A session's state that the module keeps under <paramref name="name"/> (<see cref="ClientSession.Keep"/>) is
    /// rebuilt with <paramref name="restore"/> when the session is taken over on another node for its client to resume.
    /// </summary>
    public void RestoreOnResumption(string name, Action<ClientSession, Element> restore)
    {
        if (!_restorers.TryAdd(name, restore))
        {
            throw new InvalidOperationException($"Two modules keep session state named {name}.");
        }
    }

    /// <summary>A session taken over from another node gets back what the modules kept of it there; unknown names are left out.</summary>
    public void Restore(ClientSession session, IEnumerable<KeyValuePair<string, Element>> kept)
    {
        foreach (var (name, state) in kept)
        {
            if (_restorers.TryGetValue(name, out var restore))
            {
                session.Keep(name, state);
                restore(session, state);
            }
        }
    }

    /// <summary>Before an account and its data are deleted, while its roster is still there (e.g. to tell its contacts).</summary>
    public void OnAccountRemoving(Func<Jid, ValueTask> handler) => AccountRemoving.Add(handler);

    /// <summary>
    /// After an account and its data were deleted, in this process or by `parley user remove` (heard through a node
    /// notice), before its sessions end: modules drop what they keep of it in memory.
    /// </summary>
    public void OnAccountRemoved(Func<Jid, ValueTask> handler) => AccountRemoved.Add(handler);

    /// <summary>After the administrator created, configured or destroyed a persistent room in storage (here or through a node notice).</summary>
    public void OnRoomChanged(Func<Jid, ValueTask> handler) => RoomChanged.Add(handler);

    /// <summary>After the administrator wrote a user's roster in bulk (here or through a node notice).</summary>
    public void OnRosterImported(Func<Jid, ValueTask> handler) => RosterImported.Add(handler);

    /// <summary>
    /// Acts on notices of <paramref name="kind"/> that the CLI leaves for running nodes (e.g. "account-removed").
    /// Handlers run one at a time, in the order the notices were published.
    /// </summary>
    public void OnNodeNotice(string kind, NodeNoticeHandler handler)
    {
        if (!_nodeNotices.TryGetValue(kind, out var notices))
        {
            _nodeNotices[kind] = notices = new ModuleEvent<string>("node notice " + kind, _logger);
        }
        notices.Add(subject => handler(subject));
    }

    /// <summary>The handlers of notices of <paramref name="kind"/>; none for a kind no module knows.</summary>
    public ModuleEvent<string>? NodeNotice(string kind) => _nodeNotices.GetValueOrDefault(kind);

    /// <summary>Checks a kept stanza when it is finally delivered: what was allowed when it arrived may not be now (blocking).</summary>
    public void FilterStoredStanzas(StoredStanzaFilter filter) => _storedStanzaFilters.Add(filter);

    /// <summary>True when every filter lets the kept stanza from <paramref name="from"/> reach <paramref name="account"/>.</summary>
    public async ValueTask<bool> MayDeliverStoredAsync(Jid account, Jid from)
    {
        foreach (var filter in _storedStanzaFilters)
        {
            if (!await filter(account, from).ConfigureAwait(false))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A disco#info feature of the server (and, with <paramref name="account"/>, of accounts' bare JIDs).</summary>
    public void AddFeature(string feature, bool server = true, bool account = false)
    {
        if (server)
        {
            _serverFeatures.Add(feature);
        }
        if (account)
        {
            _accountFeatures.Add(feature);
        }
    }

    /// <summary>
    /// A disco#info feature of the server while <paramref name="offered"/> says so, e.g. one a runtime setting turns on
    /// and off.
    /// </summary>
    public void AddFeature(string feature, Func<bool> offered) => _offeredServerFeatures.Add((feature, offered));

    /// <summary>A stream feature offered once the client has authenticated (RFC 6120 §4.3.2), e.g. roster versioning.</summary>
    public void AddStreamFeature(Element feature) => _streamFeatures.Add(() => feature);

    /// <summary>A stream feature offered once the client has authenticated, as it is at each stream's negotiation.</summary>
    public void AddStreamFeature(Func<Element> feature) => _streamFeatures.Add(feature);

    public IEnumerable<Element> StreamFeatures => _streamFeatures.Select(feature => feature());

    /// <summary>Handles the top-level elements in <paramref name="ns"/> that a bound client sends besides stanzas.</summary>
    public void HandleStreamElement(string ns, StreamElementHandler handler)
    {
        if (!_streamElements.TryAdd(ns, handler))
        {
            throw new InvalidOperationException($"Two modules handle stream elements in {ns}.");
        }
    }

    public StreamElementHandler? FindStreamElementHandler(string ns) => _streamElements.GetValueOrDefault(ns);

    /// <summary>
    /// Answers IQs in <paramref name="ns"/> before authentication, on a stream that is already
    /// encrypted (or where TLS is not required), and offers <paramref name="feature"/> with the SASL mechanisms
    /// whenever <paramref name="offered"/> says so (always when it is null).
    /// </summary>
    public void HandleUnauthenticatedIq(string ns, Element? feature, UnauthenticatedIqHandler handler, Func<bool>? offered = null)
    {
        if (!_unauthenticatedIq.TryAdd(ns, handler))
        {
            throw new InvalidOperationException($"Two modules answer unauthenticated IQs in {ns}.");
        }
        if (feature is not null)
        {
            _unauthenticatedStreamFeatures.Add((feature, offered ?? (() => true)));
        }
    }

    /// <summary>The stream features offered before authentication now.</summary>
    public IEnumerable<Element> UnauthenticatedStreamFeatures
    {
        get
        {
            foreach (var (feature, offered) in _unauthenticatedStreamFeatures)
            {
                if (offered())
                {
                    yield return feature;
                }
            }
        }
    }

    public UnauthenticatedIqHandler? FindUnauthenticatedIqHandler(string ns) => _unauthenticatedIq.GetValueOrDefault(ns);
    /// <summary>A disco#info identity of accounts' bare JIDs besides account/registered, e.g. pubsub/pep (XEP-0163 §2).</summary>
    public void AddAccountIdentity(string category, string type) => _accountIdentities.Add((category, type));

    public IReadOnlyList<(string Category, string Type)> AccountIdentities => _accountIdentities;

    /// <summary>Items listed in accounts' disco#items; see <see cref="AccountItemsProvider"/>.</summary>
    public void AddAccountItems(AccountItemsProvider provider) => _accountItems.Add(provider);

    public IReadOnlyList<AccountItemsProvider> AccountItems => _accountItems;

    /// <summary>Nodes of the server's disco#info and disco#items (XEP-0050's commands); see <see cref="ServerNodeProvider"/>.</summary>
    public void AddServerNodes(ServerNodeProvider provider) => _serverNodes.Add(provider);

    public IReadOnlyList<ServerNodeProvider> ServerNodes => _serverNodes;
    /// <summary>
    /// The server's disco#info features now. The same collection is returned while no offered feature comes or goes,
    /// so a caller may keep what it derives from one (the capabilities hash) until the collection changes.
    /// </summary>
    public IReadOnlyCollection<string> ServerFeatures
    {
        get
        {
            if (_offeredServerFeatures.Count == 0)
            {
                return _serverFeatures;
            }
            // Asked at every sign-in (the capabilities hash): nothing is allocated while no offered feature changes.
            Span<bool> offered = stackalloc bool[_offeredServerFeatures.Count];
            for (var i = 0; i < offered.Length; i++)
            {
                offered[i] = _offeredServerFeatures[i].Offered();
            }
            if (_serverFeaturesNow is { } now && now.Offered.AsSpan().SequenceEqual(offered))
            {
                return now.Features;
            }
            var features = new SortedSet<string>(_serverFeatures, StringComparer.Ordinal);
            for (var i = 0; i < offered.Length; i++)
            {
                if (offered[i])
                {
                    features.Add(_offeredServerFeatures[i].Feature);
                }
            }
            _serverFeaturesNow = new ServerFeaturesNow(offered.ToArray(), features);
            return features;
        }
    }
    public IReadOnlyCollection<string> AccountFeatures => _accountFeatures;

    /// <summary>The session is bound.</summary>
    public ModuleEvent<ClientSession> SessionStarted { get; }

    /// <summary>The session's initial presence was broadcast (the presence module raises it).</summary>
    public ModuleEvent<ClientSession> SessionAvailable { get; }

    /// <summary>The session became a place for messages to the bare JID (RFC 6121 §8.5.2.1.1).</summary>
    public ModuleEvent<ClientSession> SessionReachable { get; }

    /// <summary>The session is gone from the registry.</summary>
    public ModuleEvent<ClientSession> SessionEnded { get; }

    /// <summary>A resumable session lost its connection (XEP-0198); its unacknowledged stanzas wait in it.</summary>
    public ModuleEvent<ClientSession> SessionHibernated { get; }

    /// <summary>An account is about to be deleted; its roster is still there.</summary>
    public ModuleEvent<Jid> AccountRemoving { get; }

    /// <summary>An account and its data were deleted.</summary>
    public ModuleEvent<Jid> AccountRemoved { get; }

    /// <summary>A persistent room was changed in storage by the administrator; the room's bare JID.</summary>
    public ModuleEvent<Jid> RoomChanged { get; }

    /// <summary>A user's roster was written in bulk by the administrator; the user's bare JID.</summary>
    public ModuleEvent<Jid> RosterImported { get; }

    /// <summary>A message reached a local account.</summary>
    public ModuleEvent<DeliveredMessage> MessageDelivered { get; }
    public IReadOnlyList<UndeliverableMessageHook> UndeliverableMessage => _undeliverable;

    /// <summary>Runs once every module has registered, before the node serves anyone (e.g. to hash all features).</summary>
    public void OnAllRegistered(Action action) => _registered.Add(action);

    public void Freeze()
    {
        foreach (var action in _registered)
        {
            action();
        }
        _frozenIq = _iqHandlers.ToFrozenDictionary();
        _clientHooks.Freeze();
        _inboundHooks.Freeze();
        _leavingHooks.Freeze();
    }

    public IqHandler? FindIqHandler(string ns, IqTarget target) =>
        (_frozenIq ?? throw NotFrozen()).GetValueOrDefault((ns, target));

    public ClientStanzaHook[] ClientHooks(string stanzaName) => _clientHooks.For(stanzaName);

    public InboundStanzaHook[] InboundHooks(string stanzaName) => _inboundHooks.For(stanzaName);

    public InboundStanzaHook[] LeavingHooks(string stanzaName) => _leavingHooks.For(stanzaName);

    private static InvalidOperationException NotFrozen() => new("The module registry is used before the node started.");

    /// <summary>Hooks per stanza name, kept in their order once frozen.</summary>
    private sealed class OrderedHooks<THook>
    {
        private readonly Dictionary<string, List<(int Order, THook Hook)>> _hooks = [];
        private FrozenDictionary<string, THook[]>? _frozen;

        public void Add(string stanzaName, int order, THook hook)
        {
            if (!_hooks.TryGetValue(stanzaName, out var list))
            {
                _hooks[stanzaName] = list = [];
            }
            list.Add((order, hook));
        }

        public void Freeze() => _frozen = _hooks.ToFrozenDictionary(
            pair => pair.Key,
            pair => pair.Value.OrderBy(h => h.Order).Select(h => h.Hook).ToArray());

        public THook[] For(string stanzaName) => (_frozen ?? throw NotFrozen()).GetValueOrDefault(stanzaName, []);
    }
}
