using System.Buffers;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Protocol;
using Parley.Server.Diagnostics;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.Muc;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage.Sqlite;
using Parley.Xml;

namespace Parley.Benchmarks;

/// <summary>
/// Multi-user chat fan-out: one groupchat message in a room of 1,000 occupants (each a local session), from the
/// room receiving it to every occupant's sink, which serializes it as the connection's writer loop would.
/// The room builds the message once; each connection writes the same element.
/// </summary>
[MemoryDiagnoser]
public class MucBenchmarks
{
    private const int Occupants = 1000;

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "parley-bench-" + Guid.NewGuid().ToString("N"));
    private SqliteStorage _storage = null!;
    private Room _room = null!;
    private ServiceStanza _message = null!;
    private SerializingSink[] _sinks = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new MucOptions { MaxOccupantsPerRoom = 0, HistoryMessages = 20 };
        var sessions = new SessionRegistry();
        var modules = new ModuleRegistry();
        modules.Freeze();
        var router = new Router(["localhost"], sessions, modules, NullLogger<Router>.Instance);
        _storage = SqliteStorage.OpenAsync(Path.Combine(_dataDir, "parley.db")).GetAwaiter().GetResult();
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var service = new MucService(options, _storage, router, TimeProvider.System, new ParleyMetrics(meters, sessions), NullLogger<MucService>.Instance);
        var roomJid = Jid.Parse("lobby@conference.localhost");
        _room = Room.Create(service, roomJid, Jid.Parse("user0@localhost"), locked: false, DateTimeOffset.UtcNow);

        _sinks = new SerializingSink[Occupants];
        for (var i = 0; i < Occupants; i++)
        {
            _sinks[i] = new SerializingSink();
            var user = Jid.Parse($"user{i}@localhost/desk");
            sessions.Add(new ClientSession(user, _sinks[i], "127.0.0.1") { Presence = new Element("presence", Ns.Client) }, maxSessionsPerAccount: 10);
            var join = new Element("presence", Ns.Client).SetAttribute("from", user.ToString()).SetAttribute("to", $"{roomJid}/user{i}");
            join.AddChild("x", Ns.Muc).AddChild("history", Ns.Muc).SetAttribute("maxstanzas", "0");
            _room.HandleAsync(new ServiceStanza(join, user, roomJid.WithResource($"user{i}"))).AsTask().GetAwaiter().GetResult();
        }

        var sender = Jid.Parse("user1@localhost/desk");
        var message = new Element("message", Ns.Client).SetAttribute("from", sender.ToString()).SetAttribute("to", roomJid.ToString())
            .SetAttribute("type", "groupchat").SetAttribute("id", "6f1c0a8e-4b2d-4f3a-9c71-2d5e8b0a9f44");
        message.AddChild("body").AddText("Are we still on for the design review at three? I have moved it to the large room on the 4th floor.");
        _message = new ServiceStanza(message, sender, roomJid);

        foreach (var sink in _sinks)
        {
            sink.Serialize = true;
        }
        Groupchat().AsTask().GetAwaiter().GetResult();
        // A benchmark whose message reaches nobody would measure nothing.
        if (_room.OccupantCount != Occupants || _sinks[^1].LastWrittenBytes < 200)
        {
            throw new InvalidOperationException($"The message did not reach all {Occupants} occupants.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _storage.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dataDir, recursive: true);
    }

    /// <summary>One message to 1,000 occupants; divide by 1,000 for the cost per delivered message.</summary>
    [Benchmark]
    public ValueTask Groupchat() => _room.HandleAsync(_message);

    /// <summary>Serializes each stanza into one reused buffer, as a connection's writer loop writes into its pipe.</summary>
    private sealed class SerializingSink : IStanzaSink
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);

        public bool Serialize { get; set; }

        public int LastWrittenBytes { get; private set; }

        public bool Send(Element stanza)
        {
            if (Serialize)
            {
                _buffer.ResetWrittenCount();
                stanza.WriteTo(_buffer, Ns.Client);
                LastWrittenBytes = _buffer.WrittenCount;
            }
            return true;
        }

        public void CloseWithError(string condition, string? text = null, string? conditionContent = null) =>
            throw new InvalidOperationException($"The router closed a benchmark session: {condition} {text}");
    }
}
