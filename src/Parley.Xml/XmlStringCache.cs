using System.Collections.Frozen;
using System.Text;

namespace Parley.Xml;

/// <summary>
/// The names, namespaces and attribute values nearly every stanza carries, so reading them does not allocate a new string.
/// </summary>
internal static class XmlStringCache
{
    internal const int MaxCachedBytes = 64;

    private static readonly FrozenSet<string> Strings = FrozenSet.Create(StringComparer.Ordinal,
    [
        // stream level
        "stream", "stream:stream", "stream:features", "stream:error", "features", "error", "version", "1.0", "from", "to",
        "id", "xmlns", "xmlns:stream", "xml:lang", "en", "starttls", "proceed", "required", "mechanisms", "mechanism",
        "auth", "challenge", "response", "success", "failure", "bind", "session", "resource", "jid", "sm", "enable",
        "enabled", "resume", "resumed", "r", "a", "h", "c", "ver", "hash", "node", "sha-1", "text",
        XmlNamespaces.Streams, XmlNamespaces.Client, XmlNamespaces.Server, "jabber:component:accept",
        "urn:ietf:params:xml:ns:xmpp-tls", "urn:ietf:params:xml:ns:xmpp-sasl", "urn:ietf:params:xml:ns:xmpp-bind",
        "urn:ietf:params:xml:ns:xmpp-session", "urn:ietf:params:xml:ns:xmpp-stanzas", "urn:ietf:params:xml:ns:xmpp-streams",
        "urn:xmpp:sm:3", "http://jabber.org/protocol/caps", "urn:xmpp:ping", "jabber:iq:roster", "jabber:iq:private",
        "urn:xmpp:carbons:2", "urn:xmpp:mam:2", "urn:xmpp:forward:0", "urn:xmpp:delay", "urn:xmpp:receipts",
        "urn:xmpp:chat-markers:0", "urn:xmpp:sid:0", "urn:xmpp:hints", "http://jabber.org/protocol/chatstates",
        "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/muc",
        "http://jabber.org/protocol/muc#user", "vcard-temp", "vcard-temp:x:update", "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN",
        // stanzas
        "message", "presence", "iq", "body", "subject", "thread", "type", "show", "status", "priority", "query", "item",
        "x", "request", "received", "active", "composing", "paused", "inactive", "gone", "markable", "displayed",
        "delay", "stamp", "stanza-id", "origin-id", "by", "store", "no-store", "no-copy", "private", "ping", "photo",
        "chat", "groupchat", "normal", "headline", "get", "set", "result", "unavailable", "subscribe", "subscribed",
        "unsubscribe", "unsubscribed", "probe", "away", "xa", "dnd", "cancel", "modify", "wait", "name", "subscription",
        "ask", "both", "none", "group", "identity", "category", "feature", "var",
    ]);

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> ByChars = Strings.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Decodes valid UTF-8 (checked by the caller) into a string, reusing a cached instance when there is one.</summary>
    internal static string GetString(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length <= MaxCachedBytes)
        {
            Span<char> chars = stackalloc char[MaxCachedBytes];
            int length = Encoding.UTF8.GetChars(utf8, chars);
            return ByChars.TryGetValue(chars[..length], out string? cached) ? cached : new string(chars[..length]);
        }
        return Encoding.UTF8.GetString(utf8);
    }

    internal static string GetString(ReadOnlySpan<char> chars) =>
        ByChars.TryGetValue(chars, out string? cached) ? cached : new string(chars);
}
