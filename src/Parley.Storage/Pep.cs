namespace Parley.Storage;

/// <summary>A user's personal eventing node (XEP-0163) and its configuration, as the server serialized it.</summary>
public sealed record PepNode(string Node, string ConfigXml);

/// <summary>One published item of a node: its id, when it was (last) published, and the item element as XML.</summary>
public sealed record PepItem(string Id, DateTimeOffset Published, string Xml);

/// <summary>
/// Personal eventing nodes and their items, per user (prepared bare JID). The store keeps configurations
/// and items as the caller serialized them; the rules (access, item limits) are the server's.
/// </summary>
public interface IPepStore
{
    /// <summary>The user's nodes, ordered by name.</summary>
    Task<IReadOnlyList<PepNode>> GetNodesAsync(string user, CancellationToken cancellationToken = default);

    Task<PepNode?> GetNodeAsync(string user, string node, CancellationToken cancellationToken = default);

    /// <returns>False when the user already has a node of that name (it is left unchanged).</returns>
    Task<bool> CreateNodeAsync(string user, string node, string configXml, CancellationToken cancellationToken = default);

    /// <returns>False when there is no such node.</returns>
    Task<bool> SetConfigAsync(string user, string node, string configXml, CancellationToken cancellationToken = default);

    /// <summary>Deletes the node with all its items; false when there was no such node.</summary>
    Task<bool> DeleteNodeAsync(string user, string node, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores the item as the node's newest (an item with the same id is replaced), then keeps only the
    /// <paramref name="maxItems"/> newest items. False when there is no such node.
    /// </summary>
    Task<bool> PublishAsync(string user, string node, PepItem item, int maxItems, CancellationToken cancellationToken = default);

    /// <summary>The node's newest <paramref name="max"/> items, newest first; empty when none or no such node.</summary>
    Task<IReadOnlyList<PepItem>> GetItemsAsync(string user, string node, int max, CancellationToken cancellationToken = default);

    /// <summary>The items with these ids that the node has, newest first.</summary>
    Task<IReadOnlyList<PepItem>> GetItemsAsync(string user, string node, IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default);

    /// <returns>False when the node has no item with that id.</returns>
    Task<bool> RetractAsync(string user, string node, string itemId, CancellationToken cancellationToken = default);

    /// <summary>Keeps only the node's <paramref name="maxItems"/> newest items (after its limit was lowered); returns how many went.</summary>
    Task<int> TrimAsync(string user, string node, int maxItems, CancellationToken cancellationToken = default);
}
