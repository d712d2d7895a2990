using Parley.Protocol;
using Parley.Xml;

namespace Parley.Cluster.Bus;

/// <summary>A stanza for another node, held while the bus is down, with when it was held.</summary>
internal readonly record struct HeldStanza(string Node, Element Stanza, Jid From, Jid To, long HeldAt);

/// <summary>
/// While nats-server cannot be reached, stanzas for other nodes wait here, in the order they came, to be sent when it
/// is back: at most <c>Cluster:BusBufferStanzas</c> of them, each at most <c>Cluster:BusBufferSeconds</c>. A stanza that
/// finds the buffer full, or waits longer, is answered with &lt;remote-server-timeout/&gt;. While anything is held or
/// being sent, new stanzas queue behind it, so that none overtakes one sent before it.
/// </summary>
internal sealed class BusBuffer(int capacity, TimeSpan limit, TimeProvider time)
{
    private readonly Lock _sync = new();
    private readonly Queue<HeldStanza> _held = new();
    private bool _sending;

    /// <summary>Stanzas held now.</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Whether a stanza must queue behind others rather than go straight out.</summary>
    public bool Holding
    {
        get
        {
            lock (_sync)
            {
                return _sending || _held.Count > 0;
            }
        }
    }

    /// <summary>Holds a stanza; false when the buffer is full.</summary>
    public bool TryHold(string node, Element stanza, Jid from, Jid to)
    {
        lock (_sync)
        {
            if (_held.Count >= capacity)
            {
                return false;
            }
            _held.Enqueue(new(node, stanza, from, to, time.GetTimestamp()));
            return true;
        }
    }

    /// <summary>
    /// Called by one loop only. Answers the held stanzas that waited too long (<paramref name="expire"/>) and, while <paramref name="connected"/>
    /// holds, sends the rest in order (<paramref name="send"/>); one that <paramref name="send"/> could not send yet (false) stays
    /// first, to be tried at the next call.
    /// </summary>
    public async Task FlushAsync(Func<bool> connected, Func<HeldStanza, ValueTask<bool>> send, Func<HeldStanza, ValueTask> expire)
    {
        while (true)
        {
            HeldStanza next;
            bool expired;
            lock (_sync)
            {
                if (!_held.TryPeek(out next))
                {
                    return;
                }
                expired = time.GetElapsedTime(next.HeldAt) > limit;
                if (!expired && !connected())
                {
                    return;
                }
                _sending = true;
            }
            var done = true;
            try
            {
                if (expired)
                {
                    await expire(next).ConfigureAwait(false);
                }
                else
                {
                    done = await send(next).ConfigureAwait(false);
                }
            }
            finally
            {
                lock (_sync)
                {
                    if (done)
                    {
                        _held.Dequeue();
                    }
                    _sending = false;
                }
            }
            if (!done)
            {
                return;
            }
        }
    }
}
