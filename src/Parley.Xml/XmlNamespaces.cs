namespace Parley.Xml;

/// <summary>The namespaces the XML layer itself has to know about.</summary>
public static class XmlNamespaces
{
    public const string Streams = "http://etherx.jabber.org/streams";
    public const string Client = "jabber:client";
    public const string Server = "jabber:server";

    /// <summary>The namespace the "xml" prefix is always bound to (xml:lang).</summary>
    public const string Xml = "http://www.w3.org/XML/1998/namespace";

    internal static bool IsStanzaNamespace(string? ns) => ns is Client or Server;
}
