using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Parley.Storage.Sqlite;

/// <summary>
/// The embedded default: one SQLite file in WAL mode, so a running node and the <c>parley</c> CLI can use it at once.
/// Each operation borrows a connection from Microsoft.Data.Sqlite's pool, which lets readers run in parallel.
/// </summary>
public sealed class SqliteStorage : IParleyStorage
{
    private const int SqliteNotADatabase = 26;

    // The migration that gave archive appends their own table (SqliteArchiveWriter); a test may open with fewer migrations.
    private const int ArchivePendingVersion = 14;

    // These are per connection (WAL is a property of the file, set once in OpenAsync). A connection keeps them while it
    // waits in the pool, so they run once per connection SQLite opens, not on every borrow: parsing them took a
    // measurable part of each store call (docs/benchmarks.md, "The storage side of a sign-in").
    // busy_timeout: how long a writer waits for another process's write lock, e.g. the CLI's while the node writes.
    private const string ConnectionPragmasSql = "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";

    /// <summary>The native connections the pragmas were run on; an entry goes with its connection.</summary>
    private static readonly ConditionalWeakTable<sqlite3, object> ConfiguredConnections = new();
    private static readonly object Configured = new();

    private readonly string _connectionString;
    private readonly SqliteDatabaseLock _lock;
    private int _disposed;

    private SqliteStorage(string connectionString, string databasePath, int schemaVersion, bool created, SqliteDatabaseLock databaseLock)
    {
        _connectionString = connectionString;
        _lock = databaseLock;
        DatabasePath = databasePath;
        SchemaVersion = schemaVersion;
        Created = created;
        Accounts = new SqliteAccountStore(this);
        Rosters = new SqliteRosterStore(this);
        Offline = new SqliteOfflineStore(this);
        Blocklists = new SqliteBlocklistStore(this);
        Documents = new SqliteUserDocumentStore(this);
        Archive = new SqliteArchiveStore(this);
        Rooms = new SqliteRoomStore(this);
        Pep = new SqlitePepStore(this);
        Notices = new SqliteNodeNoticeStore(this);
        Admins = new SqliteAdminStore(this);
        Audit = new SqliteAuditStore(this);
        Settings = new SqliteServerSettingStore(this);
        ApiTokens = new SqliteApiTokenStore(this);
        DirectoryUsers = new SqliteDirectoryUserStore(this);
    }

    public IAccountStore Accounts { get; }

    public IRosterStore Rosters { get; }

    public IOfflineStore Offline { get; }

    public IBlocklistStore Blocklists { get; }

    public IUserDocumentStore Documents { get; }

    public IArchiveStore Archive { get; }

    public IRoomStore Rooms { get; }

    public IPepStore Pep { get; }

    public INodeNoticeStore Notices { get; }

    public IAdminStore Admins { get; }

    public IAuditStore Audit { get; }

    public IServerSettingStore Settings { get; }

    public IApiTokenStore ApiTokens { get; }

    public IDirectoryUserStore DirectoryUsers { get; }

    public string Description => $"SQLite {DatabasePath} (schema version {SchemaVersion})";

    public string Location => DatabasePath;

    public bool Created { get; }

    internal string DatabasePath { get; }

    internal int SchemaVersion { get; }

    /// <summary>
    /// Opens the database at <paramref name="databasePath"/> (with <see cref="StorageOpenMode.CreateIfMissing"/>
    /// creating the file and its folder if needed), switches it to WAL mode and applies pending migrations.
    /// </summary>
    /// <exception cref="StorageNotFoundException">The mode is <see cref="StorageOpenMode.ExistingOnly"/> and there is no file.</exception>
    /// <exception cref="InvalidOperationException">
    /// The file is not a SQLite database or not Parley's, or a newer Parley has migrated it past what this build knows,
    /// or a restore is replacing it.
    /// </exception>
    public static Task<SqliteStorage> OpenAsync(string databasePath, StorageOpenMode mode = StorageOpenMode.CreateIfMissing, CancellationToken cancellationToken = default)
        => OpenAsync(databasePath, SqliteMigrations.All, mode, cancellationToken);

