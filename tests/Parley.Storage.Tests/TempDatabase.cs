using Microsoft.Data.Sqlite;

namespace Parley.Storage.Tests;

/// <summary>A fresh folder for one test's database files, deleted afterwards.</summary>
internal sealed class TempDatabase : IDisposable
{
    public TempDatabase() => Folder = Directory.CreateTempSubdirectory("parley-storage-").FullName;

    public string Folder { get; }

    public string Path => System.IO.Path.Combine(Folder, "parley.db");

    /// <summary>An unpooled connection of its own, as another process (the CLI, the sqlite3 shell) would have.</summary>
    public SqliteConnection OpenRawConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
