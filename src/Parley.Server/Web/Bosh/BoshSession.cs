using System.Buffers;
using System.Text;
using System.Threading.Channels;
using Parley.Protocol;
using Parley.Server.Streams;
using Parley.Xml;

namespace Parley.Server.Web.Bosh;

/// <summary>
/// One BOSH session (XEP-0124, XMPP over BOSH as XEP-0206): a client stream whose input arrives as the children of
/// HTTP request bodies and whose output waits for the next request the client holds open. It is one more
/// <see cref="IStreamTransport"/> under the same negotiator and <see cref="ClientStream"/> as TCP and WebSocket.
/// </summary>
public sealed class BoshSession : IStreamTransport
{
    /// <summary>The most requests the node holds at once; a client may ask for fewer (hold='0': answer at once).</summary>
    public const int MaxHold = 1;

    /// <summary>Answers kept for a client that acknowledges them but has not yet (XEP-0124 §9.2): a bound on the cache.</summary>
    private const int MaxUnacknowledged = 16;

    private readonly Channel<XmlStreamEvent> _input = Channel.CreateUnbounded<XmlStreamEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _sync = new();
    private readonly ArrayBufferWriter<byte> _unflushed = new();
    private readonly List<byte[]> _ready = [];
    private readonly Queue<TaskCompletionSource<string>> _held = new();
    private readonly Dictionary<long, BoshAnswer> _answered = [];
    private readonly long _maxQueuedBytes;
    private long _readyBytes;
    private bool _terminating;

    private readonly long _firstRid;
    private long _lastAnswered;

    public BoshSession(string sid, long firstRid, string remoteAddress, bool secure, int wait, int hold, bool acknowledges, long maxQueuedBytes)
    {
        Sid = sid;
        LastRid = firstRid;
        _firstRid = firstRid;
        _lastAnswered = firstRid - 1;
        Hold = hold;
        Acknowledges = acknowledges;
        RemoteAddress = remoteAddress;
        IsSecure = secure;
        Wait = wait;
        _maxQueuedBytes = maxQueuedBytes;
    }

    public string Sid { get; }
    public int Wait { get; }

    /// <summary>How many requests the node keeps waiting at once: the client's hold, never above <see cref="MaxHold"/>.</summary>
    public int Hold { get; }

    /// <summary>How many requests the client may have outstanding (XEP-0124 'requests').</summary>
    public int Requests => Hold + 1;

    /// <summary>The client said it uses acknowledgements (ack='1' on session creation, XEP-0124 §9).</summary>
    public bool Acknowledges { get; }

    /// <summary>The highest request id taken.</summary>
    public long LastRid { get; private set; }

    /// <summary>The stream id of the negotiator's latest stream header (authid in the session creation response).</summary>
    public string? StreamId { get; private set; }

    /// <summary>Since when no request is held (Environment.TickCount64), for the inactivity limit; null while one is.</summary>
    public long? IdleSince
    {
        get
        {
            lock (_sync)
            {
                return _held.Count > 0 ? null : _idleSince;
            }
        }
    }

    private long _idleSince = Environment.TickCount64;

    public string ConnectionId => "bosh-" + Sid;
    public string RemoteAddress { get; }
    public string Description => IsSecure ? "BOSH, secure" : "BOSH over plain HTTP";
    public bool IsSecure { get; }
    public bool CanStartTls => false;
    public string? StreamNamespace => Ns.Client;
    public string? DefaultNamespace => null;
    public long LastReceived { get; private set; } = Environment.TickCount64;
    public IReadOnlyList<string> ChannelBindingTypes => [];
    public CancellationToken Closed => _closed.Token;

    public byte[]? ChannelBinding(string type) => null;

    public ValueTask OpenAsync() => ValueTask.CompletedTask;

    public async Task ReadAsync(IStreamHandler handler)
    {
        await foreach (var ev in _input.Reader.ReadAllAsync(Closed).ConfigureAwait(false))
        {
            if (await handler.HandleAsync(ev).ConfigureAwait(false) == StreamAction.Stop)
            {
                return;
            }
        }
    }