    internal static async Task<SqliteStorage> OpenAsync(string databasePath, IReadOnlyList<SqliteMigration> migrations, StorageOpenMode mode, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        var fullPath = Path.GetFullPath(databasePath);
        if (Directory.Exists(fullPath))
        {
            throw new ArgumentException($"{fullPath} is a folder; give the path of the database file, e.g. {Path.Combine(fullPath, "parley.db")}.", nameof(databasePath));
        }

        var exists = File.Exists(fullPath);
        if (!exists && mode == StorageOpenMode.ExistingOnly)
        {
            throw new StorageNotFoundException(fullPath);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        var databaseLock = SqliteDatabaseLock.TryShared(fullPath)
            ?? throw new InvalidOperationException($"{fullPath} is being restored from a backup (parley storage restore); open it when the restore has finished.");
        try
        {
            return await OpenLockedAsync(fullPath, exists, migrations, mode, databaseLock, cancellationToken);
        }
        catch
        {
            databaseLock.Dispose();
            throw;
        }
    }

    private static async Task<SqliteStorage> OpenLockedAsync(
        string fullPath, bool exists, IReadOnlyList<SqliteMigration> migrations, StorageOpenMode mode, SqliteDatabaseLock databaseLock, CancellationToken cancellationToken)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,

            // Without "create", a file removed since the check above is an error rather than a new empty database.
            Mode = mode == StorageOpenMode.ExistingOnly ? SqliteOpenMode.ReadWrite : SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
        }.ToString();

        await using var connection = await OpenConnectionAsync(connectionString, cancellationToken);
        SqliteArchiveStore.AddMigrationFunctions(connection);
        try
        {
            var schemaVersion = await SqliteMigrator.MigrateAsync(connection, migrations, cancellationToken);
            await SwitchToWalAsync(connection, cancellationToken);
            if (schemaVersion >= ArchivePendingVersion)
            {
                await SqliteArchiveWriter.MovePendingOnOpenAsync(connection, cancellationToken);
            }
            return new SqliteStorage(connectionString, fullPath, schemaVersion, created: !exists, databaseLock);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteNotADatabase)
        {
            SqliteConnection.ClearPool(connection);
            throw new InvalidOperationException($"{fullPath} is not a SQLite database. Refusing to change it.", e);
        }
        catch
        {
            SqliteConnection.ClearPool(connection);
            throw;
        }
    }

    internal Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return OpenConnectionAsync(_connectionString, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await ((SqliteArchiveStore)Archive).CloseWriterAsync();
            // Closes the idle pooled connections, so the last one out checkpoints the WAL into the database file.
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
            _lock.Dispose();
        }
    }

    private static async Task<SqliteConnection> OpenConnectionAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            var native = connection.Handle!;
            if (!ConfiguredConnections.TryGetValue(native, out _))
            {
                using var pragmas = connection.CreateCommand();
                pragmas.CommandText = ConnectionPragmasSql;
                await pragmas.ExecuteNonQueryAsync(cancellationToken);
                ConfiguredConnections.AddOrUpdate(native, Configured);
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Switching to WAL needs the database to itself for a moment; while another opener (a node and the CLI
    /// on a new file) holds a lock, SQLite answers with the old mode instead of an error, so it is retried
    /// until a deadline.
    /// </summary>
    private static async Task SwitchToWalAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + 10_000;
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL";
        while (true)
        {
            var mode = (string?)await command.ExecuteScalarAsync(cancellationToken);
            if (string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
            if (Environment.TickCount64 > deadline)
            {
                throw new InvalidOperationException(
                    $"SQLite could not put {connection.DataSource} in WAL mode (journal mode is '{mode}'); the file must be on a local file system.");
            }
            await Task.Delay(20, cancellationToken);
        }
    }
}
