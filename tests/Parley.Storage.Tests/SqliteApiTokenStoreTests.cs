using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

public sealed class SqliteApiTokenStoreTests : ApiTokenStoreContract, IDisposable
{
    private readonly TempDatabase _database = new();

    protected override async Task<IParleyStorage> OpenStorageAsync() => await SqliteStorage.OpenAsync(_database.Path);

    // xunit runs this after IAsyncLifetime.DisposeAsync has closed the storage.
    public void Dispose() => _database.Dispose();
}
