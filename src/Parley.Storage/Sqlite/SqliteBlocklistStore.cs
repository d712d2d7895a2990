using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

internal sealed class SqliteBlocklistStore(SqliteStorage storage) : IBlocklistStore
{
    internal const string SelectSql = "SELECT blocked_jid FROM blocklist WHERE user_jid = $user ORDER BY blocked_jid";
    internal const string InsertSql = "INSERT INTO blocklist (user_jid, blocked_jid) VALUES ($user, $jid) ON CONFLICT (user_jid, blocked_jid) DO NOTHING";
    internal const string DeleteSql = "DELETE FROM blocklist WHERE user_jid = $user AND blocked_jid = $jid";
    internal const string DeleteAllSql = "DELETE FROM blocklist WHERE user_jid = $user";

    public async Task<IReadOnlyList<string>> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        return await SelectAsync(connection, transaction: null, user, cancellationToken);
    }

    /// <summary>Returns the newly added JIDs in the order given, each once.</summary>
    public async Task<IReadOnlyList<string>> AddAsync(string user, IReadOnlyCollection<string> jids, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckBlockedJids(jids);
        return await ChangeEachAsync(InsertSql, user, jids, cancellationToken);
    }

    /// <summary>Returns the unblocked JIDs in the order given, each once.</summary>
    public async Task<IReadOnlyList<string>> RemoveAsync(string user, IReadOnlyCollection<string> jids, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckBlockedJids(jids);
        return await ChangeEachAsync(DeleteSql, user, jids, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ClearAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        var cleared = await SelectAsync(connection, transaction, user, cancellationToken);
        using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = DeleteAllSql;
            delete.Parameters.AddWithValue("$user", user);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        transaction.Commit();
        return cleared;
    }

    /// <summary>Runs <paramref name="sql"/> once per distinct JID in one transaction and returns the JIDs it changed a row for.</summary>
    private async Task<IReadOnlyList<string>> ChangeEachAsync(string sql, string user, IReadOnlyCollection<string> jids, CancellationToken cancellationToken)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        using var change = connection.CreateCommand();
        change.Transaction = transaction;
        change.CommandText = sql;
        change.Parameters.AddWithValue("$user", user);
        var jid = change.Parameters.Add("$jid", SqliteType.Text);
        var changed = new List<string>();
        foreach (var blockedJid in jids)
        {
            jid.Value = blockedJid;
            // A JID given twice changes a row only the first time, so it is reported once.
            if (await change.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                changed.Add(blockedJid);
            }
        }

        transaction.Commit();
        return changed;
    }

    private static async Task<IReadOnlyList<string>> SelectAsync(SqliteConnection connection, SqliteTransaction? transaction, string user, CancellationToken cancellationToken)
    {
        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = SelectSql;
        select.Parameters.AddWithValue("$user", user);
        var jids = new List<string>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jids.Add(reader.GetString(0));
        }

        return jids;
    }
}
