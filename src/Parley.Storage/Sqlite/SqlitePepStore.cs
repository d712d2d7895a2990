using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

internal sealed class SqlitePepStore(SqliteStorage storage) : IPepStore
{
    internal const string SelectNodesSql = "SELECT node, config_xml FROM pep_nodes WHERE user_jid = $user ORDER BY node";
    internal const string SelectNodeSql = "SELECT node, config_xml FROM pep_nodes WHERE user_jid = $user AND node = $node";
    internal const string InsertNodeSql = "INSERT INTO pep_nodes (user_jid, node, config_xml) VALUES ($user, $node, $config) ON CONFLICT (user_jid, node) DO NOTHING";
    internal const string UpdateConfigSql = "UPDATE pep_nodes SET config_xml = $config WHERE user_jid = $user AND node = $node";
    internal const string DeleteNodeSql = "DELETE FROM pep_nodes WHERE user_jid = $user AND node = $node";
    internal const string DeleteNodeItemsSql = "DELETE FROM pep_items WHERE user_jid = $user AND node = $node";
    internal const string NodeExistsSql = "SELECT EXISTS (SELECT 1 FROM pep_nodes WHERE user_jid = $user AND node = $node)";
    internal const string DeleteItemSql = "DELETE FROM pep_items WHERE user_jid = $user AND node = $node AND item_id = $id";
    internal const string InsertItemSql = "INSERT INTO pep_items (user_jid, node, item_id, published_at, xml) VALUES ($user, $node, $id, $published, $xml)";

    // seq only grows (AUTOINCREMENT), so the newest items have the highest; everything at or below the (max+1)-th newest goes.
    internal const string TrimSql = """
        DELETE FROM pep_items WHERE user_jid = $user AND node = $node AND seq <= (
            SELECT seq FROM pep_items WHERE user_jid = $user AND node = $node ORDER BY seq DESC LIMIT 1 OFFSET $max)
        """;

    internal const string SelectNewestSql = "SELECT item_id, published_at, xml FROM pep_items WHERE user_jid = $user AND node = $node ORDER BY seq DESC LIMIT $max";
    internal const string SelectItemSql = "SELECT item_id, published_at, xml, seq FROM pep_items WHERE user_jid = $user AND node = $node AND item_id = $id";

    public async Task<IReadOnlyList<PepNode>> GetNodesAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectNodesSql;
        select.Parameters.AddWithValue("$user", user);
        var nodes = new List<PepNode>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            nodes.Add(new PepNode(reader.GetString(0), reader.GetString(1)));
        }

        return nodes;
    }

    public async Task<PepNode?> GetNodeAsync(string user, string node, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = Command(connection, null, SelectNodeSql, user, node);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new PepNode(reader.GetString(0), reader.GetString(1)) : null;
    }

    public async Task<bool> CreateNodeAsync(string user, string node, string configXml, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        UserDataArguments.CheckXml(configXml);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var insert = Command(connection, null, InsertNodeSql, user, node);
        insert.Parameters.AddWithValue("$config", configXml);
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> SetConfigAsync(string user, string node, string configXml, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        UserDataArguments.CheckXml(configXml);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var update = Command(connection, null, UpdateConfigSql, user, node);
        update.Parameters.AddWithValue("$config", configXml);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteNodeAsync(string user, string node, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var deleteItems = Command(connection, transaction, DeleteNodeItemsSql, user, node))
        {
            await deleteItems.ExecuteNonQueryAsync(cancellationToken);
        }

        using var deleteNode = Command(connection, transaction, DeleteNodeSql, user, node);
        var deleted = await deleteNode.ExecuteNonQueryAsync(cancellationToken) == 1;
        transaction.Commit();
        return deleted;
    }

    public async Task<bool> PublishAsync(string user, string node, PepItem item, int maxItems, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        PepArguments.CheckItem(item);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxItems, 1);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var exists = Command(connection, transaction, NodeExistsSql, user, node))
        {
            if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                return false;
            }
        }

        // Delete and insert rather than update: a republished item becomes the newest (XEP-0060 §7.1.2).
        using (var delete = Command(connection, transaction, DeleteItemSql, user, node))
        {
            delete.Parameters.AddWithValue("$id", item.Id);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        using (var insert = Command(connection, transaction, InsertItemSql, user, node))
        {
            insert.Parameters.AddWithValue("$id", item.Id);
            insert.Parameters.AddWithValue("$published", item.Published.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$xml", item.Xml);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await TrimAsync(connection, transaction, user, node, maxItems, cancellationToken);
        transaction.Commit();
        return true;
    }

    public async Task<IReadOnlyList<PepItem>> GetItemsAsync(string user, string node, int max, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = Command(connection, null, SelectNewestSql, user, node);
        select.Parameters.AddWithValue("$max", max);
        var items = new List<PepItem>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(ReadItem(reader));
        }

        return items;
    }

    public async Task<IReadOnlyList<PepItem>> GetItemsAsync(string user, string node, IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        ArgumentNullException.ThrowIfNull(ids);
        foreach (var id in ids)
        {
            PepArguments.CheckItemId(id, nameof(ids));
        }

        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = Command(connection, null, SelectItemSql, user, node);
        var idParameter = select.Parameters.Add("$id", SqliteType.Text);
        var found = new List<(long Seq, PepItem Item)>();
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            idParameter.Value = id;
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                found.Add((reader.GetInt64(3), ReadItem(reader)));
            }
        }

        found.Sort((a, b) => b.Seq.CompareTo(a.Seq));
        return found.ConvertAll(pair => pair.Item);
    }

    public async Task<bool> RetractAsync(string user, string node, string itemId, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        PepArguments.CheckItemId(itemId);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var delete = Command(connection, null, DeleteItemSql, user, node);
        delete.Parameters.AddWithValue("$id", itemId);
        return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> TrimAsync(string user, string node, int maxItems, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        ArgumentOutOfRangeException.ThrowIfNegative(maxItems);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        return await TrimAsync(connection, null, user, node, maxItems, cancellationToken);
    }

    private static async Task<int> TrimAsync(SqliteConnection connection, SqliteTransaction? transaction, string user, string node, int maxItems, CancellationToken cancellationToken)
    {
        using var trim = Command(connection, transaction, TrimSql, user, node);
        trim.Parameters.AddWithValue("$max", maxItems);
        return await trim.ExecuteNonQueryAsync(cancellationToken);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, string user, string node)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue("$user", user);
        command.Parameters.AddWithValue("$node", node);
        return command;
    }

    private static PepItem ReadItem(SqliteDataReader reader) =>
        new(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2));
}
