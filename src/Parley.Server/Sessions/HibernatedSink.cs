using Parley.Xml;

namespace Parley.Server.Sessions;

/// <summary>
/// Where a session's stanzas go while its connection is gone and the client may still resume
/// (XEP-0198): into the unacknowledged queue, to be sent after the resumption or delivered
/// elsewhere if none comes. Bounded like a connection's send queue.
/// </summary>
public sealed class HibernatedSink(ClientSession session, int maxQueued, SessionCloser closer) : IStanzaSink
{
    public bool Send(Element stanza)
    {
        var management = session.Management!;
        IStanzaSink movedTo;
        lock (management.Sync)
        {
            // A resumption moves the session under this lock; after it, the new connection takes the stanza.
            movedTo = session.Sink;
            if (ReferenceEquals(movedTo, this))
            {
                if (management.UnackedCount < maxQueued)
                {
                    management.RecordSent(stanza);
                    return true;
                }
                // The client stayed away while too much arrived: end the session, its queue goes elsewhere.
                closer.BeginEnd(session);
                return false;
            }
        }
        return movedTo.Send(stanza);
    }

    public void CloseWithError(string condition, string? text = null, string? conditionContent = null) => closer.BeginEnd(session);
}
