using System.Buffers;

namespace Parley.Xml;

/// <summary>
/// Serializes elements. An element gets xmlns="..." only when its namespace differs from the one in scope.
/// "jabber:client" and "jabber:server" count as the same namespace when the stream's default namespace is one of them,
/// so a stanza read on a client stream is written unchanged to a server stream (RFC 6120 §4.8.3).
/// Elements in the streams namespace are written with the "stream:" prefix, which the stream header declares.
/// An attribute named "xmlns" is not written: <see cref="Element.Namespace"/> decides.
/// </summary>
internal static class XmlElementWriter
{
    internal static void Write(IBufferWriter<byte> output, Element element, string? defaultNamespace)
    {
        bool stanzaNamespacesEqual = XmlNamespaces.IsStanzaNamespace(defaultNamespace);
        WriteElement(output, element, defaultNamespace, stanzaNamespacesEqual);
    }

    private static void WriteElement(IBufferWriter<byte> output, Element element, string? namespaceInScope, bool stanzaNamespacesEqual)
    {
        string? ns = element.Namespace ?? namespaceInScope;
        bool streamsPrefix = ns == XmlNamespaces.Streams;
        bool declare = !streamsPrefix && ns is not null && !SameNamespace(ns, namespaceInScope, stanzaNamespacesEqual);
        string? childScope = declare ? ns : namespaceInScope;

        XmlEscaping.WriteAscii(output, streamsPrefix ? "<stream:"u8 : "<"u8);
        XmlEscaping.WriteRaw(output, element.Name);
        if (declare)
        {
            XmlEscaping.WriteAscii(output, " xmlns=\""u8);
            XmlEscaping.WriteAttributeValue(output, ns);
            XmlEscaping.WriteAscii(output, "\""u8);
        }
        var attributes = element.Attributes;
        for (int i = 0; i < attributes.Count; i++)
        {
            XmlAttribute attribute = attributes[i];
            if (attribute.Name == "xmlns")
            {
                continue;
            }
            XmlEscaping.WriteAscii(output, " "u8);
            XmlEscaping.WriteRaw(output, attribute.Name);
            XmlEscaping.WriteAscii(output, "=\""u8);
            XmlEscaping.WriteAttributeValue(output, attribute.Value);
            XmlEscaping.WriteAscii(output, "\""u8);
        }
        var nodes = element.Nodes;
        if (nodes.Count == 0)
        {
            XmlEscaping.WriteAscii(output, "/>"u8);
            return;
        }
        XmlEscaping.WriteAscii(output, ">"u8);
        for (int i = 0; i < nodes.Count; i++)
        {
            Node node = nodes[i];
            if (node is Element child)
            {
                WriteElement(output, child, childScope, stanzaNamespacesEqual);
            }
            else
            {
                var text = (TextNode)node;
                if (text.Utf8 is { } utf8)
                {
                    XmlEscaping.WriteReadText(output, utf8);
                }
                else
                {
                    XmlEscaping.WriteText(output, text.Value);
                }
            }
        }
        XmlEscaping.WriteAscii(output, streamsPrefix ? "</stream:"u8 : "</"u8);
        XmlEscaping.WriteRaw(output, element.Name);
        XmlEscaping.WriteAscii(output, ">"u8);
    }

    private static bool SameNamespace(string ns, string? namespaceInScope, bool stanzaNamespacesEqual) =>
        ns == namespaceInScope
        || (stanzaNamespacesEqual && XmlNamespaces.IsStanzaNamespace(ns) && XmlNamespaces.IsStanzaNamespace(namespaceInScope));
}
