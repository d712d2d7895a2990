using System.Buffers;
using System.Text;

namespace Parley.Xml;

/// <summary>Reads one element from a string, e.g. a stanza or document the server stored earlier.</summary>
public static class ElementParser
{
    /// <summary>
    /// Parses <paramref name="xml"/> (one element) with the same rules and limits as a stream;
    /// elements without xmlns get <paramref name="defaultNamespace"/>. Throws <see cref="XmlStreamException"/>.
    /// </summary>
    public static Element Parse(string xml, string defaultNamespace, XmlLimits? limits = null)
    {
        var reader = new XmlStreamReader(limits ?? new XmlLimits { MaxStanzaBytes = int.MaxValue });
        var header = $"<stream:stream xmlns='{XmlEscaping.EscapeAttributeValue(defaultNamespace)}' xmlns:stream='{XmlNamespaces.Streams}'>";
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(header + xml + "</stream:stream>"));
        reader.TryRead(ref buffer, out _);
        if (!reader.TryRead(ref buffer, out var ev) || ev.Kind != XmlStreamEventKind.Element)
        {
            throw new XmlStreamException(XmlStreamError.NotWellFormed, "The text holds no element.");
        }
        if (!reader.TryRead(ref buffer, out var end) || end.Kind != XmlStreamEventKind.StreamEnd)
        {
            throw new XmlStreamException(XmlStreamError.NotWellFormed, "The text holds more than one element.");
        }
        return ev.Element!;
    }
}
