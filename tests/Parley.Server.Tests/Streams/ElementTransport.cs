using System.Text;
using System.Threading.Channels;
using Parley.Protocol;
using Parley.Server.Streams;
using Parley.Xml;

namespace Parley.Server.Tests.Streams;

/// <summary>
/// A transport of the test's own that carries elements as objects, with no bytes or sockets below
/// (as a WebSocket carries one element per frame): it opens a stream with an event, and marks the
/// server's opening and close with an &lt;open/&gt; and a &lt;close/&gt; element, as RFC 7395 does.
/// </summary>
public sealed class ElementTransport : IStreamTransport
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly Channel<XmlStreamEvent> _fromClient = Channel.CreateUnbounded<XmlStreamEvent>();
    private readonly Channel<Element> _toClient = Channel.CreateUnbounded<Element>();
    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _outputLock = new();
    private readonly List<Element> _unflushed = [];

    public string ConnectionId => "element-transport";
    public string RemoteAddress => "test";
    public string Description => "test elements";
    public bool IsSecure => true;
    public bool CanStartTls => false;
    public string? StreamNamespace => Ns.Client;
    public string? DefaultNamespace => null;
    public long LastReceived { get; private set; } = Environment.TickCount64;
    public IReadOnlyList<string> ChannelBindingTypes => [];
    public CancellationToken Closed => _closed.Token;

    /// <summary>How many times the negotiator asked for a stream restart (after SASL).</summary>
    public int Restarts { get; private set; }

    public byte[]? ChannelBinding(string type) => null;

    public ValueTask OpenAsync() => ValueTask.CompletedTask;

    public async Task ReadAsync(IStreamHandler handler)
    {
        await foreach (var ev in _fromClient.Reader.ReadAllAsync(Closed))
        {
            LastReceived = Environment.TickCount64;
            switch (await handler.HandleAsync(ev))
            {
                case StreamAction.Stop:
                    return;
                case StreamAction.Restart:
                    Restarts++;
                    break;
                case StreamAction.StartTls:
                    throw new InvalidOperationException("This transport offers no STARTTLS.");
            }
        }
    }

    public void WriteStreamHeader(string id, string from) => Add(new Element("open", "urn:ietf:params:xml:ns:xmpp-framing").SetAttribute("id", id).SetAttribute("from", from));

    public void Write(Element element) => Add(element.Clone());

    public void Write(ReadOnlySpan<byte> element) => Add(ElementParser.Parse(Encoding.UTF8.GetString(element), Ns.Client));

    public void WriteStreamClose() => Add(new Element("close", "urn:ietf:params:xml:ns:xmpp-framing"));

    public void WriteKeepalive()
    {
    }

    public ValueTask<bool> FlushAsync()
    {
        lock (_outputLock)
        {
            foreach (var element in _unflushed)
            {
                _toClient.Writer.TryWrite(element);
            }
            _unflushed.Clear();
        }
        return ValueTask.FromResult(!_closed.IsCancellationRequested);
    }

    public ValueTask CloseOutputAsync()
    {
        _toClient.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    public void Abort()
    {
        _closed.Cancel();
        _toClient.Writer.TryComplete();
    }

    public ValueTask DisposeAsync()
    {
        _closed.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The client opens a stream to <paramref name="to"/>.</summary>
    public void Open(string to = "localhost") =>
        _fromClient.Writer.TryWrite(new XmlStreamEvent(XmlStreamEventKind.StreamStart, new Element("stream", Ns.Streams).SetAttribute("to", to).SetAttribute("version", "1.0")));

    public void Send(string xml) => _fromClient.Writer.TryWrite(new XmlStreamEvent(XmlStreamEventKind.Element, ElementParser.Parse(xml, Ns.Client)));

    public void Close() => _fromClient.Writer.TryWrite(new XmlStreamEvent(XmlStreamEventKind.StreamEnd, null));

    /// <summary>The next element the server sent, skipping those that do not match.</summary>
    public async Task<Element> ReceiveAsync(Func<Element, bool>? match = null)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        while (true)
        {
            var element = await _toClient.Reader.ReadAsync(timeout.Token);
            if (match is null || match(element))
            {
                return element;
            }
        }
    }

    private void Add(Element element)
    {
        lock (_outputLock)
        {
            _unflushed.Add(element);
        }
    }
}
