using Npgsql;

namespace Parley.Storage.Postgres;

internal sealed class PostgresApiTokenStore(PostgresStorage storage) : IApiTokenStore
{
    private const string InsertSql = """
        INSERT INTO api_tokens (name, token_id, token_hash, read_only, created_at) VALUES (@name, @id, @hash, @read_only, @at)
        ON CONFLICT DO NOTHING
        """;
    private const string FindSql = "SELECT name, token_id, read_only, created_at, token_hash FROM api_tokens WHERE token_id = @id";
    private const string ListSql = "SELECT name, token_id, read_only, created_at FROM api_tokens ORDER BY name";
    private const string DeleteSql = "DELETE FROM api_tokens WHERE name = @name";

    public async Task<bool> CreateAsync(ApiToken token, string secretHash, CancellationToken cancellationToken = default)
    {
        ApiTokenArguments.Check(token, secretHash);
        return await PostgresCommands.ExecuteAsync(storage, InsertSql, cancellationToken, ("name", token.Name), ("id", token.Id), ("hash", secretHash),
            ("read_only", token.ReadOnly), ("at", token.CreatedAt.ToUnixTimeMilliseconds())) == 1;
    }

    public async Task<(ApiToken Token, string TokenHash)?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(id, nameof(id));
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(FindSql, connection);
        select.Parameters.AddWithValue("id", id);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (Read(reader), reader.GetString(4)) : null;
    }

    public async Task<IReadOnlyList<ApiToken>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(ListSql, connection);
        var tokens = new List<ApiToken>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            tokens.Add(Read(reader));
        }

        return tokens;
    }

    public async Task<bool> RevokeAsync(string name, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(name, nameof(name));
        return await PostgresCommands.ExecuteAsync(storage, DeleteSql, cancellationToken, ("name", name)) == 1;
    }

    private static ApiToken Read(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
}
