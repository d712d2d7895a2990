namespace Parley.Storage;

/// <summary>An XML document a user stored, and when it last changed.</summary>
public sealed record UserDocument(string Xml, DateTimeOffset UpdatedAt);

/// <summary>
/// Small per-user XML documents addressed by (kind, key): the vCard ("vcard", ""), private XML
/// storage ("private", "name namespace"), last activity ("last", ""), and the like.
/// </summary>
public interface IUserDocumentStore
{
    Task<UserDocument?> GetAsync(string user, string kind, string key, CancellationToken cancellationToken = default);

    Task SetAsync(string user, string kind, string key, string xml, CancellationToken cancellationToken = default);

    /// <summary>Every document of one kind the user has (e.g. all push registrations), ordered by key.</summary>
    Task<IReadOnlyList<(string Key, UserDocument Document)>> ListAsync(string user, string kind, CancellationToken cancellationToken = default);

    /// <returns>False when there was no such document.</returns>
    Task<bool> DeleteAsync(string user, string kind, string key, CancellationToken cancellationToken = default);
}
