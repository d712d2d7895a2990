using Npgsql;
using Parley.Tests.Shared;

namespace Parley.Storage.Tests;

/// <summary>
/// One database of the shared test cluster per test class; before each test <see cref="ResetAsync"/> empties every
/// table (and restarts the id sequences), so each test starts on an empty, migrated database as on SQLite.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    private const string EmptyTablesSql = """
        DO $$
        DECLARE tables text;
        BEGIN
            SELECT string_agg(format('%I', tablename), ', ') INTO tables
            FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations';
            IF tables IS NOT NULL THEN
                EXECUTE 'TRUNCATE ' || tables || ' RESTART IDENTITY';
            END IF;
        END $$
        """;

    private string? _connectionString;

    public string ConnectionString => _connectionString ?? throw new InvalidOperationException("The database is created in InitializeAsync.");

    public async Task InitializeAsync()
    {
        var cluster = await PostgresCluster.Shared;
        _connectionString = await cluster.CreateDatabaseAsync("storage");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public async Task ResetAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var empty = new NpgsqlCommand(EmptyTablesSql, connection);
        await empty.ExecuteNonQueryAsync();
    }

    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
