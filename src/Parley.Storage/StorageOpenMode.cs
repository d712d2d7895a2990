namespace Parley.Storage;

/// <summary>Whether opening storage may create a new, empty database.</summary>
public enum StorageOpenMode
{
    /// <summary>For a node and the commands that add data: a missing database is created.</summary>
    CreateIfMissing,

    /// <summary>
    /// For commands that read or change existing data: a missing database is an error, so that a mistyped data
    /// directory is reported instead of answered from a new, empty database.
    /// </summary>
    ExistingOnly,
}

/// <summary>The database to open with <see cref="StorageOpenMode.ExistingOnly"/> does not exist; nothing was created.</summary>
public sealed class StorageNotFoundException(string location) : Exception($"no Parley database at {location}")
{
    /// <summary>Where the database was looked for, e.g. the SQLite file's full path.</summary>
    public string Location { get; } = location;
}

/// <summary>The database server cannot be reached (yet): down, restarting, or refusing connections; a later try may work.</summary>
public sealed class StorageUnavailableException(string message, Exception inner) : Exception(message, inner);
