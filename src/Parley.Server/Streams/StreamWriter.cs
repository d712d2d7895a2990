using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Streams;

/// <summary>
/// The one writer of a bound stream: stanzas are queued by any thread and written in batches, one batch at a time. A
/// stanza is serialized when it is queued, so the queue knows its size in bytes and stays under a bound: a client that
/// does not read costs at most that much memory (DESIGN.md §6). Nothing waits while the queue is empty: a batch is
/// started on the thread pool by the item that finds the writer idle, so an idle stream holds no loop, no pending read
/// of a channel, only an empty queue (docs/benchmarks.md, "Memory per idle session, object by object").
/// </summary>
public sealed class StreamWriter : IThreadPoolWorkItem
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_serializer;

    private readonly IStreamTransport _transport;
    private readonly long _maxQueuedBytes;
    private readonly Func<ReadOnlyMemory<byte>> _afterStanzas;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The queue is its own lock; it also guards the four flags.
    private readonly Queue<Outbound> _queue = new();
    private bool _started;
    private bool _completed;
    private bool _writing;
    private bool _stopped;

    private long _queuedBytes;
    private Action? _onFlushed;
    private ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter _pendingFlush;
    private Action? _afterPendingFlush;

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
        if (!TryEnqueue(item))
        {
            Interlocked.Add(ref _queuedBytes, -item.Length);
            item.Return();
            return Enqueued.Closed;
        }
        return Enqueued.Queued;
    }

    /// <summary>Queues an element of the stream itself (a stream error), past the bound.</summary>
    public void EnqueueElement(Element element)
    {
        var item = Serialize(element) with { Kind = OutboundKind.Nonza };
        if (!TryEnqueue(item))
        {
            item.Return();
        }
    }

    /// <summary>Queues a serialized nonza (stream management), past the bound.</summary>
    public void EnqueueNonza(byte[] element) => TryEnqueue(new Outbound(OutboundKind.Nonza, element, element.Length, Pooled: false));

    /// <summary>Queues a copy of a nonza formatted on the caller's stack (an &lt;a h/&gt;), in a pooled buffer.</summary>
    public void EnqueueNonza(ReadOnlySpan<byte> element)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(element.Length);
        element.CopyTo(bytes);
        var item = new Outbound(OutboundKind.Nonza, bytes, element.Length, Pooled: true);
        if (!TryEnqueue(item))
        {
            item.Return();
        }
    }

    public void EnqueueKeepalive() => TryEnqueue(new Outbound(OutboundKind.Keepalive, null, 0, Pooled: false));

    public void EnqueueStreamClose() => TryEnqueue(new Outbound(OutboundKind.StreamClose, null, 0, Pooled: false));

    /// <summary>Nothing more will be queued; the writer stops after writing what is there and closing the sending side.</summary>
    public void Complete()
    {
        bool start;
        lock (_queue)
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            start = StartsBatch();
        }
        if (start)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>
    /// Starts writing (what is queued already is written now, on this thread). The task ends once the writer was
    /// completed and wrote everything, or, without throwing, when the peer is gone.
    /// </summary>
    public Task RunAsync(Action onFlushed)
    {
        bool start;
        lock (_queue)
        {
            _onFlushed = onFlushed;
            _started = true;
            start = (_queue.Count > 0 || _completed) && StartsBatch();
        }
        if (start)
        {
            WriteBatches();
        }
        return _done.Task;
    }

    private bool TryEnqueue(Outbound item)
    {
        bool start;
        lock (_queue)
        {
            if (_completed)
            {
                return false;
            }
            _queue.Enqueue(item);
            start = StartsBatch();
        }
        if (start)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        return true;
    }

    /// <summary>Under the lock: whether the caller is to start writing (the writer runs, is idle and not stopped).</summary>
    private bool StartsBatch()
    {
        if (!_started || _writing || _stopped)
        {
            return false;
        }
        _writing = true;
        return true;
    }

    void IThreadPoolWorkItem.Execute() => WriteBatches();

    /// <summary>Writes and flushes batches until the queue is empty; only one thread at a time runs this.</summary>
    private void WriteBatches()
    {
        try
        {
            while (true)
            {
                var stanzas = false;
                var written = 0;
                var batchBytes = 0;
                var close = false;
                while (batchBytes < MaxBatchBytes && TryDequeue(out var item, endIfEmpty: written == 0, out close))
                {
                    written++;
                    batchBytes += item.Length;
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
                if (written == 0)
                {
                    if (close)
                    {
                        _ = CloseOutputAsync();
                    }
                    return;
                }
                if (stanzas && _afterStanzas() is { IsEmpty: false } after)
                {
                    _transport.Write(after.Span);
                }
                var flush = _transport.FlushAsync().ConfigureAwait(false).GetAwaiter();
                if (!flush.IsCompleted)
                {
                    _pendingFlush = flush;
                    flush.UnsafeOnCompleted(_afterPendingFlush ??= AfterPendingFlush);
                    return;
                }
                if (!Flushed(flush.GetResult()))
                {
                    return;
                }
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    private void AfterPendingFlush()
    {
        var flush = _pendingFlush;
        _pendingFlush = default;
        try
        {
            if (!Flushed(flush.GetResult()))
            {
                return;
            }
        }
        catch (Exception e)
        {
            Fail(e);
            return;
        }
        WriteBatches();
    }

    private bool Flushed(bool open)
    {
        _onFlushed!();
        if (!open)
        {
            Stop();
        }
        return open;
    }

    /// <summary>
    /// The next item. When there is none after a flush (<paramref name="endIfEmpty"/>), the writing ends here under the
    /// lock, so that the next item queued starts it again; or, once completed, the sending side is to be closed.
    /// </summary>
    private bool TryDequeue(out Outbound item, bool endIfEmpty, out bool close)
    {
        close = false;
        lock (_queue)
        {
            if (_queue.TryDequeue(out item))
            {
                return true;
            }
            if (!endIfEmpty)
            {
                return false;
            }
            if (_queue.EnsureCapacity(0) > MaxIdleQueueCapacity)
            {
                // A burst must not leave its large array behind on an idle stream.
                _queue.TrimExcess();
            }
            if (_completed)
            {
                close = true;
            }
            else
            {
                _writing = false;
            }
            return false;
        }
    }

    private async Task CloseOutputAsync()
    {
        try
        {
            await _transport.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e);
            return;
        }
        Stop();
    }

    /// <summary>
    /// Writing failed: the connection is dropped. A peer that went away ends the writer quietly; anything else is a
    /// fault, which the task of <see cref="RunAsync"/> carries to the stream's end.
    /// </summary>
    private void Fail(Exception e)
    {
        _transport.Abort();
        Stop(IsPeerGone(e) ? null : e);
    }

    /// <summary>
    /// The writer writes no more: what is queued is released, and the task of <see cref="RunAsync"/> ends. What is
    /// queued later (the stream is not closing yet) stays queued, as nothing will write it.
    /// </summary>
    private void Stop(Exception? fault = null)
    {
        lock (_queue)
        {
            _stopped = true;
            while (_queue.TryDequeue(out var left))
            {
                left.Return();
            }
        }
        if (fault is null)
        {
            _done.TrySetResult();
        }
        else
        {
            _done.TrySetException(fault);
        }
    }

    private static bool IsPeerGone(Exception e) =>
        e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or ConnectionAbortedException;

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

    /// <summary>
    /// What one batch hands to the transport before it flushes. A transport buffers what it is given until its flush
    /// sends it, outside the queue's bound: without a cap, a batch that found megabytes queued for a client that stopped
    /// reading moved them all there, and the bound never cut the client off.
    /// </summary>
    private const int MaxBatchBytes = 64 * 1024;

    private const int MaxIdleQueueCapacity = 16;

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
