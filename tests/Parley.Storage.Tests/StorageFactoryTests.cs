using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

public sealed class StorageFactoryTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Theory]
    [InlineData("sqlite")]
    [InlineData("SQLite")]
    public async Task The_sqlite_provider_opens_the_file_at_the_path(string provider)
    {
        await using var storage = await StorageFactory.OpenAsync(provider, _database.Path);

        Assert.IsType<SqliteStorage>(storage);
        Assert.StartsWith($"SQLite {_database.Path} ", storage.Description);
        Assert.True(File.Exists(_database.Path));
    }

    [Fact]
    public async Task An_unknown_provider_is_refused_naming_it_and_the_supported_ones()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => StorageFactory.OpenAsync("mysql", _database.Path));

        Assert.StartsWith("Unknown storage provider 'mysql'. Supported providers: sqlite, postgres.", error.Message);
        Assert.Equal("provider", error.ParamName);
        Assert.False(File.Exists(_database.Path));
    }

    [Fact]
    public async Task An_empty_sqlite_path_is_refused()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => StorageFactory.OpenAsync("sqlite", ""));

        Assert.Equal("connectionStringOrPath", error.ParamName);
    }

    [Fact]
    public async Task Opening_existing_only_where_there_is_no_database_creates_neither_file_nor_folder()
    {
        var path = Path.Combine(_database.Folder, "typo", "parley.db");

        var error = await Assert.ThrowsAsync<StorageNotFoundException>(() => StorageFactory.OpenAsync("sqlite", path, StorageOpenMode.ExistingOnly));

        Assert.Equal($"no Parley database at {path}", error.Message);
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));
    }

    [Fact]
    public async Task Storage_says_whether_opening_created_the_database()
    {
        await using (var created = await StorageFactory.OpenAsync("sqlite", _database.Path))
        {
            Assert.True(created.Created);
            Assert.Equal(_database.Path, created.Location);
        }

        await using var existing = await StorageFactory.OpenAsync("sqlite", _database.Path, StorageOpenMode.ExistingOnly);
        Assert.False(existing.Created);
    }
}
