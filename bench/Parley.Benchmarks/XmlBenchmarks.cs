using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Parley.Xml;

namespace Parley.Benchmarks;

/// <summary>
/// Reader and writer cost per ~300-byte chat message. Figures are per message (OperationsPerInvoke):
/// MB/s = MessageBytes / Mean; Allocated is bytes allocated per message.
/// </summary>
[MemoryDiagnoser]
public class XmlBenchmarks
{
    private const int Messages = 1000;
    private const int SegmentSize = 4096; // what a socket read typically hands the pipe

    private const string Header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

    private const string ChatMessage =
        "<message from='juliet@example.com/balcony' to='romeo@example.net/orchard' type='chat' id='ktx72v49' xml:lang='en'>" +
        "<body>Art thou not Romeo, and a Montague? Neither, fair saint, if either thee dislike.</body>" +
        "<active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>\n";

    private readonly XmlStreamReader _reader = new();
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private ReadOnlySequence<byte> _stream;
    private Element _message = null!;

    public static int MessageBytes => Encoding.UTF8.GetByteCount(ChatMessage);

    [GlobalSetup]
    public void Setup()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Header + string.Concat(Enumerable.Repeat(ChatMessage, Messages)));
        _stream = Segments(bytes, SegmentSize);
        _message = ReadStream();
        Console.WriteLine($"// chat message: {MessageBytes} bytes");
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public Element Read() => ReadStream();

    [Benchmark(OperationsPerInvoke = Messages)]
    public int Write()
    {
        _output.ResetWrittenCount();
        for (int i = 0; i < Messages; i++)
        {
            _message.WriteTo(_output, "jabber:client");
        }
        return _output.WrittenCount;
    }

    private Element ReadStream()
    {
        _reader.Reset();
        ReadOnlySequence<byte> buffer = _stream;
        Element? last = null;
        while (_reader.TryRead(ref buffer, out XmlStreamEvent ev))
        {
            last = ev.Element;
        }
        return last ?? throw new InvalidOperationException("No element read.");
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int size)
    {
        Segment first = new(bytes.AsMemory(0, Math.Min(size, bytes.Length)), 0);
        Segment last = first;
        for (int offset = size; offset < bytes.Length; offset += size)
        {
            var next = new Segment(bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset)), offset);
            last.SetNext(next);
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
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
