using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Modules.Pep;

/// <summary>
/// What each client session can do, from the entity capabilities (XEP-0115) in its broadcast presence:
/// personal eventing sends a node's events to the sessions whose features include NODE+notify
/// (XEP-0163 §4.1). An unknown 'ver' is resolved by asking that client for its disco#info; a verified
/// answer is cached for every session that announces the same 'ver'.
/// </summary>
public sealed class EntityCapsTracker
{
    /// <summary>Verified 'ver' strings kept at most; past this, answers serve only the session that gave them.</summary>
    public const int MaxCachedVersions = 10_000;

    private readonly ConcurrentDictionary<string, FrozenSet<string>> _verified = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ClientSession, SessionCaps> _sessions = new();
    private long _nextQueryId;

    /// <summary>Raised when a session's features became known or changed; the session's own stanza flow raises it.</summary>
    public Func<ClientSession, ValueTask>? FeaturesChanged { get; set; }

    /// <summary>True when the session asked for events of <paramref name="node"/> (XEP-0163 §4.1: NODE+notify).</summary>
    public bool WantsNotifications(ClientSession session, string node) =>
        _sessions.TryGetValue(session, out var caps) && caps.NotifyNodes.Contains(node);

    /// <summary>The nodes the session asked for events of.</summary>
    public FrozenSet<string> NotifyNodesOf(ClientSession session) =>
        _sessions.TryGetValue(session, out var caps) ? caps.NotifyNodes : FrozenSet<string>.Empty;

    /// <summary>Reads the caps of an available broadcast presence; never handles the presence itself.</summary>
    public async ValueTask<bool> OnPresenceAsync(ClientStanza stanza)
    {
        var presence = stanza.Stanza;
        if (stanza.To is not null || presence.GetAttribute("type") is not null
            || presence.Child("c", Ns.Caps) is not { } c
            || c.GetAttribute("node") is not { } node || c.GetAttribute("ver") is not { } ver)
        {
            // A presence without caps changes nothing: clients repeat them in every presence (XEP-0115 §4).
            return false;
        }
        var session = stanza.Sender;
        var caps = _sessions.GetOrAdd(session, _ => new SessionCaps());
        if (caps.Ver == ver)
        {
            return false;
        }
        caps.Ver = ver;
        var hash = c.GetAttribute("hash");
        if (hash is not null && _verified.TryGetValue(ver, out var known))
        {
            caps.PendingQueryId = null;
            await SetFeaturesAsync(session, caps, known).ConfigureAwait(false);
            return false;
        }

        caps.PendingQueryId = "caps-" + Interlocked.Increment(ref _nextQueryId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        caps.PendingHash = hash;
        var query = new Element("iq", Ns.Client)
            .SetAttribute("type", "get")
            .SetAttribute("id", caps.PendingQueryId)
            .SetAttribute("from", session.Jid.Domain)
            .SetAttribute("to", session.Jid.ToString());
        query.AddChild("query", Ns.DiscoInfo).SetAttribute("node", node + "#" + ver);
        session.Send(query);
        return false;
    }

    /// <summary>Takes the client's answer to the server's disco#info query; other IQs pass on.</summary>
    public async ValueTask<bool> OnIqAsync(ClientStanza stanza)
    {
        var iq = stanza.Stanza;
        var type = iq.GetAttribute("type");
        if (type is not ("result" or "error") || iq.GetAttribute("id") is not { } id
            || !_sessions.TryGetValue(stanza.Sender, out var caps) || caps.PendingQueryId != id)
        {
            return false;
        }
        caps.PendingQueryId = null;
        if (type == "error" || iq.Child("query", Ns.DiscoInfo) is not { } info)
        {
            await SetFeaturesAsync(stanza.Sender, caps, FrozenSet<string>.Empty).ConfigureAwait(false);
            return true;
        }
        var features = info.Children("feature", Ns.DiscoInfo)
            .Select(feature => feature.GetAttribute("var"))
            .OfType<string>()
            .ToFrozenSet(StringComparer.Ordinal);
        // Only an answer that hashes to the announced 'ver' may speak for other clients (XEP-0115 §5.4).
        if (caps.Ver is { } ver && Verify(caps.PendingHash, ver, info) && _verified.Count < MaxCachedVersions)
        {
            _verified.TryAdd(ver, features);
        }
        await SetFeaturesAsync(stanza.Sender, caps, features).ConfigureAwait(false);
        return true;
    }

    public ValueTask ForgetAsync(ClientSession session)
    {
        _sessions.TryRemove(session, out _);
        return ValueTask.CompletedTask;
    }

    /// <summary>The verification string of XEP-0115 §5.1 for a disco#info answer, hashed with sha-1 or sha-256.</summary>
    public static string? Ver(string? hash, Element info)
    {
        var text = new StringBuilder();
        var identities = info.Children("identity", Ns.DiscoInfo)
            .Select(identity => $"{identity.GetAttribute("category")}/{identity.GetAttribute("type")}/{identity.GetAttribute("xml:lang")}/{identity.GetAttribute("name")}")
            .Order(StringComparer.Ordinal);
        foreach (var identity in identities)
        {
            text.Append(identity).Append('<');
        }
        foreach (var feature in info.Children("feature", Ns.DiscoInfo).Select(f => f.GetAttribute("var") ?? "").Order(StringComparer.Ordinal))
        {
            text.Append(feature).Append('<');
        }
        var forms = DataForm.FindAll(info)
            .Select(DataForm.Values)
            .Where(form => DataForm.FormType(form) is not null)
            .OrderBy(form => DataForm.FormType(form), StringComparer.Ordinal);
        foreach (var form in forms)
        {
            text.Append(DataForm.FormType(form)).Append('<');
            foreach (var (name, values) in form.Where(field => field.Key != DataForm.FormTypeVar).OrderBy(field => field.Key, StringComparer.Ordinal))
            {
                text.Append(name).Append('<');
                foreach (var value in values.Order(StringComparer.Ordinal))
                {
                    text.Append(value).Append('<');
                }
            }
        }
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        return hash switch
        {
            "sha-1" => Convert.ToBase64String(SHA1.HashData(bytes)),
            "sha-256" => Convert.ToBase64String(SHA256.HashData(bytes)),
            _ => null,
        };
    }

    private static bool Verify(string? hash, string ver, Element info) => Ver(hash, info) == ver;

    private async ValueTask SetFeaturesAsync(ClientSession session, SessionCaps caps, FrozenSet<string> features)
    {
        caps.NotifyNodes = features
            .Where(feature => feature.EndsWith("+notify", StringComparison.Ordinal) && feature.Length > "+notify".Length)
            .Select(feature => feature[..^"+notify".Length])
            .ToFrozenSet(StringComparer.Ordinal);
        if (FeaturesChanged is { } changed)
        {
            await changed(session).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One session's caps. Ver and the pending query are touched only by the session's own stanza flow;
    /// the set of nodes is replaced whole, so publishers on other flows read one set or the other.
    /// </summary>
    private sealed class SessionCaps
    {
        public string? Ver { get; set; }
        public string? PendingQueryId { get; set; }
        public string? PendingHash { get; set; }
        public FrozenSet<string> NotifyNodes { get; set; } = FrozenSet<string>.Empty;
    }
}
