namespace Parley.Storage;

/// <summary>A message stored for a user who was offline (XEP-0160), with when it arrived.</summary>
public sealed record OfflineMessage(long Id, DateTimeOffset Stamp, string Xml);

/// <summary>Messages waiting for their recipient's next login.</summary>
public interface IOfflineStore
{
    /// <summary>Stores a message unless the user already has <paramref name="limit"/> waiting; false when full.</summary>
    Task<bool> StoreAsync(string user, string xml, DateTimeOffset stamp, int limit, CancellationToken cancellationToken = default);

    /// <summary>The waiting messages, oldest first, without removing them.</summary>
    Task<IReadOnlyList<OfflineMessage>> GetAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Removes the messages with these ids (after they were handed to a session).</summary>
    Task RemoveAsync(string user, IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default);

    Task<int> CountAsync(string user, CancellationToken cancellationToken = default);
}
