using Parley.Xml;

namespace Parley.Server.Sessions;

/// <summary>
/// Stream management (XEP-0198) of one session: how many stanzas each side has handled, and the
/// stanzas sent but not yet acknowledged, kept to be sent again after a resumption or to be
/// delivered elsewhere when the session ends. Counters wrap at 2^32 as the XEP says.
/// Callers hold <see cref="Sync"/> around every use.
/// </summary>
public sealed class StreamManagementState(string id, bool resumable)
{
    private readonly Queue<(Element Stanza, DateTimeOffset Arrived)> _unacked = new();

    public object Sync { get; } = new();
    public string Id { get; } = id;
    public bool Resumable { get; } = resumable;

    /// <summary>Stanzas received from the client (the 'h' the server reports).</summary>
    public uint Handled { get; private set; }

    /// <summary>Stanzas sent to the client.</summary>
    public uint Sent { get; private set; }

    /// <summary>Where every change is copied as it happens (a cluster node's group peer), or null.</summary>
    public IManagementReplica? Replica { get; set; }

    /// <summary>
    /// The state a session had on another node, taken over from its copy there: the client resumes it here with
    /// the same counters and gets the unacknowledged stanzas again.
    /// </summary>
    public static StreamManagementState Restore(string id, bool resumable, uint handled, uint sent, IEnumerable<(Element Stanza, DateTimeOffset Arrived)> unacked)
    {
        var state = new StreamManagementState(id, resumable) { Handled = handled, Sent = sent };
        foreach (var entry in unacked)
        {
            state._unacked.Enqueue(entry);
        }
        return state;
    }

    public void CountHandled()
    {
        Handled++;
        Replica?.Handled(Handled);
    }

    public int UnackedCount => _unacked.Count;

    /// <summary>When a hibernated session gives up waiting for its client (Environment.TickCount64), or 0 while connected.</summary>
    public long HibernatedUntil { get; set; }

    public void RecordSent(Element stanza)
    {
        var arrived = DateTimeOffset.UtcNow;
        _unacked.Enqueue((stanza, arrived));
        Sent++;
        Replica?.Queued(stanza, arrived);
    }

    /// <summary>
    /// The client has handled <paramref name="h"/> stanzas; false when that is more than were sent.
    /// A count below what was already acknowledged (a late ack, or a resume that reports less) changes
    /// nothing: those stanzas are gone and cannot be sent again (Prosody does the same).
    /// </summary>
    public bool Acknowledge(uint h)
    {
        var acknowledgedBefore = Sent - (uint)_unacked.Count;
        var newlyAcknowledged = h - acknowledgedBefore;
        if ((int)newlyAcknowledged < 0)
        {
            return true;
        }
        if (newlyAcknowledged > (uint)_unacked.Count)
        {
            return false;
        }
        for (var i = 0u; i < newlyAcknowledged; i++)
        {
            _unacked.Dequeue();
        }
        if (newlyAcknowledged > 0)
        {
            Replica?.Acknowledged(h);
        }
        return true;
    }

    /// <summary>The stanzas still unacknowledged, oldest first (they stay queued).</summary>
    public Element[] Unacked() => [.. _unacked.Select(entry => entry.Stanza)];

    /// <summary>The stanzas still unacknowledged with when each arrived, oldest first (they stay queued).</summary>
    public (Element Stanza, DateTimeOffset Arrived)[] UnackedWithArrival() => [.. _unacked];

    /// <summary>Removes and returns the unacknowledged stanzas with when each arrived, when the session ends.</summary>
    public (Element Stanza, DateTimeOffset Arrived)[] TakeUnacked()
    {
        var stanzas = _unacked.ToArray();
        _unacked.Clear();
        return stanzas;
    }
}
