using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Diagnostics;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Diagnostics;

/// <summary>
/// The node's instruments, read as an exporter would with a MeterListener: only this node's meter (its own
/// IMeterFactory, so other tests' nodes in the process do not count) and .NET's System.Runtime meter.
/// </summary>
public sealed class ParleyMetricsTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();
    private readonly MeterListener _listener = new();
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        var factory = _node.App.Web.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if ((instrument.Meter.Name == ParleyMetrics.MeterName && instrument.Meter.Scope == factory)
                || instrument.Name == "dotnet.process.memory.working_set")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
        await _node.CreateUserAsync("alice", "alice-password");
        await _node.CreateUserAsync("bob", "bob-password");
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _node.DisposeAsync();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _measurements.Enqueue((instrument.Name, value, tags.ToArray().ToDictionary(tag => tag.Key, tag => tag.Value)));

    /// <summary>The sum of what <paramref name="instrument"/> recorded with the tag <paramref name="key"/>=<paramref name="value"/>.</summary>
    private double Sum(string instrument, string key, string value) =>
        _measurements.Where(m => m.Instrument == instrument && Equals(m.Tags.GetValueOrDefault(key), value)).Sum(m => m.Value);

    [Fact]
    public async Task Logins_failures_stanzas_archive_appends_sessions_and_send_queues_are_measured()
    {
        await using (var wrong = await XmppTestClient.ConnectAsync(_node.C2sPort))
        {
            await wrong.OpenStreamAsync();
            await wrong.StartTlsAsync();
            Assert.Equal("failure", (await wrong.TryAuthenticateAsync("alice", "wrong-password")).Name);
        }
        await using var alice = await XmppTestClient.LoginAsync(_node, "alice", "alice-password", "home");
        await using var bob = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        await bob.OpenStreamAsync();
        await bob.AuthenticateAsync("bob", "bob-password");
        await bob.BindAsync("phone");
        await bob.AnnounceAsync();

        await alice.SendAsync("<message to='bob@localhost' type='chat' id='m1'><body>hello</body></message>");
        await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "m1");
        _listener.RecordObservableInstruments();

        Assert.Equal(2, Sum("parley.logins", "outcome", "succeeded"));
        Assert.Equal(1, Sum("parley.logins", "outcome", "failed"));
        Assert.Equal(1, Sum("parley.auth.failures", "reason", "not-authorized"));
        Assert.Equal(1, Sum("parley.stanzas.received", "kind", "message"));
        Assert.Equal(1, Sum("parley.stanzas.sent", "kind", "message"));
        Assert.True(Sum("parley.stanzas.sent", "kind", "presence") >= 1, "bob's own presence came back to him");
        // The message went into the sender's and the recipient's archives.
        var appends = _measurements.Where(m => m.Instrument == "parley.archive.append.duration").ToList();
        Assert.Equal(2, appends.Count);
        Assert.All(appends, m => Assert.InRange(m.Value, 0, 30));
        Assert.All(appends, m => Assert.Equal("user", m.Tags["archive"]));
        Assert.Equal(1, Sum("parley.sessions", "transport", "STARTTLS"));
        Assert.Equal(1, Sum("parley.sessions", "transport", "direct TLS"));
        Assert.Contains(_measurements, m => m.Instrument == "parley.send_queue.bytes" && Equals(m.Tags["queue"], "largest") && m.Value >= 0);
        Assert.Contains(_measurements, m => m.Instrument == "dotnet.process.memory.working_set" && m.Value > 0);
    }

    [Fact]
    public async Task A_message_to_an_archived_room_is_timed_as_an_append_to_the_room_archive()
    {
        await using var alice = await Muc.OnlineAsync(_node, "alice");
        var room = Muc.Room("measured");
        await Muc.CreateAsync(alice, room, "Alice", ("muc#roomconfig_persistentroom", "1"));

        await alice.SendAsync($"<message to='{room}' type='groupchat' id='g1'><body>hello room</body></message>");
        var echo = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "groupchat" && e.Child("body") is not null);

        Assert.NotNull(echo.Child("stanza-id", Parley.Protocol.Ns.StanzaId));
        var appends = _measurements.Where(m => m.Instrument == "parley.archive.append.duration").ToList();
        var roomAppend = Assert.Single(appends);
        Assert.Equal("room", roomAppend.Tags["archive"]);
        Assert.InRange(roomAppend.Value, 0, 30);
    }
}
