using Npgsql;

namespace Parley.Storage.Postgres;

internal sealed class PostgresPepStore(PostgresStorage storage) : IPepStore
{
    private const string SelectNodesSql = "SELECT node, config_xml FROM pep_nodes WHERE user_jid = @user ORDER BY node";
    private const string SelectNodeSql = "SELECT node, config_xml FROM pep_nodes WHERE user_jid = @user AND node = @node";
    private const string InsertNodeSql = "INSERT INTO pep_nodes (user_jid, node, config_xml) VALUES (@user, @node, @config) ON CONFLICT (user_jid, node) DO NOTHING";
    private const string UpdateConfigSql = "UPDATE pep_nodes SET config_xml = @config WHERE user_jid = @user AND node = @node";
    private const string DeleteNodeSql = "DELETE FROM pep_nodes WHERE user_jid = @user AND node = @node";
    private const string DeleteNodeItemsSql = "DELETE FROM pep_items WHERE user_jid = @user AND node = @node";

    // The row lock orders concurrent publishes to one node, so each one's trim sees the others' items.
    private const string LockNodeSql = "SELECT 1 FROM pep_nodes WHERE user_jid = @user AND node = @node FOR UPDATE";
    private const string DeleteItemSql = "DELETE FROM pep_items WHERE user_jid = @user AND node = @node AND item_id = @id";
    private const string InsertItemSql = "INSERT INTO pep_items (user_jid, node, item_id, published_at, xml) VALUES (@user, @node, @id, @published, @xml)";

    // seq only grows, so the newest items have the highest; everything at or below the (max+1)-th newest goes.
    private const string TrimSql = """
        DELETE FROM pep_items WHERE user_jid = @user AND node = @node AND seq <= (
            SELECT seq FROM pep_items WHERE user_jid = @user AND node = @node ORDER BY seq DESC LIMIT 1 OFFSET @max)
        """;

    private const string SelectNewestSql = "SELECT item_id, published_at, xml FROM pep_items WHERE user_jid = @user AND node = @node ORDER BY seq DESC LIMIT @max";
    private const string SelectItemsSql = """
        SELECT item_id, published_at, xml FROM pep_items WHERE user_jid = @user AND node = @node AND item_id = ANY(@ids) ORDER BY seq DESC
        """;

    public async Task<IReadOnlyList<PepNode>> GetNodesAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(SelectNodesSql, connection);
        select.Parameters.AddWithValue("user", user);
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
        await using var select = Command(connection, SelectNodeSql, user, node);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new PepNode(reader.GetString(0), reader.GetString(1)) : null;
    }

    public async Task<bool> CreateNodeAsync(string user, string node, string configXml, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        UserDataArguments.CheckXml(configXml);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var insert = Command(connection, InsertNodeSql, user, node);
        insert.Parameters.AddWithValue("config", configXml);
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> SetConfigAsync(string user, string node, string configXml, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        UserDataArguments.CheckXml(configXml);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var update = Command(connection, UpdateConfigSql, user, node);
        update.Parameters.AddWithValue("config", configXml);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteNodeAsync(string user, string node, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var deleteItems = Command(connection, DeleteNodeItemsSql, user, node))
        {
            await deleteItems.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var deleteNode = Command(connection, DeleteNodeSql, user, node);
        var deleted = await deleteNode.ExecuteNonQueryAsync(cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    public async Task<bool> PublishAsync(string user, string node, PepItem item, int maxItems, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        PepArguments.CheckItem(item);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxItems, 1);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockNode = Command(connection, LockNodeSql, user, node))
        {
            if (await lockNode.ExecuteScalarAsync(cancellationToken) is null)
            {
                return false;
            }
        }

        // Delete and insert rather than update: a republished item becomes the newest (XEP-0060 §7.1.2).
        await using (var delete = Command(connection, DeleteItemSql, user, node))
        {
            delete.Parameters.AddWithValue("id", item.Id);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var insert = Command(connection, InsertItemSql, user, node))
        {
            insert.Parameters.AddWithValue("id", item.Id);
            insert.Parameters.AddWithValue("published", item.Published.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("xml", item.Xml);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await TrimAsync(connection, user, node, maxItems, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<PepItem>> GetItemsAsync(string user, string node, int max, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, SelectNewestSql, user, node);
        select.Parameters.AddWithValue("max", (long)max);
        return await ReadItemsAsync(select, cancellationToken);
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
        await using var select = Command(connection, SelectItemsSql, user, node);
        select.Parameters.AddWithValue("ids", ids.ToArray());
        return await ReadItemsAsync(select, cancellationToken);
    }

    public async Task<bool> RetractAsync(string user, string node, string itemId, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        PepArguments.CheckItemId(itemId);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var delete = Command(connection, DeleteItemSql, user, node);
        delete.Parameters.AddWithValue("id", itemId);
        return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> TrimAsync(string user, string node, int maxItems, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        PepArguments.CheckNode(node);
        ArgumentOutOfRangeException.ThrowIfNegative(maxItems);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        return await TrimAsync(connection, user, node, maxItems, cancellationToken);
    }

    private static async Task<int> TrimAsync(NpgsqlConnection connection, string user, string node, int maxItems, CancellationToken cancellationToken)
    {
        await using var trim = Command(connection, TrimSql, user, node);
        trim.Parameters.AddWithValue("max", (long)maxItems);
        return await trim.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, string user, string node)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("user", user);
        command.Parameters.AddWithValue("node", node);
        return command;
    }

    private static async Task<IReadOnlyList<PepItem>> ReadItemsAsync(NpgsqlCommand select, CancellationToken cancellationToken)
    {
        var items = new List<PepItem>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new PepItem(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2)));
        }

        return items;
    }
}
