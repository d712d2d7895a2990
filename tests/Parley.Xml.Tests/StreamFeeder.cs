using System.Buffers;
using System.Text;

namespace Parley.Xml.Tests;

/// <summary>Feeds a reader the way a PipeReader would: chunks arrive, unconsumed bytes stay in front of the next chunk.</summary>
internal static class StreamFeeder
{
    internal const string Header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

    internal static List<string> ReadAll(string stream, XmlLimits? limits = null) => ReadAll(Encoding.UTF8.GetBytes(stream), [int.MaxValue], limits);

    /// <summary>Reads all events, the chunk sizes repeating cyclically; each event is rendered with <see cref="Describe"/>.</summary>
    internal static List<string> ReadAll(byte[] stream, IReadOnlyList<int> chunkSizes, XmlLimits? limits = null)
    {
        var reader = new XmlStreamReader(limits);
        var events = new List<string>();
        Feed(reader, stream, chunkSizes, ev => events.Add(Describe(ev)));
        return events;
    }

    internal static void Feed(XmlStreamReader reader, byte[] stream, IReadOnlyList<int> chunkSizes, Action<XmlStreamEvent> onEvent)
    {
        byte[] unconsumed = [];
        int position = 0;
        int chunk = 0;
        while (position < stream.Length)
        {
            int size = Math.Clamp(chunkSizes[chunk++ % chunkSizes.Count], 1, stream.Length - position);
            // Two segments for the new bytes, so a token often spans segments.
            int half = size / 2;
            ReadOnlySequence<byte> buffer = Sequence(unconsumed, stream.AsMemory(position, half), stream.AsMemory(position + half, size - half));
            position += size;
            while (reader.TryRead(ref buffer, out XmlStreamEvent ev))
            {
                onEvent(ev);
            }
            Assert.True(buffer.IsEmpty, "TryRead returned false without consuming everything it was given.");
            unconsumed = buffer.ToArray();
        }
    }

    internal static ReadOnlySequence<byte> Sequence(params ReadOnlyMemory<byte>[] parts)
    {
        Segment? first = null;
        Segment? last = null;
        foreach (ReadOnlyMemory<byte> part in parts)
        {
            if (part.IsEmpty)
            {
                continue;
            }
            var segment = new Segment(part, last is null ? 0 : last.RunningIndex + last.Memory.Length);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }
            last = segment;
        }
        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    internal static XmlStreamError ErrorOf(string stream, XmlLimits? limits = null) =>
        Assert.Throws<XmlStreamException>(() => ReadAll(stream, limits)).Error;

    internal static XmlStreamError ErrorOf(byte[] stream) =>
        Assert.Throws<XmlStreamException>(() => ReadAll(stream, [int.MaxValue])).Error;

    /// <summary>A canonical rendering: every element as {namespace}name, attributes in order, text as written.</summary>
    internal static string Describe(XmlStreamEvent ev) => ev.Kind switch
    {
        XmlStreamEventKind.StreamEnd => "end",
        XmlStreamEventKind.StreamStart => "start " + Describe(ev.Element!),
        _ => Describe(ev.Element!),
    };

    internal static string Describe(Element element)
    {
        var text = new StringBuilder();
        Describe(element, text);
        return text.ToString();
    }

    private static void Describe(Element element, StringBuilder text)
    {
        text.Append('{').Append(element.Namespace).Append('}').Append(element.Name);
        foreach (XmlAttribute attribute in element.Attributes)
        {
            text.Append(' ').Append(attribute.Name).Append("=[").Append(attribute.Value).Append(']');
        }
        text.Append('(');
        foreach (Node node in element.Nodes)
        {
            if (node is Element child)
            {
                Describe(child, text);
            }
            else
            {
                text.Append('"').Append(((TextNode)node).Value).Append('"');
            }
        }
        text.Append(')');
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
