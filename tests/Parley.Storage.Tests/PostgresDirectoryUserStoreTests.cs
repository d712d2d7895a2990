using Parley.Storage.Postgres;

namespace Parley.Storage.Tests;

public sealed class PostgresDirectoryUserStoreTests(PostgresDatabase database) : DirectoryUserStoreContract, IClassFixture<PostgresDatabase>
{
    protected override async Task<IParleyStorage> OpenStorageAsync()
    {
        await database.ResetAsync();
        return await PostgresStorage.OpenAsync(database.ConnectionString);
    }
}
