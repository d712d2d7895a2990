using Microsoft.Data.Sqlite;
using Parley.Protocol.Sasl;

namespace Parley.Storage.Sqlite;

internal sealed class SqliteAccountStore(SqliteStorage storage) : IAccountStore
{
    // Big enough that a transaction's commit cost vanishes per account, small enough to hold the write lock only briefly.
    private const int ImportBatchSize = 1000;

    private const string InsertSql = """
        INSERT INTO accounts (jid, domain, created_at,
            sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key,
            sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key)
        VALUES ($jid, $domain, $created_at,
            $sha1_salt, $sha1_iterations, $sha1_stored_key, $sha1_server_key,
            $sha256_salt, $sha256_iterations, $sha256_stored_key, $sha256_server_key)
        ON CONFLICT (jid) DO NOTHING
        """;

    private const string SelectCredentialsSql = """
        SELECT sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key,
               sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key, disabled
        FROM accounts WHERE jid = $jid
        """;

    private const string UpdateCredentialsSql = """
        UPDATE accounts SET
            sha1_salt = $sha1_salt, sha1_iterations = $sha1_iterations, sha1_stored_key = $sha1_stored_key, sha1_server_key = $sha1_server_key,
            sha256_salt = $sha256_salt, sha256_iterations = $sha256_iterations, sha256_stored_key = $sha256_stored_key, sha256_server_key = $sha256_server_key
        WHERE jid = $jid
        """;

    private const string DeleteSql = "DELETE FROM accounts WHERE jid = $jid";

    // Every table that holds a user's data. A new per-user table belongs here too, or deleting an account leaves it behind.
    internal const string DeleteUserDataSql = """
        DELETE FROM roster_items WHERE user_jid = $jid;
        DELETE FROM roster_versions WHERE user_jid = $jid;
        DELETE FROM roster_pending WHERE user_jid = $jid;
        DELETE FROM offline_messages WHERE user_jid = $jid;
        DELETE FROM blocklist WHERE user_jid = $jid;
        DELETE FROM user_documents WHERE user_jid = $jid;
        DELETE FROM pep_items WHERE user_jid = $jid;
        DELETE FROM pep_nodes WHERE user_jid = $jid;
        DELETE FROM archive_messages WHERE archive = $jid;
        DELETE FROM archive_counts WHERE archive = $jid;
        DELETE FROM archive_preferences WHERE archive = $jid;
        """;

    // AccountReferences.Subscriptions: other users keep the contact on their rosters, but no subscription with it and no request from it.
    internal const string EndSubscriptionsSql = """
        UPDATE roster_versions SET version = version + 1 WHERE user_jid IN (
            SELECT user_jid FROM roster_items
            WHERE contact = $jid AND (subscription <> 'none' OR ask_subscribe <> 0 OR pre_approved <> 0));
        UPDATE roster_items SET subscription = 'none', ask_subscribe = 0, pre_approved = 0
            WHERE contact = $jid AND (subscription <> 'none' OR ask_subscribe <> 0 OR pre_approved <> 0);
        DELETE FROM roster_pending WHERE contact = $jid;
        """;

    // AccountReferences.RoomAffiliations.
    internal const string DeleteRoomAffiliationsSql = "DELETE FROM room_affiliations WHERE jid = $jid;";

    private const string ExistsSql = "SELECT EXISTS (SELECT 1 FROM accounts WHERE jid = $jid)";
    private const string SetDisabledSql = "UPDATE accounts SET disabled = $disabled WHERE jid = $jid";
    private const string SetDisplayNameSql = "UPDATE accounts SET display_name = $name, display_name_folded = $folded WHERE jid = $jid";
    private const string InfoColumns = "jid, created_at, disabled, display_name";
    private const string GetSql = $"SELECT {InfoColumns} FROM accounts WHERE jid = $jid";
    private const string ListAllSql = $"SELECT {InfoColumns} FROM accounts ORDER BY jid LIMIT $limit OFFSET $offset";
    private const string ListDomainSql = $"SELECT {InfoColumns} FROM accounts WHERE domain = $domain ORDER BY jid LIMIT $limit OFFSET $offset";
    // A scan: a contains-search cannot use an index, and administrators search far less often than the server works.
    private const string FoundSql = "(jid LIKE $pattern ESCAPE '\\' OR display_name_folded LIKE $pattern ESCAPE '\\')";
    private const string SearchSql = $"SELECT {InfoColumns} FROM accounts WHERE {FoundSql} ORDER BY jid LIMIT $limit OFFSET $offset";
    private const string CountFoundSql = $"SELECT COUNT(*) FROM accounts WHERE {FoundSql}";
    private const string CountAllSql = "SELECT COUNT(*) FROM accounts";
    private const string CountDomainSql = "SELECT COUNT(*) FROM accounts WHERE domain = $domain";

