using Parley.Xml;

namespace Parley.Server.Sessions;

/// <summary>
/// Keeps a copy of each session's stream-management state (XEP-0198) away from this node as it changes, so that
/// the session survives the node: in a cluster, on the node's redundancy-group peer. A single node keeps none.
/// </summary>
public interface ISessionReplication
{
    /// <summary>The address ("host:port") a client is told to resume at (&lt;enabled location/&gt;), or null to say nothing.</summary>
    string? Location { get; }

    /// <summary>
    /// Management was enabled on <paramref name="session"/>: where its changes are to be copied, or null when they are
    /// not. Called under the state's lock, before anything is counted.
    /// </summary>
    IManagementReplica? Start(ClientSession session, StreamManagementState management);

    /// <summary>Completes once every change recorded before the call is held by the copy (or cannot be).</summary>
    ValueTask ReplicatedAsync();

    /// <summary>
    /// A client asks to resume stream <paramref name="streamId"/>, which is not here: if this node holds a copy of it from
    /// a node that has died but is not yet known to be down, completes once it has been taken over (or after a bounded wait).
    /// </summary>
    ValueTask TakenOverAsync(string streamId);
}

/// <summary>The copy of one session's stream-management state; each call is made under the state's lock, in order.</summary>
public interface IManagementReplica
{
    void Queued(Element stanza, DateTimeOffset arrived);

    /// <summary>The client has acknowledged the first <paramref name="h"/> stanzas sent to it.</summary>
    void Acknowledged(uint h);

    /// <summary>The server has handled <paramref name="handled"/> stanzas from the client.</summary>
    void Handled(uint handled);

    /// <summary>A module's state of the session changed (<see cref="ClientSession.Keep"/>); null when it has none now.</summary>
    void Kept(string name, Element? state);

    /// <summary>The session ended here and what it held was delivered elsewhere: the copy is no longer needed.</summary>
    void Ended();
}

/// <summary>A single node: nothing is copied anywhere.</summary>
public sealed class NoReplication : ISessionReplication
{
    public string? Location => null;

    public IManagementReplica? Start(ClientSession session, StreamManagementState management) => null;

    public ValueTask ReplicatedAsync() => ValueTask.CompletedTask;

    public ValueTask TakenOverAsync(string streamId) => ValueTask.CompletedTask;
}
