using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

internal sealed class SqliteRosterStore(SqliteStorage storage) : IRosterStore
{
    // Same trade-off as the account import: commit cost vanishes per item, the write lock is held only briefly.
    private const int ImportBatchSize = 1000;

    // An export page is read on a connection of its own and released before the caller sees it, so a slow consumer
    // (writing a file) never holds a read snapshot that keeps the WAL from being checkpointed.
    private const int ExportPageSize = 1000;

    private const string ItemColumns = "contact, name, subscription, ask_subscribe, pre_approved, groups_json";

    internal const string SelectVersionSql = "SELECT version FROM roster_versions WHERE user_jid = $user";
    internal const string SelectItemsSql = $"SELECT {ItemColumns} FROM roster_items WHERE user_jid = $user ORDER BY contact";
    internal const string SelectItemSql = $"SELECT {ItemColumns} FROM roster_items WHERE user_jid = $user AND contact = $contact";
    internal const string CountItemsSql = "SELECT COUNT(*) FROM roster_items WHERE user_jid = $user";
    internal const string DeleteItemSql = "DELETE FROM roster_items WHERE user_jid = $user AND contact = $contact";

    internal const string UpsertItemSql = """
        INSERT INTO roster_items (user_jid, contact, name, subscription, ask_subscribe, pre_approved, groups_json)
        VALUES ($user, $contact, $name, $subscription, $ask_subscribe, $pre_approved, $groups_json)
        ON CONFLICT (user_jid, contact) DO UPDATE SET
            name = excluded.name, subscription = excluded.subscription, ask_subscribe = excluded.ask_subscribe,
            pre_approved = excluded.pre_approved, groups_json = excluded.groups_json
        """;

    internal const string BumpVersionSql = """
        INSERT INTO roster_versions (user_jid, domain, version) VALUES ($user, $domain, 1)
        ON CONFLICT (user_jid) DO UPDATE SET version = version + 1
        """;

    internal const string UpsertPendingSql = """
        INSERT INTO roster_pending (user_jid, contact, stanza_xml) VALUES ($user, $contact, $stanza_xml)
        ON CONFLICT (user_jid, contact) DO UPDATE SET stanza_xml = excluded.stanza_xml
        """;

    internal const string DeletePendingSql = "DELETE FROM roster_pending WHERE user_jid = $user AND contact = $contact";
    internal const string SelectPendingSql = "SELECT contact, stanza_xml FROM roster_pending WHERE user_jid = $user ORDER BY contact";

    // Keyset pages: everything after ($after_user, $after_contact); the first page starts after ('', '').
    internal const string ExportAllSql = $"""
        SELECT user_jid, {ItemColumns} FROM roster_items
        WHERE (user_jid, contact) > ($after_user, $after_contact)
        ORDER BY user_jid, contact LIMIT $limit
        """;

    // A domain's users are found through roster_versions, which every user with items has a row in.
    internal const string ExportDomainSql = """
        SELECT v.user_jid, i.contact, i.name, i.subscription, i.ask_subscribe, i.pre_approved, i.groups_json
        FROM roster_versions v JOIN roster_items i ON i.user_jid = v.user_jid
        WHERE v.domain = $domain AND v.user_jid >= $after_user AND (v.user_jid > $after_user OR i.contact > $after_contact)
        ORDER BY v.user_jid, i.contact LIMIT $limit
        """;

