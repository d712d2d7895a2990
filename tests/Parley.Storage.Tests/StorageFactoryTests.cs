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

        Assert.StartsWith("Unknown storage provider 'mysql'. Supported providers: sqlite.", error.Message);
        Assert.Equal("provider", error.ParamName);
        Assert.False(File.Exists(_database.Path));
    }

    [Fact]
    public async Task An_empty_sqlite_path_is_refused()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => StorageFactory.OpenAsync("sqlite", ""));

        Assert.Equal("connectionStringOrPath", error.ParamName);
    }
}
