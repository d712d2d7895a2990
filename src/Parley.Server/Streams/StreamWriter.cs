using System.Buffers;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Streams;

/// <summary>
/// The one writer of a bound stream: stanzas are queued by any thread and written in batches by a
/// single loop. A stanza is serialized when it is queued, so the queue knows its size in bytes and
/// stays under a bound: a client that does not read costs at most that much memory (DESIGN.md §6).
/// </summary>
public sealed class StreamWriter
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_serializer;

    private readonly IStreamTransport _transport;
    private readonly long _maxQueuedBytes;
    private readonly Func<ReadOnlyMemory<byte>> _afterStanzas;
    private readonly Channel<Outbound> _queue = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = true });
    private long _queuedBytes;

    /// <param name="afterStanzas">Bytes to write after a batch that held stanzas (a stream-management ack request), or empty.</param>
    public StreamWriter(IStreamTransport transport, long maxQueuedBytes, Func<ReadOnlyMemory<byte>> afterStanzas)
    {
        _transport = transport;
        _maxQueuedBytes = maxQueuedBytes;
        _afterStanzas = afterStanzas;
    }

    /// <summary>Bytes of stanzas queued and not yet handed to the transport.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    public bool IsEmpty => QueuedBytes == 0;

    /// <summary>Queues a stanza, unless it would take the queue past its bound or the writer is done.</summary>
    public Enqueued TryEnqueueStanza(Element stanza)
    {
        Outbound item;
        if (_transport.DefaultNamespace == Ns.Client && SharedStanza.TryGetBytes(stanza, out var shared))
        {
            item = new Outbound(OutboundKind.Stanza, shared, shared.Length, Pooled: false);
        }
        else
        {
            item = Serialize(stanza);
        }
        if (Interlocked.Add(ref _queuedBytes, item.Length) > _maxQueuedBytes)
        {
            Interlocked.Add(ref _queuedBytes, -item.Length);
            item.Return();
            return Enqueued.Full;
        }
        if (!_queue.Writer.TryWrite(item))
        {
            Interlocked.Add(ref _queuedBytes, -item.Length);
            item.Return();
            return Enqueued.Closed;
        }
        return Enqueued.Queued;
    }

    /// <summary>Queues an element of the stream itself (a stream error), past the bound.</summary>
    public void EnqueueElement(Element element) => _queue.Writer.TryWrite(Serialize(element) with { Kind = OutboundKind.Nonza });

    /// <summary>Queues a serialized nonza (stream management), past the bound.</summary>
    public void EnqueueNonza(byte[] element) => _queue.Writer.TryWrite(new Outbound(OutboundKind.Nonza, element, element.Length, Pooled: false));

    public void EnqueueKeepalive() => _queue.Writer.TryWrite(new Outbound(OutboundKind.Keepalive, null, 0, Pooled: false));

    public void EnqueueStreamClose() => _queue.Writer.TryWrite(new Outbound(OutboundKind.StreamClose, null, 0, Pooled: false));

    /// <summary>Nothing more will be queued; the loop ends after writing what is there.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Writes until completed, then closes the sending side. Ends early, without throwing, when the peer is gone.</summary>
    public async Task RunAsync(Action onFlushed)
    {
        var queue = _queue.Reader;
        try
        {
            while (await queue.WaitToReadAsync().ConfigureAwait(false))
            {
                var stanzas = false;
                while (queue.TryRead(out var item))
                {
                    switch (item.Kind)
                    {
                        case OutboundKind.Stanza:
                            _transport.Write(item.Span);
                            Interlocked.Add(ref _queuedBytes, -item.Length);
                            item.Return();
                            stanzas = true;
                            break;
                        case OutboundKind.Nonza:
                            _transport.Write(item.Span);
                            item.Return();
                            break;
                        case OutboundKind.Keepalive:
                            _transport.WriteKeepalive();
                            break;
                        case OutboundKind.StreamClose:
                            _transport.WriteStreamClose();
                            break;
                    }
                }
                if (stanzas && _afterStanzas() is { IsEmpty: false } after)
                {
                    _transport.Write(after.Span);
                }
                var open = await _transport.FlushAsync().ConfigureAwait(false);
                onFlushed();
                if (!open)
                {
                    return;
                }
            }
            await _transport.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or ConnectionAbortedException)
        {
            _transport.Abort();
        }
        finally
        {
            while (queue.TryRead(out var left))
            {
                left.Return();
            }
        }
    }

    private Outbound Serialize(Element element)
    {
        var serializer = t_serializer ??= new ArrayBufferWriter<byte>(1024);
        serializer.ResetWrittenCount();
        element.WriteTo(serializer, _transport.DefaultNamespace);
        var length = serializer.WrittenCount;
        var bytes = ArrayPool<byte>.Shared.Rent(length);
        serializer.WrittenSpan.CopyTo(bytes);
        if (serializer.Capacity > MaxRetainedSerializerBytes)
        {
            // One huge stanza must not pin its buffer on this thread for good.
            t_serializer = null;
        }
        return new Outbound(OutboundKind.Stanza, bytes, length, Pooled: true);
    }

    public enum Enqueued
    {
        Queued,

        /// <summary>The client does not read what it is sent: the queue is at its bound.</summary>
        Full,

        /// <summary>The writer was completed; the stream is closing.</summary>
        Closed,
    }

    private const int MaxRetainedSerializerBytes = 64 * 1024;

    private enum OutboundKind
    {
        Stanza,
        Nonza,
        Keepalive,
        StreamClose,
    }

    private readonly record struct Outbound(OutboundKind Kind, byte[]? Bytes, int Length, bool Pooled)
    {
        public ReadOnlySpan<byte> Span => Bytes.AsSpan(0, Length);

        public void Return()
        {
            if (Pooled && Bytes is not null)
            {
                ArrayPool<byte>.Shared.Return(Bytes);
            }
        }
    }
}
