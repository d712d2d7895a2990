using System.Collections.Frozen;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Modules;

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

public delegate ValueTask SessionEvent(ClientSession session);

/// <summary>What the enabled modules registered; frozen once the node has started.</summary>
public sealed class ModuleRegistry
{
    private readonly Dictionary<(string Namespace, IqTarget Target), IqHandler> _iqHandlers = [];
    private readonly Dictionary<string, List<(int Order, ClientStanzaHook Hook)>> _clientHooks = [];
    private readonly List<SessionEvent> _sessionStarted = [];
    private readonly List<SessionEvent> _sessionEnded = [];
    private readonly SortedSet<string> _serverFeatures = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _accountFeatures = new(StringComparer.Ordinal);
    private FrozenDictionary<(string, IqTarget), IqHandler>? _frozenIq;
    private FrozenDictionary<string, ClientStanzaHook[]>? _frozenHooks;

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
    public void OnClientStanza(string stanzaName, int order, ClientStanzaHook hook)
    {
        if (!_clientHooks.TryGetValue(stanzaName, out var hooks))
        {
            _clientHooks[stanzaName] = hooks = [];
        }
        hooks.Add((order, hook));
    }

    public void OnSessionStarted(SessionEvent handler) => _sessionStarted.Add(handler);
    public void OnSessionEnded(SessionEvent handler) => _sessionEnded.Add(handler);

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

    public IReadOnlyCollection<string> ServerFeatures => _serverFeatures;
    public IReadOnlyCollection<string> AccountFeatures => _accountFeatures;
    public IReadOnlyList<SessionEvent> SessionStarted => _sessionStarted;
    public IReadOnlyList<SessionEvent> SessionEnded => _sessionEnded;

    public void Freeze()
    {
        _frozenIq = _iqHandlers.ToFrozenDictionary();
        _frozenHooks = _clientHooks.ToFrozenDictionary(
            pair => pair.Key,
            pair => pair.Value.OrderBy(h => h.Order).Select(h => h.Hook).ToArray());
    }

    public IqHandler? FindIqHandler(string ns, IqTarget target) =>
        (_frozenIq ?? throw NotFrozen()).GetValueOrDefault((ns, target));

    public ClientStanzaHook[] ClientHooks(string stanzaName) =>
        (_frozenHooks ?? throw NotFrozen()).GetValueOrDefault(stanzaName, []);

    private static InvalidOperationException NotFrozen() => new("The module registry is used before the node started.");
}
