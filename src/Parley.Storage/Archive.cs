using Parley.Xml;

namespace Parley.Storage;

/// <summary>
/// One archived message (XEP-0313): in whose archive, with whom, when, and the stanza as it was.
/// <see cref="Id"/> is the archive's stable id, also given to clients as the XEP-0359 stanza-id.
/// </summary>
public sealed record ArchivedMessage(string Id, string Archive, string With, DateTimeOffset Stamp, string Xml);

/// <summary>
/// A query on one archive: the XEP-0313 filters (with: a bare JID matches every resource, a full
/// JID only itself; start and end inclusive; after/before an id) and XEP-0059 paging: at most
/// <see cref="Max"/> messages, the oldest first, or the newest ones when <see cref="FromEnd"/>
/// (RSM &lt;before/&gt;: the last page). <see cref="FullText"/> (XEP-0431), where the store supports it, keeps the
/// messages whose bodies contain every word of the text (see <see cref="ArchiveText.SearchWords"/>); null or blank
/// for no text filter.
/// </summary>
public sealed record ArchiveQuery(
    string Archive,
    string? With = null,
    DateTimeOffset? Start = null,
    DateTimeOffset? End = null,
    string? AfterId = null,
    string? BeforeId = null,
    int Max = 50,
    bool FromEnd = false,
    IReadOnlyList<string>? Ids = null,
    string? FullText = null);

/// <summary>A page of results in chronological order; <see cref="Complete"/> when no more match in the paging direction.</summary>
public sealed record ArchivePage(IReadOnlyList<ArchivedMessage> Messages, bool Complete, int Count);

/// <summary>XEP-0313 preferences: the default, and the JIDs always or never archived.</summary>
public sealed record ArchivePreferences(string Default, IReadOnlyList<string> Always, IReadOnlyList<string> Never);

/// <summary>
/// Message archives: a user's (archive = bare JID) or a room's (archive = room JID). Queries must
/// stay fast with millions of messages: every filter and both paging directions use an index.
/// </summary>
public interface IArchiveStore
{
    /// <summary>Whether <see cref="ArchiveQuery.FullText"/> is answered; MAM offers the field only then.</summary>
    bool SupportsFullTextSearch => false;

    /// <summary>Appends a message and returns its new id; ids of one archive sort in the order messages were appended.</summary>
    Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, string xml, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a message the caller holds parsed: stores read what they index for search off the element instead of
    /// parsing the stored XML again (the server's path; two appends per chat message).
    /// </summary>
    Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, Element message, CancellationToken cancellationToken = default)
        => AppendAsync(archive, with, stamp, message.ToXml(XmlNamespaces.Client), cancellationToken);

    /// <exception cref="ArchiveItemNotFoundException">An after/before id that is not in the archive.</exception>
    Task<ArchivePage> QueryAsync(ArchiveQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the stored stanza of one message, keeping its id, peer and stamp: a moderated or retracted message
    /// becomes a tombstone (XEP-0424, XEP-0425). False when the archive holds no message with that id.
    /// </summary>
    Task<bool> ReplaceXmlAsync(string archive, string id, string xml, CancellationToken cancellationToken = default);

    /// <summary>Deletes the whole archive (administrator); returns how many messages went.</summary>
    Task<int> DeleteArchiveAsync(string archive, CancellationToken cancellationToken = default);

    /// <summary>Retention: deletes messages of every archive older than the cutoff; returns how many went.</summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default);

    /// <summary>The archive's preferences, or null when never set (the server's default applies).</summary>
    Task<ArchivePreferences?> GetPreferencesAsync(string archive, CancellationToken cancellationToken = default);

    Task SetPreferencesAsync(string archive, ArchivePreferences preferences, CancellationToken cancellationToken = default);
}

/// <summary>A paging id (RSM after/before) that the archive does not hold; XEP-0313 answers item-not-found.</summary>
public sealed class ArchiveItemNotFoundException(string id) : Exception($"The archive has no message with id '{id}'.")
{
    public string Id { get; } = id;
}
