using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Modules.ClientState;

/// <summary>
/// One session's client state (XEP-0352). While the client says it is inactive, this is the session's send gate:
/// presence and chat states are held, each sender's latest replacing its earlier one; anything else is urgent and
/// goes at once, after what was held, so the order stays as sent. Active again, it flushes and steps aside.
/// </summary>
internal sealed class HeldStanzas : ISendGate
{
    private readonly Lock _lock = new();
    private List<Element>? _held;
    private bool _inactive;

    public void SetActive(ClientSession session, bool active)
    {
        lock (_lock)
        {
            _inactive = !active;
            if (active)
            {
                FlushHeld(session);
                session.Gate = null;
            }
            else
            {
                session.Gate = this;
            }
        }
    }

    public bool Send(ClientSession session, Element stanza)
    {
        lock (_lock)
        {
            // A sender that saw the gate just before the client went active again.
            if (!_inactive)
            {
                return session.Sink.Send(stanza);
            }
            if (CanWait(stanza))
            {
                Hold(stanza);
                return true;
            }
            FlushHeld(session);
            return session.Sink.Send(stanza);
        }
    }

    private void Hold(Element stanza)
    {
        _held ??= [];
        var from = stanza.GetAttribute("from");
        var index = _held.FindIndex(held => held.Name == stanza.Name && held.GetAttribute("from") == from);
        if (index >= 0)
        {
            _held.RemoveAt(index);
        }
        _held.Add(stanza);
    }

    private void FlushHeld(ClientSession session)
    {
        if (_held is null)
        {
            return;
        }
        foreach (var held in _held)
        {
            session.Sink.Send(held);
        }
        _held = null;
    }

    /// <summary>Presence updates and messages that carry only a chat state (XEP-0085) can wait.</summary>
    private static bool CanWait(Element stanza)
    {
        if (stanza.Name == "presence")
        {
            return stanza.GetAttribute("type") is null or "unavailable";
        }
        if (stanza.Name != "message")
        {
            return false;
        }
        var any = false;
        foreach (var child in stanza.Children())
        {
            if (child.Namespace != "http://jabber.org/protocol/chatstates" && child.Name != "thread")
            {
                return false;
            }
            any = true;
        }
        return any;
    }
}
