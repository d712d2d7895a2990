namespace Parley.Protocol.Precis;

/// <summary>The two PRECIS string classes of RFC 8264 §4.</summary>
internal enum PrecisStringClass
{
    /// <summary>Letters and digits only (usernames, JID localparts).</summary>
    Identifier,

    /// <summary>Also spaces, symbols and punctuation (passwords, JID resourceparts).</summary>
    Freeform,
}
