namespace Parley.Storage.Sqlite;

internal sealed class SqliteUserDocumentStore(SqliteStorage storage) : IUserDocumentStore
{
    internal const string SelectSql = "SELECT xml, updated_at FROM user_documents WHERE user_jid = $user AND kind = $kind AND key = $key";

    internal const string UpsertSql = """
        INSERT INTO user_documents (user_jid, kind, key, xml, updated_at) VALUES ($user, $kind, $key, $xml, $updated_at)
        ON CONFLICT (user_jid, kind, key) DO UPDATE SET xml = excluded.xml, updated_at = excluded.updated_at
        """;

    internal const string ListSql = "SELECT key, xml, updated_at FROM user_documents WHERE user_jid = $user AND kind = $kind ORDER BY key";

    internal const string DeleteSql = "DELETE FROM user_documents WHERE user_jid = $user AND kind = $kind AND key = $key";

    public async Task<UserDocument?> GetAsync(string user, string kind, string key, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckDocumentAddress(kind, key);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectSql;
        select.Parameters.AddWithValue("$user", user);
        select.Parameters.AddWithValue("$kind", kind);
        select.Parameters.AddWithValue("$key", key);
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
        using var upsert = connection.CreateCommand();
        upsert.CommandText = UpsertSql;
        upsert.Parameters.AddWithValue("$user", user);
        upsert.Parameters.AddWithValue("$kind", kind);
        upsert.Parameters.AddWithValue("$key", key);
        upsert.Parameters.AddWithValue("$xml", xml);
        upsert.Parameters.AddWithValue("$updated_at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<(string Key, UserDocument Document)>> ListAsync(string user, string kind, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckDocumentAddress(kind, "");
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = ListSql;
        select.Parameters.AddWithValue("$user", user);
        select.Parameters.AddWithValue("$kind", kind);
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
        using var delete = connection.CreateCommand();
        delete.CommandText = DeleteSql;
        delete.Parameters.AddWithValue("$user", user);
        delete.Parameters.AddWithValue("$kind", kind);
        delete.Parameters.AddWithValue("$key", key);
        return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
