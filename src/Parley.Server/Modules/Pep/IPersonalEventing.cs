using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Modules.Pep;

/// <summary>The owner published <paramref name="payload"/> as item <paramref name="itemId"/>; called after the events went out.</summary>
public delegate ValueTask PepItemPublished(Jid owner, string node, string itemId, Element payload);

/// <summary>The owner retracted item <paramref name="itemId"/>; called after the events went out.</summary>
public delegate ValueTask PepItemRetracted(Jid owner, string node, string itemId);

/// <summary>The owner deleted or purged a node: none of its items are left.</summary>
public delegate ValueTask PepNodeEmptied(Jid owner, string node);

/// <summary>One item of a node: its id and its payload.</summary>
public sealed record PepPayload(string Id, Element Payload);

/// <summary>
/// What other modules may do with an account's personal eventing nodes (XEP-0163), offered by the module that
/// keeps them: hear of what clients publish, retract or empty, read a node's items, and publish or retract on the
/// owner's behalf with the events a client's change sends. How nodes and items are kept is the module's own business.
/// </summary>
public interface IPersonalEventing
{
    /// <summary>
    /// Lets another module react to what clients publish (bookmarks conversion). Add observers while modules
    /// register, before any stanza flows. <see cref="PublishInternalAsync"/> does not call them, so a module
    /// that mirrors a publish cannot set off its own reaction again.
    /// </summary>
    void OnPublished(PepItemPublished observer);

    /// <summary>As <see cref="OnPublished"/>, for retractions; <see cref="RetractInternalAsync"/> does not call them.</summary>
    void OnRetracted(PepItemRetracted observer);

    /// <summary>As <see cref="OnPublished"/>, for a node the owner deleted or purged.</summary>
    void OnEmptied(PepNodeEmptied observer);

    /// <summary>The node's items, newest first, as many as the server keeps per node; none when there is no such node.</summary>
    ValueTask<IReadOnlyList<PepPayload>> GetItemsAsync(Jid owner, string node);

    /// <summary>
    /// Publishes on the owner's behalf, with the same storage and events as a client's publish. A node that
    /// does not exist is created with <paramref name="configIfCreated"/>; an existing one keeps its configuration.
    /// </summary>
    ValueTask PublishInternalAsync(Jid owner, string node, string itemId, Element payload, PepNodeConfig configIfCreated);

    /// <summary>Retracts on the owner's behalf, with the events a client's retraction sends; false when there was no such item.</summary>
    ValueTask<bool> RetractInternalAsync(Jid owner, string node, string itemId);
}
