using Parley.Storage.Postgres;

namespace Parley.Storage.Tests;

public sealed class PostgresApiTokenStoreTests(PostgresDatabase database) : ApiTokenStoreContract, IClassFixture<PostgresDatabase>
{
    protected override async Task<IParleyStorage> OpenStorageAsync()
    {
        await database.ResetAsync();
        return await PostgresStorage.OpenAsync(database.ConnectionString);
    }
}
