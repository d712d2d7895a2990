using Npgsql;
using NpgsqlTypes;

namespace Parley.Storage.Postgres;

internal sealed class PostgresBlocklistStore(PostgresStorage storage) : IBlocklistStore
{
    private const string SelectSql = "SELECT blocked_jid FROM blocklist WHERE user_jid = @user ORDER BY blocked_jid";
    private const string InsertSql = "INSERT INTO blocklist (user_jid, blocked_jid) VALUES (@user, @jid) ON CONFLICT (user_jid, blocked_jid) DO NOTHING";
    private const string DeleteSql = "DELETE FROM blocklist WHERE user_jid = @user AND blocked_jid = @jid";
    private const string DeleteAllSql = "DELETE FROM blocklist WHERE user_jid = @user RETURNING blocked_jid";

    public async Task<IReadOnlyList<string>> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        return await ReadJidsAsync(connection, SelectSql, user, cancellationToken);
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
        var cleared = await ReadJidsAsync(connection, DeleteAllSql, user, cancellationToken);
        return cleared.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Runs <paramref name="sql"/> once per JID in one transaction and returns the JIDs it changed a row for.</summary>
    private async Task<IReadOnlyList<string>> ChangeEachAsync(string sql, string user, IReadOnlyCollection<string> jids, CancellationToken cancellationToken)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var change = new NpgsqlCommand(sql, connection);
        change.Parameters.AddWithValue("user", user);
        var jid = change.Parameters.Add("jid", NpgsqlDbType.Text);
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

        await transaction.CommitAsync(cancellationToken);
        return changed;
    }

    private static async Task<List<string>> ReadJidsAsync(NpgsqlConnection connection, string sql, string user, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand(sql, connection);
        select.Parameters.AddWithValue("user", user);
        var jids = new List<string>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jids.Add(reader.GetString(0));
        }

        return jids;
    }
}
