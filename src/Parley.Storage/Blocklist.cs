namespace Parley.Storage;

/// <summary>The JIDs a user blocks (XEP-0191): bare, full or domain JIDs, as prepared strings.</summary>
public interface IBlocklistStore
{
    /// <summary>The blocked JIDs, ordered.</summary>
    Task<IReadOnlyList<string>> GetAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Adds JIDs (already blocked ones are ignored); returns those that were newly added.</summary>
    Task<IReadOnlyList<string>> AddAsync(string user, IReadOnlyCollection<string> jids, CancellationToken cancellationToken = default);

    /// <summary>Removes JIDs; returns those that were blocked and are not any more.</summary>
    Task<IReadOnlyList<string>> RemoveAsync(string user, IReadOnlyCollection<string> jids, CancellationToken cancellationToken = default);

    /// <summary>Unblocks everything; returns what was blocked.</summary>
    Task<IReadOnlyList<string>> ClearAsync(string user, CancellationToken cancellationToken = default);
}
