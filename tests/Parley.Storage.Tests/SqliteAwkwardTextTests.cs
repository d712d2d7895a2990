using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

public sealed class SqliteAwkwardTextTests : AwkwardTextContract, IDisposable
{
    private readonly TempDatabase _database = new();

    protected override async Task<IParleyStorage> OpenStorageAsync() => await SqliteStorage.OpenAsync(_database.Path);

    public void Dispose() => _database.Dispose();
}
