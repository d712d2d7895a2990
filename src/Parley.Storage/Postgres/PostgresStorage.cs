using System.Net.Sockets;
using Npgsql;

namespace Parley.Storage.Postgres;

/// <summary>
/// Every store on one PostgreSQL database, for nodes that share their data (a cluster) or outgrow one file. Each
/// operation borrows a connection from the <see cref="NpgsqlDataSource"/>'s pool; hot queries are prepared, and Npgsql
/// keeps them prepared on the pooled connections.
/// </summary>
public sealed class PostgresStorage : IParleyStorage
{
    /// <summary>Read by Npgsql itself when the connection string has no password (as libpq does).</summary>
    public const string PasswordVariable = "PGPASSWORD";

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresNodeNoticeStore _notices;
    private int _disposed;

    private PostgresStorage(NpgsqlDataSource dataSource, string location, int schemaVersion, bool created)
    {
        _dataSource = dataSource;
        Location = location;
        SchemaVersion = schemaVersion;
        Created = created;
        Accounts = new PostgresAccountStore(this);
        Rosters = new PostgresRosterStore(this);
        Offline = new PostgresOfflineStore(this);
        Blocklists = new PostgresBlocklistStore(this);
        Documents = new PostgresUserDocumentStore(this);
        Archive = new PostgresArchiveStore(this);
        Rooms = new PostgresRoomStore(this);
        Pep = new PostgresPepStore(this);
        Admins = new PostgresAdminStore(this);
        Audit = new PostgresAuditStore(this);
        Settings = new PostgresServerSettingStore(this);
        ApiTokens = new PostgresApiTokenStore(this);
        DirectoryUsers = new PostgresDirectoryUserStore(this);
        _notices = new PostgresNodeNoticeStore(this);
    }

    public IAccountStore Accounts { get; }

    public IRosterStore Rosters { get; }

    public IOfflineStore Offline { get; }

    public IBlocklistStore Blocklists { get; }

    public IUserDocumentStore Documents { get; }

    public IArchiveStore Archive { get; }

    public IRoomStore Rooms { get; }

    public IPepStore Pep { get; }

    public INodeNoticeStore Notices => _notices;

    public IAdminStore Admins { get; }

    public IAuditStore Audit { get; }

    public IServerSettingStore Settings { get; }

    public IApiTokenStore ApiTokens { get; }

    public IDirectoryUserStore DirectoryUsers { get; }

    public string Description => $"PostgreSQL {Location} (schema version {SchemaVersion})";

    /// <summary>"database 'parley' on 127.0.0.1:5432 as user 'parley'": where the data is, without the password.</summary>
    public string Location { get; }

    public bool Created { get; }

    internal int SchemaVersion { get; }

    /// <summary>The connection string with which the node was opened, for the listener of node notices.</summary>
    internal string ConnectionString => _dataSource.ConnectionString;

    /// <summary>Opens the database the connection string names and applies pending migrations.</summary>
    /// <exception cref="StorageNotFoundException">
    /// The mode is <see cref="StorageOpenMode.ExistingOnly"/> and the database has no Parley schema yet.
    /// </exception>
    /// <exception cref="StorageUnavailableException">PostgreSQL cannot be reached (yet); trying again later may work.</exception>
    /// <exception cref="InvalidOperationException">
    /// PostgreSQL refused the login or has no such database, the database is not Parley's, or a newer Parley has migrated it.
    /// </exception>
    public static Task<PostgresStorage> OpenAsync(string connectionString, StorageOpenMode mode = StorageOpenMode.CreateIfMissing, CancellationToken cancellationToken = default)
        => OpenAsync(connectionString, PostgresMigrations.All, mode, cancellationToken);

