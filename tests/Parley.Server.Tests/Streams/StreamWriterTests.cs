using Parley.Protocol;
using Parley.Server.Streams;
using Parley.Xml;
using StreamWriter = Parley.Server.Streams.StreamWriter;

namespace Parley.Server.Tests.Streams;

/// <summary>
/// The stream writer on a transport of the test's own, which records what each flush carried and can hold a flush
/// back, as a client that does not read holds back a socket's.
/// </summary>
public sealed class StreamWriterTests
{
    private const int MaxQueuedBytes = 4 * 1024 * 1024;

    [Fact]
    public async Task Stanzas_queued_before_the_writer_starts_are_written_in_order_once_it_starts()
    {
        var transport = new RecordingTransport();
        var writer = new StreamWriter(transport, MaxQueuedBytes, () => ReadOnlyMemory<byte>.Empty);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(StreamWriter.Enqueued.Queued, writer.TryEnqueueStanza(Message(i, 10)));
        }

        Assert.Empty(transport.Written);
        var done = writer.RunAsync(() => { });
        writer.Complete();
        await done.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["m0", "m1", "m2"], transport.Written.Select(IdOf));
        Assert.True(transport.OutputClosed);
    }

    [Fact]
    public async Task A_batch_hands_the_transport_at_most_64_KiB_so_the_bound_counts_what_a_stuck_client_was_not_sent()
    {
        var transport = new RecordingTransport { HoldFlushes = true };
        var writer = new StreamWriter(transport, MaxQueuedBytes, () => ReadOnlyMemory<byte>.Empty);
        var done = writer.RunAsync(() => { });
        writer.TryEnqueueStanza(Message(0, 100));
        var first = await transport.NextHeldFlushAsync();

        // While the first flush waits for the client, 800 KiB queue up.
        for (var i = 1; i <= 100; i++)
        {
            Assert.Equal(StreamWriter.Enqueued.Queued, writer.TryEnqueueStanza(Message(i, 8 * 1024)));
        }
        first.SetResult(true);
        var second = await transport.NextHeldFlushAsync();

        // One batch of about 64 KiB went to the transport; the rest is still queued, and counted against the bound.
        var handedOver = transport.Flushes[1].Sum();
        var queuedWhileHeld = writer.QueuedBytes;
        Assert.InRange(handedOver, 64 * 1024, 64 * 1024 + 9 * 1024);
        transport.HoldFlushes = false;
        second.SetResult(true);
        transport.ReleaseHeldFlushes();
        writer.Complete();
        await done.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(transport.Written.Skip(1).Sum(stanza => stanza.Length) - handedOver, queuedWhileHeld);
        Assert.Equal(Enumerable.Range(0, 101).Select(i => $"m{i}"), transport.Written.Select(IdOf));
        Assert.All(transport.Flushes, flush => Assert.True(flush.Sum() <= 64 * 1024 + 9 * 1024, $"a flush carried {flush.Sum()} bytes"));
    }

    [Fact]
    public async Task A_peer_that_is_gone_ends_the_writer_quietly_and_what_is_queued_is_dropped()
    {
        var transport = new RecordingTransport { FlushResult = false };
        var writer = new StreamWriter(transport, MaxQueuedBytes, () => ReadOnlyMemory<byte>.Empty);
        writer.TryEnqueueStanza(Message(0, 10));

        await writer.RunAsync(() => { }).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(transport.Aborted);
        Assert.Equal(StreamWriter.Enqueued.Queued, writer.TryEnqueueStanza(Message(1, 10)));
        Assert.Single(transport.Written);
    }

    [Fact]
    public async Task A_failure_that_is_not_the_peer_going_away_aborts_the_connection_and_faults_the_writer()
    {
        var transport = new RecordingTransport { FlushFailure = new NotSupportedException("the transport broke") };
        var writer = new StreamWriter(transport, MaxQueuedBytes, () => ReadOnlyMemory<byte>.Empty);
        writer.TryEnqueueStanza(Message(0, 10));

        var fault = await Assert.ThrowsAsync<NotSupportedException>(() => writer.RunAsync(() => { }).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("the transport broke", fault.Message);
        Assert.True(transport.Aborted);
    }

    [Fact]
    public void A_stanza_that_would_take_the_queue_past_its_bound_is_refused_and_not_counted()
    {
        var transport = new RecordingTransport();
        var writer = new StreamWriter(transport, 20 * 1024, () => ReadOnlyMemory<byte>.Empty);
        Assert.Equal(StreamWriter.Enqueued.Queued, writer.TryEnqueueStanza(Message(0, 8 * 1024)));
        Assert.Equal(StreamWriter.Enqueued.Queued, writer.TryEnqueueStanza(Message(1, 8 * 1024)));
        var queued = writer.QueuedBytes;

        Assert.Equal(StreamWriter.Enqueued.Full, writer.TryEnqueueStanza(Message(2, 8 * 1024)));

        Assert.Equal(queued, writer.QueuedBytes);
        writer.Complete();
        Assert.Equal(StreamWriter.Enqueued.Closed, writer.TryEnqueueStanza(Message(3, 10)));
    }

    private static Element Message(int id, int bodyLength)
    {
        var message = new Element("message", Ns.Client).SetAttribute("id", $"m{id}");
        message.AddChild("body", Ns.Client).AddText(new string('x', bodyLength));
        return message;
    }

    private static string IdOf(byte[] stanza) => ElementParser.Parse(System.Text.Encoding.UTF8.GetString(stanza), Ns.Client).GetAttribute("id")!;

    /// <summary>Records every write, grouped by the flush that sent it; holds flushes back while told to.</summary>
    private sealed class RecordingTransport : IStreamTransport
    {
        private readonly Lock _lock = new();
        private readonly Queue<TaskCompletionSource<bool>> _held = new();
        private TaskCompletionSource<TaskCompletionSource<bool>> _nextHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private List<int> _unflushed = [];

        public List<byte[]> Written { get; } = [];

        /// <summary>The lengths written before each flush, in flush order.</summary>
        public List<List<int>> Flushes { get; } = [];

        public bool HoldFlushes { get; set; }
        public bool FlushResult { get; init; } = true;
        public Exception? FlushFailure { get; init; }
        public bool Aborted { get; private set; }
        public bool OutputClosed { get; private set; }

        public string ConnectionId => "recording";
        public string RemoteAddress => "test";
        public string Description => "test recording";
        public bool IsSecure => true;
        public bool CanStartTls => false;
        public string? StreamNamespace => Ns.Client;
        public string? DefaultNamespace => null;
        public long LastReceived => Environment.TickCount64;
        public IReadOnlyList<string> ChannelBindingTypes => [];
        public CancellationToken Closed => CancellationToken.None;

        public byte[]? ChannelBinding(string type) => null;

        public ValueTask OpenAsync() => ValueTask.CompletedTask;

        public Task ReadAsync(IStreamHandler handler) => Task.CompletedTask;

        public void WriteStreamHeader(string id, string from) => throw new NotSupportedException();

        public void Write(Element element) => throw new NotSupportedException();

        public void Write(ReadOnlySpan<byte> element)
        {
            lock (_lock)
            {
                Written.Add(element.ToArray());
                _unflushed.Add(element.Length);
            }
        }

        public void WriteStreamClose()
        {
        }

        public void WriteKeepalive()
        {
        }

        public ValueTask<bool> FlushAsync()
        {
            if (FlushFailure is not null)
            {
                throw FlushFailure;
            }
            lock (_lock)
            {
                Flushes.Add(_unflushed);
                _unflushed = [];
                if (!HoldFlushes)
                {
                    return ValueTask.FromResult(FlushResult);
                }
                var held = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                _held.Enqueue(held);
                _nextHeld.TrySetResult(held);
                return new ValueTask<bool>(held.Task);
            }
        }

        /// <summary>The next flush held back, once the writer asks for it; complete it to let the writer go on.</summary>
        public async Task<TaskCompletionSource<bool>> NextHeldFlushAsync()
        {
            var held = await _nextHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
            lock (_lock)
            {
                _nextHeld = new TaskCompletionSource<TaskCompletionSource<bool>>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_held.Count > 1 || (_held.Count == 1 && !ReferenceEquals(_held.Peek(), held)))
                {
                    throw new InvalidOperationException("more flushes were held than the test took");
                }
                _held.Clear();
            }
            return held;
        }

        public void ReleaseHeldFlushes()
        {
            lock (_lock)
            {
                while (_held.TryDequeue(out var held))
                {
                    held.TrySetResult(true);
                }
            }
        }

        public ValueTask CloseOutputAsync()
        {
            OutputClosed = true;
            return ValueTask.CompletedTask;
        }

        public void Abort() => Aborted = true;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
