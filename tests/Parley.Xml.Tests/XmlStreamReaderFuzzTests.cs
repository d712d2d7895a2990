using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Parley.Xml.Tests;

/// <summary>
/// Random and mutated streams in random chunkings: the reader only ever throws <see cref="XmlStreamException"/>,
/// always makes progress, never returns more than the limits allow and allocates in proportion to its input.
/// </summary>
public class XmlStreamReaderFuzzTests
{
    private static readonly XmlLimits SmallLimits = new() { MaxStanzaBytes = 600, MaxDepth = 8, MaxAttributes = 6, MaxNamespaceDeclarations = 3 };

    private static readonly byte[][] ValidStreams =
    [
        Encoding.UTF8.GetBytes(StreamFeeder.Header +
            "<message to='juliet@example.com' type='chat' id='a1'><body>Hi &amp; \u00e9\U0001F600 &#x41;</body><active xmlns='http://jabber.org/protocol/chatstates'/></message> " +
            "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq><presence><show>away</show><status><![CDATA[brb]]></status></presence>" +
            "<x:a xmlns:x='urn:x' x:b='1'><x:c>\r\n</x:c></x:a></stream:stream>"),
        Encoding.UTF8.GetBytes("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server'>" +
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>" +
            "<a><b><c><d><e><f><g>deep</g></f></e></d></c></b></a>"),
    ];

    private static readonly Gen<byte[]> MutatedStreams =
        from stream in Gen.Elements(ValidStreams)
        from mutations in Gen.ListOf(
            from kind in Gen.Choose(0, 4)
            from position in Gen.Choose(0, 10_000)
            from length in Gen.Choose(1, 40)
            from value in Gen.Choose(0, 255)
            select (kind, position, length, value), 8)
        select Mutate(stream, mutations);

    private static readonly Gen<byte[]> RandomBytes = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 400);

    private static readonly Gen<byte[]> RandomMarkup =
        Gen.ArrayOf(Gen.Elements("<", ">", "/", "a", ":", "xmlns", "='", "'", "\"", " ", "&", ";", "#", "x", "<!", "[CDATA[", "]]>", "<?", "?>", "\u00e9", "\xff", StreamFeeder.Header), 120)
            .Select(parts => Encoding.UTF8.GetBytes(StreamFeeder.Header + string.Concat(parts)));

    private static readonly Gen<int[]> Chunkings = Gen.NonEmptyListOf(Gen.Choose(1, 50)).Select(sizes => sizes.ToArray());

    [Fact]
    public void Mutated_valid_streams_in_random_chunks_fail_only_with_stream_errors()
    {
        Check(MutatedStreams);
    }

    [Fact]
    public void Random_bytes_in_random_chunks_fail_only_with_stream_errors()
    {
        Check(RandomBytes);
    }

    [Fact]
    public void Random_markup_in_random_chunks_fails_only_with_stream_errors()
    {
        Check(RandomMarkup);
    }

    private static void Check(Gen<byte[]> streams)
    {
        Prop.ForAll(Arb.From(Gen.Zip(streams, Chunkings)), ((byte[] Stream, int[] Chunks) input) => ReadsSafely(input.Stream, input.Chunks))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    private static void ReadsSafely(byte[] stream, int[] chunks)
    {
        var reader = new XmlStreamReader(SmallLimits);
        var budget = Stopwatch.StartNew();
        long allocated = 0;
        try
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            StreamFeeder.Feed(reader, stream, chunks, ev =>
            {
                allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                if (ev.Element is not null)
                {
                    Assert.True(ContentChars(ev.Element, 1) <= SmallLimits.MaxStanzaBytes, "An element larger than the stanza limit was returned.");
                }
                before = GC.GetAllocatedBytesForCurrentThread();
            });
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }
        catch (XmlStreamException)
        {
            // The expected outcome for most inputs; any other exception fails the property.
        }
        Assert.True(budget.Elapsed < TimeSpan.FromSeconds(2), $"Reading {stream.Length} bytes took {budget.Elapsed}.");
        // Generous: the element tree of a stream of tiny empty elements is about 100 bytes per input byte.
        Assert.True(allocated < 64 * 1024 + 200L * stream.Length, $"{allocated} bytes allocated for {stream.Length} bytes of input.");
    }

    /// <summary>Every returned character came from at least one input byte, so this bounds the bytes a stanza used.</summary>
    private static int ContentChars(Element element, int depth)
    {
        Assert.True(depth <= SmallLimits.MaxDepth);
        Assert.True(element.Attributes.Count <= SmallLimits.MaxAttributes);
        int chars = element.Name.Length;
        foreach (XmlAttribute attribute in element.Attributes)
        {
            chars += attribute.Name.Length + attribute.Value.Length;
        }
        foreach (Node node in element.Nodes)
        {
            chars += node is Element child ? ContentChars(child, depth + 1) : ((TextNode)node).Value.Length;
        }
        return chars;
    }

    private static byte[] Mutate(byte[] stream, IEnumerable<(int Kind, int Position, int Length, int Value)> mutations)
    {
        var bytes = new List<byte>(stream);
        foreach ((int kind, int position, int length, int value) in mutations)
        {
            int at = position % (bytes.Count + 1);
            int count = Math.Min(length, bytes.Count - at);
            switch (kind)
            {
                case 0 when at < bytes.Count:
                    bytes[at] = (byte)value;
                    break;
                case 1:
                    bytes.Insert(at, (byte)value);
                    break;
                case 2:
                    bytes.RemoveRange(at, count);
                    break;
                case 3:
                    bytes.InsertRange(at, bytes.GetRange(at, count));
                    break;
                default:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes("<x>"));
                    break;
            }
        }
        return [.. bytes];
    }
}
