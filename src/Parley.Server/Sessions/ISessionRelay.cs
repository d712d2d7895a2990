using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Sessions;

/// <summary>
/// Serves a client on a node that does not serve its account (a cluster with Cluster:Redirect off): this node keeps
/// the client's connection, and the node that serves the account binds the resource and runs the session's side —
/// routing, presence, carbons, roster pushes — for all of the account's sessions wherever they are connected.
/// A session bound so has <see cref="ClientSession.Relay"/> set and is not in this node's <see cref="SessionRegistry"/>.
/// </summary>
public interface ISessionRelay
{
    /// <summary>Binds the session's resource at the node that serves its account; null when bound, else why not.</summary>
    ValueTask<StanzaError?> BindAsync(ClientSession session);

    /// <summary>Passes a stanza the client sent (its 'from' stamped) to the node that serves the account.</summary>
    ValueTask FromClientAsync(ClientSession session, Element stanza, Jid? to);

    /// <summary>The client's session ended here: the node that serves the account ends its side.</summary>
    ValueTask EndedAsync(ClientSession session);
}
