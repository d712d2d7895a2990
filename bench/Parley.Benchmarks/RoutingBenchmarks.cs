using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Benchmarks;

/// <summary>
/// Routing one ~300-byte chat message between two sessions on one node: Router.RouteFromClientAsync up to the
/// recipient's sink, which serializes the stanza as the connection's writer loop would (into a reused buffer, so
/// what is measured is the router and the writer, not a socket).
/// </summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private const string Domain = "localhost";

    private Router _router = null!;
    private ClientSession _alice = null!;
    private Element _toFullJid = null!;
    private Element _toBareJid = null!;
    private Jid _bobFull = null!;
    private Jid _bobBare = null!;
    private SerializingSink _bobSink = null!;

    [GlobalSetup]
    public void Setup()
    {
        var sessions = new SessionRegistry();
        var modules = new ModuleRegistry();
        modules.Freeze();
        _router = new Router([Domain], sessions, modules, NullLogger<Router>.Instance);

        _alice = AvailableSession(sessions, "alice@localhost/phone", new SerializingSink());
        _bobSink = new SerializingSink();
        var bob = AvailableSession(sessions, "bob@localhost/laptop", _bobSink);
        _bobFull = bob.Jid;
        _bobBare = bob.Jid.Bare;

        _toFullJid = ParseStanza(Message(_alice.Jid, _bobFull));
        _toBareJid = ParseStanza(Message(_alice.Jid, _bobBare));

        // A benchmark of a message that goes nowhere would measure nothing: check that Bob's sink gets it.
        _router.RouteFromClientAsync(_toFullJid, _alice, _bobFull).AsTask().GetAwaiter().GetResult();
        if (_bobSink.LastWrittenBytes < 250)
        {
            throw new InvalidOperationException($"The message did not reach Bob ({_bobSink.LastWrittenBytes} bytes written).");
        }
    }

    [Benchmark(Baseline = true)]
    public ValueTask ChatToFullJid() => _router.RouteFromClientAsync(_toFullJid, _alice, _bobFull);

    [Benchmark]
    public ValueTask ChatToBareJid() => _router.RouteFromClientAsync(_toBareJid, _alice, _bobBare);

    private static ClientSession AvailableSession(SessionRegistry sessions, string jid, IStanzaSink sink)
    {
        var session = new ClientSession(Jid.Parse(jid), sink, "127.0.0.1") { Presence = new Element("presence", Ns.Client) };
        sessions.Add(session, maxSessionsPerAccount: 10);
        return session;
    }

    /// <summary>A chat message as a client sends it, with the 'from' the server stamps: about 300 bytes.</summary>
    private static string Message(Jid from, Jid to) =>
        $"<message xmlns='jabber:client' from='{from}' to='{to}' type='chat' id='6f1c0a8e-4b2d-4f3a-9c71-2d5e8b0a9f44'>" +
        "<body>Are we still on for the design review at three? I have moved it to the large room on the 4th floor.</body>" +
        "<active xmlns='http://jabber.org/protocol/chatstates'/></message>";

    private static Element ParseStanza(string xml)
    {
        var reader = new XmlStreamReader();
        var bytes = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(
            $"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>{xml}"));
        if (!reader.TryRead(ref bytes, out _) || !reader.TryRead(ref bytes, out var stanza) || stanza.Element is null)
        {
            throw new InvalidOperationException("The benchmark's message does not parse.");
        }
        return stanza.Element;
    }

    /// <summary>Serializes each stanza into one reused buffer, as a connection's writer loop writes into its pipe.</summary>
    private sealed class SerializingSink : IStanzaSink
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);

        public int LastWrittenBytes { get; private set; }

        public bool Send(Element stanza)
        {
            _buffer.ResetWrittenCount();
            stanza.WriteTo(_buffer, Ns.Client);
            LastWrittenBytes = _buffer.WrittenCount;
            return true;
        }

        public void CloseWithError(string condition, string? text = null, string? conditionContent = null) =>
            throw new InvalidOperationException($"The router closed a benchmark session: {condition} {text}");
    }
}
