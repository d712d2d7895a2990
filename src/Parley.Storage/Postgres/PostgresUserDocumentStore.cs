using Npgsql;

namespace Parley.Storage.Postgres;

internal sealed class PostgresUserDocumentStore(PostgresStorage storage) : IUserDocumentStore
{
    private const string SelectSql = "SELECT xml, updated_at FROM user_documents WHERE user_jid = @user AND kind = @kind AND key = @key";

    private const string UpsertSql = """
        INSERT INTO user_documents (user_jid, kind, key, xml, updated_at) VALUES (@user, @kind, @key, @xml, @updated_at)
        ON CONFLICT (user_jid, kind, key) DO UPDATE SET xml = excluded.xml, updated_at = excluded.updated_at
        """;

    private const string ListSql = "SELECT key, xml, updated_at FROM user_documents WHERE user_jid = @user AND kind = @kind ORDER BY key";

    private const string DeleteSql = "DELETE FROM user_documents WHERE user_jid = @user AND kind = @kind AND key = @key";

    public async Task<UserDocument?> GetAsync(string user, string kind, string key, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckDocumentAddress(kind, key);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = Command(SelectSql, connection, user, kind, key);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new UserDocument(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)));
    }

    public async Task SetAsync(string user, string kind, string key, string xml, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckDocumentAddress(kind, key);
        UserDataArguments.CheckXml(xml);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var upsert = Command(UpsertSql, connection, user, kind, key);
        upsert.Parameters.AddWithValue("xml", xml);
        upsert.Parameters.AddWithValue("updated_at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<(string Key, UserDocument Document)>> ListAsync(string user, string kind, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckDocumentAddress(kind, "");
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = Command(ListSql, connection, user, kind, key: null);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var documents = new List<(string, UserDocument)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            documents.Add((reader.GetString(0), new UserDocument(reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)))));
        }

        return documents;
    }

    public async Task<bool> DeleteAsync(string user, string kind, string key, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckDocumentAddress(kind, key);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var delete = Command(DeleteSql, connection, user, kind, key);
        return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static NpgsqlCommand Command(string sql, NpgsqlConnection connection, string user, string kind, string? key)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("user", user);
        command.Parameters.AddWithValue("kind", kind);
        if (key is not null)
        {
            command.Parameters.AddWithValue("key", key);
        }

        return command;
    }
}
