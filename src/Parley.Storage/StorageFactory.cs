using Parley.Storage.Postgres;
using Parley.Storage.Sqlite;

namespace Parley.Storage;

/// <summary>Opens the storage that configuration names: a SQLite file, or a PostgreSQL database by its connection string.</summary>
public static class StorageFactory
{
    /// <param name="provider">"sqlite" or "postgres" (case-insensitive).</param>
    /// <param name="connectionStringOrPath">For "sqlite", the database file's path; for "postgres", an Npgsql connection string.</param>
    /// <param name="mode">Whether a missing database is created or is an error.</param>
    /// <exception cref="ArgumentException">The provider is unknown, or the path is empty.</exception>
    /// <exception cref="StorageNotFoundException">There is no database and <paramref name="mode"/> is <see cref="StorageOpenMode.ExistingOnly"/>.</exception>
    public static async Task<IParleyStorage> OpenAsync(string provider, string connectionStringOrPath, StorageOpenMode mode = StorageOpenMode.CreateIfMissing, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(provider);
        if (string.Equals(provider, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(connectionStringOrPath);
            return await SqliteStorage.OpenAsync(connectionStringOrPath, mode, cancellationToken);
        }

        if (string.Equals(provider, "postgres", StringComparison.OrdinalIgnoreCase))
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(connectionStringOrPath);
            return await PostgresStorage.OpenAsync(connectionStringOrPath, mode, cancellationToken);
        }

        throw new ArgumentException($"Unknown storage provider '{provider}'. Supported providers: sqlite, postgres.", nameof(provider));
    }
}
