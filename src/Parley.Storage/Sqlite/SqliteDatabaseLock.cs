namespace Parley.Storage.Sqlite;

/// <summary>
/// Who uses a database file, as an OS file lock on "parley.db.lock" beside it. Every <see cref="SqliteStorage"/> holds it
/// shared while it is open (a node for its whole run, a command while it works); a restore takes it exclusively, so it
/// never swaps the file under a user and nobody opens the file while it is swapped. The OS drops a lock when its
/// process ends, however it ends, so a crashed node never blocks a restore. (SQLite's own locks cannot tell: a node's
/// idle pooled connections may all be closed.)
/// </summary>
internal sealed class SqliteDatabaseLock : IDisposable
{
    // What a FileStream's sharing violation carries: flock's EWOULDBLOCK on Linux (11) and macOS (35), ERROR_SHARING_VIOLATION on Windows.
    private const int LinuxWouldBlock = 11;
    private const int MacWouldBlock = 35;
    private const int WindowsSharingViolation = unchecked((int)0x80070020);

    private readonly FileStream _file;

    private SqliteDatabaseLock(FileStream file) => _file = file;

    public static string PathOf(string databasePath) => databasePath + ".lock";

    /// <summary>The lock shared with other users of the database, or null while a restore holds it.</summary>
    public static SqliteDatabaseLock? TryShared(string databasePath) => TryTake(databasePath, FileShare.ReadWrite);

    /// <summary>The lock for this caller alone, or null while anyone else uses the database.</summary>
    public static SqliteDatabaseLock? TryExclusive(string databasePath) => TryTake(databasePath, FileShare.None);

    public void Dispose() => _file.Dispose();

    private static SqliteDatabaseLock? TryTake(string databasePath, FileShare share)
    {
        try
        {
            // .NET takes flock(LOCK_EX) for FileShare.None and flock(LOCK_SH) otherwise, without waiting.
            return new SqliteDatabaseLock(new FileStream(PathOf(databasePath), FileMode.OpenOrCreate, FileAccess.ReadWrite, share));
        }
        catch (IOException e) when (e.HResult is LinuxWouldBlock or MacWouldBlock or WindowsSharingViolation)
        {
            return null;
        }
    }
}