    internal static async Task<PostgresStorage> OpenAsync(
        string connectionString, IReadOnlyList<PostgresMigration> migrations, StorageOpenMode mode, CancellationToken cancellationToken)
    {
        var settings = PostgresConnectionSettings.Parse(connectionString);
        var location = LocationOf(settings);
        var dataSource = NpgsqlDataSource.Create(settings);
        try
        {
            await using var connection = await OpenConnectionAsync(dataSource, settings, location, cancellationToken);
            var where = $"PostgreSQL {location}";
            var version = await PostgresMigrator.ReadVersionAsync(connection, cancellationToken);
            if (version == 0 && mode == StorageOpenMode.ExistingOnly)
            {
                throw new StorageNotFoundException(location);
            }

            var schemaVersion = await PostgresMigrator.MigrateAsync(connection, migrations, where, cancellationToken);
            if (schemaVersion >= PostgresArchiveStore.SearchVersion)
            {
                await PostgresArchiveStore.IndexUnsearchedAsync(connection, progress: null, cancellationToken);
            }

            return new PostgresStorage(dataSource, location, schemaVersion, created: version == 0);
        }
        catch
        {
            await dataSource.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Connects without changing anything, for <c>parley config check</c>: where the database is, the server's version and
    /// the database's schema version (0: no Parley schema yet). Fails as <see cref="OpenAsync(string, StorageOpenMode, CancellationToken)"/> does.
    /// </summary>
    public static async Task<(string Location, string ServerVersion, int SchemaVersion)> ProbeAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var settings = PostgresConnectionSettings.Parse(connectionString);
        var location = LocationOf(settings);
        await using var dataSource = NpgsqlDataSource.Create(settings);
        await using var connection = await OpenConnectionAsync(dataSource, settings, location, cancellationToken);
        return (location, connection.PostgreSqlVersion.ToString(), await PostgresMigrator.ReadVersionAsync(connection, cancellationToken));
    }

    internal ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _dataSource is NpgsqlMultiHostDataSource hosts ? OpenOnPrimaryAsync(hosts, cancellationToken) : _dataSource.OpenConnectionAsync(cancellationToken);
    }

    /// <summary>
    /// Npgsql remembers for a while which host was down or a standby; just after a standby was promoted that memory
    /// names no primary. Nothing has run when opening fails, so forgetting it and trying once more is safe. Only then:
    /// an exception without an inner one says no host was tried; hosts that were tried and failed (the database is
    /// really down) are not tried twice, which would double the wait for one that does not answer.
    /// </summary>
    private static async ValueTask<NpgsqlConnection> OpenOnPrimaryAsync(NpgsqlMultiHostDataSource hosts, CancellationToken cancellationToken)
    {
        try
        {
            return await hosts.OpenConnectionAsync(cancellationToken);
        }
        catch (NpgsqlException e) when (e.InnerException is null)
        {
            hosts.ClearDatabaseStates();
            return await hosts.OpenConnectionAsync(cancellationToken);
        }
    }

    /// <summary>Closes the pool's idle connections, for when the server is known to have dropped them (a restart).</summary>
    internal void ForgetIdleConnections() => _dataSource.Clear();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _notices.DisposeAsync();
            await _dataSource.DisposeAsync();
        }
    }

    private static string LocationOf(NpgsqlConnectionStringBuilder settings) =>
        $"database '{settings.Database ?? settings.Username}' on {HostsOf(settings)} as user '{settings.Username}'";

    /// <summary>host:port, or for a list of hosts each with its own port or the default one.</summary>
    private static string HostsOf(NpgsqlConnectionStringBuilder settings) => settings.Host is { } host && host.Contains(',')
        ? string.Join(',', host.Split(',').Select(one => one.Contains(':') ? one : $"{one}:{settings.Port}"))
        : $"{settings.Host}:{settings.Port}";

    /// <summary>Opens the first connection, turning the ways it fails into messages that say what to fix.</summary>
    private static async Task<NpgsqlConnection> OpenConnectionAsync(
        NpgsqlDataSource dataSource, NpgsqlConnectionStringBuilder settings, string location, CancellationToken cancellationToken)
    {
        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification)
        {
            throw new InvalidOperationException(
                $"PostgreSQL on {settings.Host}:{settings.Port} refused user '{settings.Username}': {e.MessageText}. Check the user and its password.", e);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            throw new InvalidOperationException(
                $"PostgreSQL on {settings.Host}:{settings.Port} has no database '{settings.Database ?? settings.Username}'. " +
                $"Create it first, e.g. createdb -O {settings.Username} {settings.Database ?? settings.Username}.", e);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.TooManyConnections)
        {
            throw new StorageUnavailableException($"PostgreSQL {location} is not accepting connections: {e.MessageText}", e);
        }
        catch (NpgsqlException e) when (e.InnerException is SocketException or TimeoutException || e is NpgsqlException { IsTransient: true })
        {
            throw new StorageUnavailableException($"cannot reach PostgreSQL {location}: {(e.InnerException ?? e).Message}", e);
        }
        catch (NpgsqlException e) when (e.Message.Contains("password", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"PostgreSQL on {settings.Host}:{settings.Port} wants a password for user '{settings.Username}' and none was given " +
                $"(put it in the connection string or in the {PasswordVariable} environment variable).", e);
        }
    }
}
