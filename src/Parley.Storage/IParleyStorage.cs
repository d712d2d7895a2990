namespace Parley.Storage;

/// <summary>
/// One opened, migrated database and the stores on it. A node opens it once at start-up and shares it;
/// every store is safe to call concurrently.
/// </summary>
public interface IParleyStorage : IAsyncDisposable
{
    IAccountStore Accounts { get; }
    IRosterStore Rosters { get; }
    IOfflineStore Offline { get; }
    IBlocklistStore Blocklists { get; }
    IUserDocumentStore Documents { get; }
    IArchiveStore Archive { get; }
    IRoomStore Rooms { get; }
    IPepStore Pep { get; }
    INodeNoticeStore Notices { get; }
    IAdminStore Admins { get; }
    IAuditStore Audit { get; }
    IServerSettingStore Settings { get; }
    IApiTokenStore ApiTokens { get; }
    IDirectoryUserStore DirectoryUsers { get; }

    /// <summary>What is open, for logs, e.g. "SQLite /srv/parley/data/parley.db (schema version 1)".</summary>
    string Description { get; }

    /// <summary>Where the data is, for messages: the SQLite file's full path.</summary>
    string Location { get; }

    /// <summary>Whether opening created the database, new and empty.</summary>
    bool Created { get; }
}
