namespace Parley.Storage;

/// <summary>The subscription states of RFC 6121 §2.1.2.5, as the 'subscription' attribute names them.</summary>
public enum Subscription
{
    None,
    To,
    From,
    Both,
}

/// <summary>
/// One contact in a user's roster (RFC 6121 §2.1): what the client sees (name, groups, subscription,
/// ask) plus the server's pre-approval flag (§3.4).
/// </summary>
public sealed record RosterItem(
    string Contact,
    string? Name,
    Subscription Subscription,
    bool AskSubscribe,
    bool PreApproved,
    IReadOnlyList<string> Groups);

/// <summary>A user's whole roster and its version (XEP-0237); the version grows with every change.</summary>
public sealed record Roster(long Version, IReadOnlyList<RosterItem> Items);

/// <summary>A subscription request the user has not answered yet (RFC 6121 §3.1.3), kept to deliver again at login.</summary>
public sealed record PendingSubscription(string Contact, string StanzaXml);

/// <summary>Rosters and pending subscription requests. User and contact JIDs are prepared bare JIDs.</summary>
public interface IRosterStore
{
    /// <summary>The roster (items ordered by contact); an empty roster with version 0 when the user has none.</summary>
    Task<Roster> GetAsync(string user, CancellationToken cancellationToken = default);

    Task<RosterItem?> GetItemAsync(string user, string contact, CancellationToken cancellationToken = default);

    /// <summary>Adds or replaces the item for item.Contact; returns the roster's new version.</summary>
    Task<long> SetItemAsync(string user, RosterItem item, CancellationToken cancellationToken = default);

    /// <summary>Removes the item; returns the new version, or null when there was no such item.</summary>
    Task<long?> RemoveItemAsync(string user, string contact, CancellationToken cancellationToken = default);

    Task<int> CountAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Stores (or replaces) the user's pending request from contact.</summary>
    Task SetPendingAsync(string user, string contact, string stanzaXml, CancellationToken cancellationToken = default);

    /// <returns>False when there was no pending request from contact.</returns>
    Task<bool> RemovePendingAsync(string user, string contact, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<PendingSubscription>> GetPendingAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Bulk set of items for administrators (CLI import): batched transactions, each user's version bumped once per batch. Returns items written.</summary>
    Task<int> ImportAsync(IAsyncEnumerable<(string User, RosterItem Item)> items, CancellationToken cancellationToken = default);

    /// <summary>Every item of every user (of one domain, or all), ordered by user then contact, for export.</summary>
    IAsyncEnumerable<(string User, RosterItem Item)> ExportAsync(string? domain, CancellationToken cancellationToken = default);
}