    public async Task<CreateAccountResult> CreateAsync(string bareJid, AccountCredentials credentials, CancellationToken cancellationToken = default)
    {
        var domain = AccountArguments.DomainOf(bareJid);
        AccountArguments.CheckCredentials(credentials);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var insert = CreateInsertCommand(connection);
        BindAccount(insert, bareJid, domain, credentials, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var inserted = await insert.ExecuteNonQueryAsync(cancellationToken);
        return inserted == 1 ? CreateAccountResult.Created : CreateAccountResult.AlreadyExists;
    }

    public async Task<AccountCredentials?> GetCredentialsAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AccountArguments.DomainOf(bareJid);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectCredentialsSql;
        select.Parameters.AddWithValue("$jid", bareJid);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new AccountCredentials(
            new ScramCredentials(ScramHash.Sha1, reader.GetFieldValue<byte[]>(0), reader.GetInt32(1), reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<byte[]>(3)),
            new ScramCredentials(ScramHash.Sha256, reader.GetFieldValue<byte[]>(4), reader.GetInt32(5), reader.GetFieldValue<byte[]>(6), reader.GetFieldValue<byte[]>(7)))
        {
            Disabled = reader.GetBoolean(8),
        };
    }

    public async Task<bool> SetCredentialsAsync(string bareJid, AccountCredentials credentials, CancellationToken cancellationToken = default)
    {
        AccountArguments.DomainOf(bareJid);
        AccountArguments.CheckCredentials(credentials);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var update = connection.CreateCommand();
        update.CommandText = UpdateCredentialsSql;
        update.Parameters.AddWithValue("$jid", bareJid);
        AddCredentialParameters(update);
        BindCredentials(update, credentials);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteAsync(string bareJid, AccountReferences references, CancellationToken cancellationToken = default)
    {
        AccountArguments.DomainOf(bareJid);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        // The user's archived messages that wait in archive_pending are deleted with the others once moved.
        await ((SqliteArchiveStore)storage.Archive).MovePendingAsync(connection, cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        // Without an account row the data is left alone: a user authenticated by LDAP has data but no account here.
        if (await ExecuteAsync(connection, transaction, DeleteSql, bareJid, cancellationToken) == 0)
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, DeleteUserDataSql, bareJid, cancellationToken);
        if (references.HasFlag(AccountReferences.Subscriptions))
        {
            await ExecuteAsync(connection, transaction, EndSubscriptionsSql, bareJid, cancellationToken);
        }

        if (references.HasFlag(AccountReferences.RoomAffiliations))
        {
            await ExecuteAsync(connection, transaction, DeleteRoomAffiliationsSql, bareJid, cancellationToken);
        }

        transaction.Commit();
        return true;
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, string bareJid, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue("$jid", bareJid);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> ExistsAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AccountArguments.DomainOf(bareJid);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var exists = connection.CreateCommand();
        exists.CommandText = ExistsSql;
        exists.Parameters.AddWithValue("$jid", bareJid);
        return (long)(await exists.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    public async Task<bool> SetDisabledAsync(string bareJid, bool disabled, CancellationToken cancellationToken = default)
    {
        AccountArguments.DomainOf(bareJid);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var update = connection.CreateCommand();
        update.CommandText = SetDisabledSql;
        update.Parameters.AddWithValue("$jid", bareJid);
        update.Parameters.AddWithValue("$disabled", disabled);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> SetDisplayNameAsync(string bareJid, string? displayName, CancellationToken cancellationToken = default)
    {
        AccountArguments.DomainOf(bareJid);
        AccountArguments.CheckDisplayName(displayName);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var update = connection.CreateCommand();
        update.CommandText = SetDisplayNameSql;
        update.Parameters.AddWithValue("$jid", bareJid);
        update.Parameters.AddWithValue("$name", (object?)displayName ?? DBNull.Value);
        update.Parameters.AddWithValue("$folded", (object?)AccountArguments.Fold(displayName) ?? DBNull.Value);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<AccountInfo?> GetAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AccountArguments.DomainOf(bareJid);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = GetSql;
        select.Parameters.AddWithValue("$jid", bareJid);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadInfo(reader) : null;
    }

    public async Task<IReadOnlyList<AccountInfo>> SearchAsync(string text, int offset, int limit, CancellationToken cancellationToken = default)
    {
        var pattern = AccountArguments.ContainsPattern(text);
        AccountArguments.CheckPage(offset, limit);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var search = connection.CreateCommand();
        search.CommandText = SearchSql;
        search.Parameters.AddWithValue("$pattern", pattern);
        search.Parameters.AddWithValue("$limit", limit);
        search.Parameters.AddWithValue("$offset", offset);
        var accounts = new List<AccountInfo>();
        await using var reader = await search.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            accounts.Add(ReadInfo(reader));
        }

        return accounts;
    }

    public async Task<int> CountFoundAsync(string text, CancellationToken cancellationToken = default)
    {
        var pattern = AccountArguments.ContainsPattern(text);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var count = connection.CreateCommand();
        count.CommandText = CountFoundSql;
        count.Parameters.AddWithValue("$pattern", pattern);
        return checked((int)(long)(await count.ExecuteScalarAsync(cancellationToken))!);
    }

    private static AccountInfo ReadInfo(SqliteDataReader reader) => new(
        reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetBoolean(2),
        reader.IsDBNull(3) ? null : reader.GetString(3));

    public async Task<IReadOnlyList<AccountInfo>> ListAsync(string? domain, int offset, int limit, CancellationToken cancellationToken = default)
    {
        AccountArguments.CheckDomain(domain);
        AccountArguments.CheckPage(offset, limit);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var list = connection.CreateCommand();
        list.CommandText = domain is null ? ListAllSql : ListDomainSql;
        if (domain is not null)
        {
            list.Parameters.AddWithValue("$domain", domain);
        }

        list.Parameters.AddWithValue("$limit", limit);
        list.Parameters.AddWithValue("$offset", offset);
        var accounts = new List<AccountInfo>();
        await using var reader = await list.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            accounts.Add(ReadInfo(reader));
        }

        return accounts;
    }

    public async Task<int> CountAsync(string? domain, CancellationToken cancellationToken = default)
    {
        AccountArguments.CheckDomain(domain);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var count = connection.CreateCommand();
        count.CommandText = domain is null ? CountAllSql : CountDomainSql;
        if (domain is not null)
        {
            count.Parameters.AddWithValue("$domain", domain);
        }

        return checked((int)(long)(await count.ExecuteScalarAsync(cancellationToken))!);
    }

    public async Task<ImportResult> ImportAsync(
        IAsyncEnumerable<(string BareJid, AccountCredentials Credentials)> accounts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var insert = CreateInsertCommand(connection);
        insert.Prepare();

        // The batch is read from the caller first and written afterwards, so a slow producer (deriving SCRAM keys,
        // reading a file) never holds the write lock that the node and the CLI need.
        var batch = new List<(string BareJid, string Domain, AccountCredentials Credentials)>(ImportBatchSize);
        var created = 0;
        var seen = 0;
        await foreach (var (bareJid, credentials) in accounts.WithCancellation(cancellationToken))
        {
            var domain = AccountArguments.DomainOf(bareJid, nameof(accounts));
            AccountArguments.CheckCredentials(credentials, nameof(accounts));
            batch.Add((bareJid, domain, credentials));
            if (batch.Count == ImportBatchSize)
            {
                created += await WriteBatchAsync(connection, insert, batch, cancellationToken);
                seen += batch.Count;
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            created += await WriteBatchAsync(connection, insert, batch, cancellationToken);
            seen += batch.Count;
        }

        return new ImportResult(created, seen - created);
    }

    private static async Task<int> WriteBatchAsync(
        SqliteConnection connection, SqliteCommand insert, List<(string BareJid, string Domain, AccountCredentials Credentials)> batch, CancellationToken cancellationToken)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        insert.Transaction = transaction;
        var createdAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var created = 0;
        foreach (var (bareJid, domain, credentials) in batch)
        {
            BindAccount(insert, bareJid, domain, credentials, createdAt);
            created += await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        transaction.Commit();
        return created;
    }

    private static SqliteCommand CreateInsertCommand(SqliteConnection connection)
    {
        var insert = connection.CreateCommand();
        insert.CommandText = InsertSql;
        insert.Parameters.Add("$jid", SqliteType.Text);
        insert.Parameters.Add("$domain", SqliteType.Text);
        insert.Parameters.Add("$created_at", SqliteType.Integer);
        AddCredentialParameters(insert);
        return insert;
    }

    private static void BindAccount(SqliteCommand insert, string bareJid, string domain, AccountCredentials credentials, long createdAtUnixMilliseconds)
    {
        insert.Parameters["$jid"].Value = bareJid;
        insert.Parameters["$domain"].Value = domain;
        insert.Parameters["$created_at"].Value = createdAtUnixMilliseconds;
        BindCredentials(insert, credentials);
    }

    private static void AddCredentialParameters(SqliteCommand command)
    {
        foreach (var prefix in (ReadOnlySpan<string>)["$sha1_", "$sha256_"])
        {
            command.Parameters.Add(prefix + "salt", SqliteType.Blob);
            command.Parameters.Add(prefix + "iterations", SqliteType.Integer);
            command.Parameters.Add(prefix + "stored_key", SqliteType.Blob);
            command.Parameters.Add(prefix + "server_key", SqliteType.Blob);
        }
    }

    private static void BindCredentials(SqliteCommand command, AccountCredentials credentials)
    {
        var parameters = command.Parameters;
        parameters["$sha1_salt"].Value = credentials.Sha1.Salt;
        parameters["$sha1_iterations"].Value = credentials.Sha1.Iterations;
        parameters["$sha1_stored_key"].Value = credentials.Sha1.StoredKey;
        parameters["$sha1_server_key"].Value = credentials.Sha1.ServerKey;
        parameters["$sha256_salt"].Value = credentials.Sha256.Salt;
        parameters["$sha256_iterations"].Value = credentials.Sha256.Iterations;
        parameters["$sha256_stored_key"].Value = credentials.Sha256.StoredKey;
        parameters["$sha256_server_key"].Value = credentials.Sha256.ServerKey;
    }
}
