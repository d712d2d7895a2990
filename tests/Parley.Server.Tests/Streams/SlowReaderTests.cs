using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Streams;

/// <summary>A client that stops reading costs the node a bounded number of bytes, then its stream.</summary>
public sealed class SlowReaderTests : IAsyncLifetime
{
    private const int QueueBytes = 128 * 1024;
    private const int Messages = 600;
    private static readonly string Body = new('x', 8 * 1024);

    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o =>
        {
            o.Limits.MaxStanzaBytes = 64 * 1024;
            o.Limits.MaxSendQueueBytes = QueueBytes;
        });
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.CreateUserAsync("romeo", "romeo-password");
        await _node.CreateUserAsync("nurse", "nurse-password");
    }

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    [Fact]
    public async Task A_client_that_does_not_read_is_cut_off_with_a_stream_error_while_others_are_served()
    {
        await using var slow = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "balcony", receiveBufferSize: 4096);
        await using var sender = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        await using var bystander = await XmppTestClient.LoginAsync(_node, "nurse", "nurse-password", "kitchen");

        // About 4.8 MiB for a client that reads nothing: far more than the queue's bound and the sockets' buffers.
        for (var i = 0; i < Messages; i++)
        {
            await sender.SendAsync($"<message to='juliet@localhost/balcony' id='m{i}' type='chat'><body>{Body}</body></message>");
        }
        await sender.SendAsync("<message to='nurse@localhost/kitchen' id='after' type='chat'><body>still there?</body></message>");
        Assert.Equal("still there?", (await bystander.ReceiveAsync(e => e.GetAttribute("id") == "after")).ChildText("body"));
        await sender.SendAsync("<iq to='localhost' type='get' id='ping'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", (await sender.ReceiveAsync(e => e.GetAttribute("id") == "ping")).GetAttribute("type"));

        // The slow client now reads what was queued for it, then the stream error.
        var received = 0;
        while (true)
        {
            var ev = await slow.NextEventAsync();
            Assert.Equal(Parley.Xml.XmlStreamEventKind.Element, ev.Kind);
            if (ev.Element!.Name == "error")
            {
                Assert.Equal("policy-violation", ev.Element.Children().First().Name);
                break;
            }
            if (ev.Element.Name == "message")
            {
                received++;
            }
        }
        Assert.InRange(received, 1, Messages - 1);
        Assert.True(await slow.IsClosedAsync());
    }
}