    public async Task<Roster> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);

        // One read transaction: the version and the items come from the same snapshot.
        using var transaction = connection.BeginTransaction(deferred: true);
        long version;
        using (var selectVersion = connection.CreateCommand())
        {
            selectVersion.Transaction = transaction;
            selectVersion.CommandText = SelectVersionSql;
            selectVersion.Parameters.AddWithValue("$user", user);
            version = (long?)await selectVersion.ExecuteScalarAsync(cancellationToken) ?? 0;
        }

        var items = new List<RosterItem>();
        using (var selectItems = connection.CreateCommand())
        {
            selectItems.Transaction = transaction;
            selectItems.CommandText = SelectItemsSql;
            selectItems.Parameters.AddWithValue("$user", user);
            await using var reader = await selectItems.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadItem(reader, 0));
            }
        }

        transaction.Commit();
        return new Roster(version, items);
    }

    public async Task<RosterItem?> GetItemAsync(string user, string contact, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckContact(contact);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectItemSql;
        select.Parameters.AddWithValue("$user", user);
        select.Parameters.AddWithValue("$contact", contact);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadItem(reader, 0) : null;
    }

    public async Task<long> SetItemAsync(string user, RosterItem item, CancellationToken cancellationToken = default)
    {
        var domain = UserDataArguments.CheckUser(user);
        UserDataArguments.CheckRosterItem(item);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var upsert = CreateUpsertItemCommand(connection))
        {
            upsert.Transaction = transaction;
            BindItem(upsert, user, item);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        var version = await BumpVersionAsync(connection, transaction, user, domain, cancellationToken);
        transaction.Commit();
        return version;
    }

    public async Task<long?> RemoveItemAsync(string user, string contact, CancellationToken cancellationToken = default)
    {
        var domain = UserDataArguments.CheckUser(user);
        UserDataArguments.CheckContact(contact);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = DeleteItemSql;
            delete.Parameters.AddWithValue("$user", user);
            delete.Parameters.AddWithValue("$contact", contact);
            if (await delete.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return null;
            }
        }

        var version = await BumpVersionAsync(connection, transaction, user, domain, cancellationToken);
        transaction.Commit();
        return version;
    }

    public async Task<int> CountAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var count = connection.CreateCommand();
        count.CommandText = CountItemsSql;
        count.Parameters.AddWithValue("$user", user);
        return checked((int)(long)(await count.ExecuteScalarAsync(cancellationToken))!);
    }

    public async Task SetPendingAsync(string user, string contact, string stanzaXml, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckContact(contact);
        UserDataArguments.CheckXml(stanzaXml);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var upsert = connection.CreateCommand();
        upsert.CommandText = UpsertPendingSql;
        upsert.Parameters.AddWithValue("$user", user);
        upsert.Parameters.AddWithValue("$contact", contact);
        upsert.Parameters.AddWithValue("$stanza_xml", stanzaXml);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> RemovePendingAsync(string user, string contact, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckContact(contact);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var delete = connection.CreateCommand();
        delete.CommandText = DeletePendingSql;
        delete.Parameters.AddWithValue("$user", user);
        delete.Parameters.AddWithValue("$contact", contact);
        return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<PendingSubscription>> GetPendingAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectPendingSql;
        select.Parameters.AddWithValue("$user", user);
        var pending = new List<PendingSubscription>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pending.Add(new PendingSubscription(reader.GetString(0), reader.GetString(1)));
        }

        return pending;
    }

    public async Task<int> ImportAsync(IAsyncEnumerable<(string User, RosterItem Item)> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var upsert = CreateUpsertItemCommand(connection);
        upsert.Prepare();

        // The batch is read from the caller first and written afterwards, so a slow producer never holds the write lock.
        var batch = new List<(string User, string Domain, RosterItem Item)>(ImportBatchSize);
        var written = 0;
        await foreach (var (user, item) in items.WithCancellation(cancellationToken))
        {
            var domain = UserDataArguments.CheckUser(user, nameof(items));
            UserDataArguments.CheckRosterItem(item, nameof(items));
            batch.Add((user, domain, item));
            if (batch.Count == ImportBatchSize)
            {
                written += await WriteBatchAsync(connection, upsert, batch, cancellationToken);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            written += await WriteBatchAsync(connection, upsert, batch, cancellationToken);
        }

        return written;
    }

    public IAsyncEnumerable<(string User, RosterItem Item)> ExportAsync(string? domain, CancellationToken cancellationToken = default)
    {
        // Checked here rather than in the iterator, so a bad domain fails at the call and not at the first MoveNextAsync.
        AccountArguments.CheckDomain(domain);
        return ExportPagesAsync(domain, cancellationToken);
    }

    private async IAsyncEnumerable<(string User, RosterItem Item)> ExportPagesAsync(string? domain, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var afterUser = "";
        var afterContact = "";
        while (true)
        {
            var page = await ReadExportPageAsync(domain, afterUser, afterContact, cancellationToken);
            foreach (var row in page)
            {
                yield return row;
            }

            if (page.Count < ExportPageSize)
            {
                yield break;
            }

            (afterUser, afterContact) = (page[^1].User, page[^1].Item.Contact);
        }
    }

    private async Task<List<(string User, RosterItem Item)>> ReadExportPageAsync(string? domain, string afterUser, string afterContact, CancellationToken cancellationToken)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = domain is null ? ExportAllSql : ExportDomainSql;
        if (domain is not null)
        {
            select.Parameters.AddWithValue("$domain", domain);
        }

        select.Parameters.AddWithValue("$after_user", afterUser);
        select.Parameters.AddWithValue("$after_contact", afterContact);
        select.Parameters.AddWithValue("$limit", ExportPageSize);
        var page = new List<(string User, RosterItem Item)>(ExportPageSize);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add((reader.GetString(0), ReadItem(reader, 1)));
        }

        return page;
    }

    private static async Task<int> WriteBatchAsync(
        SqliteConnection connection, SqliteCommand upsert, List<(string User, string Domain, RosterItem Item)> batch, CancellationToken cancellationToken)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        upsert.Transaction = transaction;
        var changedUsers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (user, domain, item) in batch)
        {
            BindItem(upsert, user, item);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
            changedUsers.TryAdd(user, domain);
        }

        foreach (var (user, domain) in changedUsers)
        {
            await BumpVersionAsync(connection, transaction, user, domain, cancellationToken);
        }

        transaction.Commit();
        return batch.Count;
    }

    /// <summary>Increments the user's roster version (creating it at 1) inside the caller's write transaction.</summary>
    private static async Task<long> BumpVersionAsync(
        SqliteConnection connection, SqliteTransaction transaction, string user, string domain, CancellationToken cancellationToken)
    {
        using var bump = connection.CreateCommand();
        bump.Transaction = transaction;
        bump.CommandText = BumpVersionSql;
        bump.Parameters.AddWithValue("$user", user);
        bump.Parameters.AddWithValue("$domain", domain);
        await bump.ExecuteNonQueryAsync(cancellationToken);

        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = SelectVersionSql;
        select.Parameters.AddWithValue("$user", user);
        return (long)(await select.ExecuteScalarAsync(cancellationToken))!;
    }

    private static SqliteCommand CreateUpsertItemCommand(SqliteConnection connection)
    {
        var upsert = connection.CreateCommand();
        upsert.CommandText = UpsertItemSql;
        upsert.Parameters.Add("$user", SqliteType.Text);
        upsert.Parameters.Add("$contact", SqliteType.Text);
        upsert.Parameters.Add("$name", SqliteType.Text);
        upsert.Parameters.Add("$subscription", SqliteType.Text);
        upsert.Parameters.Add("$ask_subscribe", SqliteType.Integer);
        upsert.Parameters.Add("$pre_approved", SqliteType.Integer);
        upsert.Parameters.Add("$groups_json", SqliteType.Text);
        return upsert;
    }

    private static void BindItem(SqliteCommand upsert, string user, RosterItem item)
    {
        var parameters = upsert.Parameters;
        parameters["$user"].Value = user;
        parameters["$contact"].Value = item.Contact;
        parameters["$name"].Value = (object?)item.Name ?? DBNull.Value;
        parameters["$subscription"].Value = RosterSubscriptions.ToText(item.Subscription);
        parameters["$ask_subscribe"].Value = item.AskSubscribe;
        parameters["$pre_approved"].Value = item.PreApproved;
        parameters["$groups_json"].Value = RosterGroupsJson.Write(item.Groups);
    }

    private static RosterItem ReadItem(SqliteDataReader reader, int first) => new(
        Contact: reader.GetString(first),
        Name: reader.IsDBNull(first + 1) ? null : reader.GetString(first + 1),
        Subscription: RosterSubscriptions.Parse(reader.GetString(first + 2)),
        AskSubscribe: reader.GetBoolean(first + 3),
        PreApproved: reader.GetBoolean(first + 4),
        Groups: RosterGroupsJson.Read(reader.GetString(first + 5)));
}
