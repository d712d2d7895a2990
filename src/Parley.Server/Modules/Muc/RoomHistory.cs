using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>A message of the discussion history: as occupants got it, and the copy with its delay stamp sent on join.</summary>
public sealed class HistoryEntry(Element delayed, DateTimeOffset stamp)
{
    private int _chars = -1;

    public Element Delayed { get; } = delayed;
    public DateTimeOffset Stamp { get; } = stamp;

    /// <summary>The characters of the complete stanza, as maxchars counts them; measured only when a client asks.</summary>
    public int Chars => _chars >= 0 ? _chars : _chars = Delayed.ToXml(Ns.Client).Length;
}

/// <summary>The last messages of a room (XEP-0045 §7.2.14), bounded; the archive keeps everything.</summary>
public sealed class RoomHistory(int capacity)
{
    private readonly Queue<HistoryEntry> _entries = new();

    public int Count => _entries.Count;

    public void Add(Element message, Jid room, DateTimeOffset stamp)
    {
        if (capacity == 0)
        {
            return;
        }
        var delayed = new Element(message.Name, message.Namespace);
        foreach (var attribute in message.Attributes)
        {
            delayed.SetAttribute(attribute.Name, attribute.Value);
        }
        foreach (var node in message.Nodes)
        {
            // Elements are read-only once routed, so the copy shares the message's children.
            delayed.Add(node);
        }
        delayed.AddChild("delay", Ns.Delay)
            .SetAttribute("from", room.ToString())
            .SetAttribute("stamp", XmppDateTime.Format(stamp));
        _entries.Enqueue(new HistoryEntry(delayed, stamp));
        while (_entries.Count > capacity)
        {
            _entries.Dequeue();
        }
    }

    /// <summary>Drops the message the room archived under <paramref name="stanzaId"/> (a moderated one); false when it is not here.</summary>
    public bool Remove(string stanzaId)
    {
        var removed = false;
        // Moderation is rare and the history short: rebuilding the queue is simpler than a structure that removes from the middle.
        for (var remaining = _entries.Count; remaining > 0; remaining--)
        {
            var entry = _entries.Dequeue();
            if (entry.Delayed.Child("stanza-id", Ns.StanzaId)?.GetAttribute("id") == stanzaId)
            {
                removed = true;
                continue;
            }
            _entries.Enqueue(entry);
        }
        return removed;
    }

    /// <summary>
    /// The entries a joining occupant gets, oldest first: at most <paramref name="maxStanzas"/>, none older than
    /// <paramref name="since"/>, and no more than <paramref name="maxChars"/> characters in all (null = no such limit).
    /// </summary>
    public List<HistoryEntry> Select(int maxStanzas, int? maxChars, DateTimeOffset? since)
    {
        var selected = new List<HistoryEntry>();
        var chars = 0;
        // Newest first, so the limits keep the most recent messages.
        foreach (var entry in _entries.Reverse())
        {
            if (selected.Count >= maxStanzas || (since is { } s && entry.Stamp < s))
            {
                break;
            }
            if (maxChars is { } max)
            {
                chars += entry.Chars;
                if (chars > max)
                {
                    break;
                }
            }
            selected.Add(entry);
        }
        selected.Reverse();
        return selected;
    }
}