    private TaskCompletionSource _ridAdvanced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Takes request <paramref name="rid"/>, in order, with its payload for the stream.</summary>
    public void Accept(long rid, IEnumerable<XmlStreamEvent> events)
    {
        LastReceived = Environment.TickCount64;
        foreach (var ev in events)
        {
            _input.Writer.TryWrite(ev);
        }
        TaskCompletionSource advanced;
        lock (_sync)
        {
            LastRid = rid;
            advanced = _ridAdvanced;
            _ridAdvanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        advanced.TrySetResult();
    }

    /// <summary>A request that came before its predecessor waits for it (XEP-0124 §14.2); false if it did not come in time.</summary>
    public async Task<bool> WaitForPredecessorAsync(long rid, CancellationToken requestAborted)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, Closed);
        deadline.CancelAfter(TimeSpan.FromSeconds(Wait));
        while (true)
        {
            Task advanced;
            lock (_sync)
            {
                if (LastRid >= rid - 1)
                {
                    return true;
                }
                advanced = _ridAdvanced.Task;
            }
            try
            {
                await advanced.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    /// <summary>The client asked to pause (XEP-0124 §10): the session may go without requests until then.</summary>
    public void Pause(int seconds)
    {
        lock (_sync)
        {
            _idleSince = Environment.TickCount64 + seconds * 1000L;
            while (_held.Count > 0)
            {
                _held.Dequeue().TrySetResult("");
            }
        }
    }

    /// <summary>The answer already given to request <paramref name="rid"/>, while it is remembered (XEP-0124 §14.3).</summary>
    public bool TryGetAnswered(long rid, out BoshAnswer answer)
    {
        lock (_sync)
        {
            return _answered.TryGetValue(rid, out answer!);
        }
    }

    /// <summary>
    /// The client's acknowledgement (XEP-0124 §9.2): it received every answer up to <paramref name="ack"/>, which the
    /// node forgets. If it missed one the node already sent, that answer's rid and its age in milliseconds, to report.
    /// </summary>
    public (long Rid, long AgeMs)? Acknowledge(long ack)
    {
        lock (_sync)
        {
            foreach (var rid in _answered.Keys.Where(r => r <= ack).ToList())
            {
                _answered.Remove(rid);
            }
            return ack < _lastAnswered && _answered.TryGetValue(ack + 1, out var missed)
                ? (ack + 1, Environment.TickCount64 - missed.SentAt)
                : null;
        }
    }

    /// <summary>
    /// Holds a request until output is ready or <see cref="Wait"/> passes, and returns what its body carries. A request
    /// beyond <see cref="Hold"/> releases the oldest held one with an empty body (XEP-0124 §10). With hold='0' or
    /// <paramref name="atOnce"/>, it is answered with what is ready now; the session creation request still waits for
    /// the stream features it carries (XEP-0206 §6).
    /// </summary>
    public async Task<BoshAnswer> HoldAsync(long rid, bool atOnce, CancellationToken requestAborted)
    {
        TaskCompletionSource<string> answer;
        lock (_sync)
        {
            if (_ready.Count > 0 || _terminating || ((atOnce || Hold == 0) && rid != _firstRid))
            {
                return Remember(rid, TakeReady());
            }
            while (_held.Count >= Math.Max(Hold, 1))
            {
                _held.Dequeue().TrySetResult("");
            }
            answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _held.Enqueue(answer);
        }
        string payload;
        try
        {
            payload = await answer.Task.WaitAsync(TimeSpan.FromSeconds(Wait), requestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            payload = "";
        }
        lock (_sync)
        {
            if (!answer.Task.IsCompleted)
            {
                // Timed out: take it out of the queue, so that output goes to a request still waiting.
                var others = _held.Where(h => h != answer).ToList();
                _held.Clear();
                others.ForEach(_held.Enqueue);
                answer.TrySetResult("");
            }
            if (_held.Count == 0)
            {
                _idleSince = Math.Max(_idleSince, Environment.TickCount64);
            }
            if (payload.Length == 0 && (_ready.Count > 0 || _terminating))
            {
                payload = TakeReady();
            }
            return Remember(rid, payload);
        }
    }

    /// <summary>
    /// Keeps the answer for a client that sends the request again (XEP-0124 §14.3): the last <see cref="Requests"/>
    /// answers, or for a client that acknowledges, those it has not acknowledged yet.
    /// </summary>
    private BoshAnswer Remember(long rid, string payload)
    {
        var answer = new BoshAnswer(payload, _terminating, Environment.TickCount64);
        _answered[rid] = answer;
        _lastAnswered = Math.Max(_lastAnswered, rid);
        var kept = Acknowledges ? MaxUnacknowledged : Requests;
        foreach (var old in _answered.Keys.Where(r => r <= rid - kept).ToList())
        {
            _answered.Remove(old);
        }
        return answer;
    }

    private string TakeReady()
    {
        var payload = new StringBuilder();
        foreach (var element in _ready)
        {
            payload.Append(Encoding.UTF8.GetString(element));
        }
        _ready.Clear();
        _readyBytes = 0;
        return payload.ToString();
    }

    public void WriteStreamHeader(string id, string from) => StreamId = id;

    public void Write(Element element) => element.WriteTo(_unflushed, null);

    public void Write(ReadOnlySpan<byte> element) => _unflushed.Write(element);

    public void WriteStreamClose()
    {
        lock (_sync)
        {
            _terminating = true;
        }
    }

    public void WriteKeepalive()
    {
        // Long polling keeps the session alive: every held request is answered within Wait.
    }

    /// <summary>Hands what was written to the held request, or keeps it for the next one. False once past the queue's bound.</summary>
    public ValueTask<bool> FlushAsync()
    {
        lock (_sync)
        {
            if (_unflushed.WrittenCount > 0)
            {
                _ready.Add(_unflushed.WrittenSpan.ToArray());
                _readyBytes += _unflushed.WrittenCount;
                _unflushed.ResetWrittenCount();
            }
            if (_held.Count > 0 && (_ready.Count > 0 || _terminating))
            {
                _held.Dequeue().TrySetResult(TakeReady());
            }
            return ValueTask.FromResult(!_closed.IsCancellationRequested && _readyBytes <= _maxQueuedBytes);
        }
    }

    public async ValueTask CloseOutputAsync()
    {
        WriteStreamClose();
        await FlushAsync().ConfigureAwait(false);
    }

    public void Abort()
    {
        lock (_sync)
        {
            _terminating = true;
            while (_held.Count > 0)
            {
                _held.Dequeue().TrySetResult(TakeReady());
            }
        }
        _input.Writer.TryComplete();
        _closed.Cancel();
    }

    public ValueTask DisposeAsync()
    {
        Abort();
        return ValueTask.CompletedTask;
    }
}

/// <summary>What the node answered to one request, and when (Environment.TickCount64).</summary>
public sealed record BoshAnswer(string Payload, bool Terminate, long SentAt);
