using System.Data;
using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;

namespace Parley.Storage.Postgres;

internal sealed class PostgresRosterStore(PostgresStorage storage) : IRosterStore
{
    private const int ImportBatchSize = 1000;

    // A page is read on a connection of its own and released before the caller sees it, so a slow consumer (writing
    // a file) holds neither a connection nor a snapshot.
    private const int ExportPageSize = 1000;

    private const string ItemColumns = "contact, name, subscription, ask_subscribe, pre_approved, groups";

    private const string SelectVersionSql = "SELECT version FROM roster_versions WHERE user_jid = @user";
    private const string SelectItemsSql = $"SELECT {ItemColumns} FROM roster_items WHERE user_jid = @user ORDER BY contact";
    private const string SelectItemSql = $"SELECT {ItemColumns} FROM roster_items WHERE user_jid = @user AND contact = @contact";
    private const string CountItemsSql = "SELECT COUNT(*) FROM roster_items WHERE user_jid = @user";
    private const string DeleteItemSql = "DELETE FROM roster_items WHERE user_jid = @user AND contact = @contact";

    private const string UpsertItemSql = """
        INSERT INTO roster_items (user_jid, contact, name, subscription, ask_subscribe, pre_approved, groups)
        VALUES (@user, @contact, @name, @subscription, @ask_subscribe, @pre_approved, @groups)
        ON CONFLICT (user_jid, contact) DO UPDATE SET
            name = excluded.name, subscription = excluded.subscription, ask_subscribe = excluded.ask_subscribe,
            pre_approved = excluded.pre_approved, groups = excluded.groups
        """;

    // The row lock of the upsert orders concurrent changes of one roster: each gets its own version.
    private const string BumpVersionSql = """
        INSERT INTO roster_versions (user_jid, domain, version) VALUES (@user, @domain, 1)
        ON CONFLICT (user_jid) DO UPDATE SET version = roster_versions.version + 1
        RETURNING version
        """;

    private const string UpsertPendingSql = """
        INSERT INTO roster_pending (user_jid, contact, stanza_xml) VALUES (@user, @contact, @stanza_xml)
        ON CONFLICT (user_jid, contact) DO UPDATE SET stanza_xml = excluded.stanza_xml
        """;

    private const string DeletePendingSql = "DELETE FROM roster_pending WHERE user_jid = @user AND contact = @contact";
    private const string SelectPendingSql = "SELECT contact, stanza_xml FROM roster_pending WHERE user_jid = @user ORDER BY contact";

    // Keyset pages: everything after (@after_user, @after_contact); the first page starts after ('', '').
    private const string ExportAllSql = $"""
        SELECT user_jid, {ItemColumns} FROM roster_items
        WHERE (user_jid, contact) > (@after_user, @after_contact)
        ORDER BY user_jid, contact LIMIT @limit
        """;

    // A domain's users are found through roster_versions, which every user with items has a row in.
    private const string ExportDomainSql = """
        SELECT v.user_jid, i.contact, i.name, i.subscription, i.ask_subscribe, i.pre_approved, i.groups
        FROM roster_versions v JOIN roster_items i ON i.user_jid = v.user_jid
        WHERE v.domain = @domain AND (v.user_jid, i.contact) > (@after_user, @after_contact)
        ORDER BY v.user_jid, i.contact LIMIT @limit
        """;

    /// <summary>Every login reads the roster, so both queries are prepared; one snapshot for version and items.</summary>
    public async Task<Roster> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        long version;
        await using (var selectVersion = UserCommand(SelectVersionSql, connection, user))
        {
            await selectVersion.PrepareAsync(cancellationToken);
            version = await selectVersion.ExecuteScalarAsync(cancellationToken) is long found ? found : 0;
        }

        var items = new List<RosterItem>();
        await using (var selectItems = UserCommand(SelectItemsSql, connection, user))
        {
            await selectItems.PrepareAsync(cancellationToken);
            await using var reader = await selectItems.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadItem(reader, 0));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new Roster(version, items);
    }

    public async Task<RosterItem?> GetItemAsync(string user, string contact, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckContact(contact);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = UserCommand(SelectItemSql, connection, user);
        select.Parameters.AddWithValue("contact", contact);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadItem(reader, 0) : null;
    }

    public async Task<long> SetItemAsync(string user, RosterItem item, CancellationToken cancellationToken = default)
    {
        var domain = UserDataArguments.CheckUser(user);
        UserDataArguments.CheckRosterItem(item);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var upsert = CreateUpsertItemCommand(connection))
        {
            BindItem(upsert, user, item);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        var version = await BumpVersionAsync(connection, user, domain, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return version;
    }

    public async Task<long?> RemoveItemAsync(string user, string contact, CancellationToken cancellationToken = default)
    {
        var domain = UserDataArguments.CheckUser(user);
        UserDataArguments.CheckContact(contact);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var delete = UserCommand(DeleteItemSql, connection, user))
        {
            delete.Parameters.AddWithValue("contact", contact);
            if (await delete.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return null;
            }
        }

        var version = await BumpVersionAsync(connection, user, domain, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return version;
    }

    public async Task<int> CountAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var count = UserCommand(CountItemsSql, connection, user);
        return checked((int)(long)(await count.ExecuteScalarAsync(cancellationToken))!);
    }

    public async Task SetPendingAsync(string user, string contact, string stanzaXml, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckContact(contact);
        UserDataArguments.CheckXml(stanzaXml);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var upsert = UserCommand(UpsertPendingSql, connection, user);
        upsert.Parameters.AddWithValue("contact", contact);
        upsert.Parameters.AddWithValue("stanza_xml", stanzaXml);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> RemovePendingAsync(string user, string contact, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckContact(contact);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var delete = UserCommand(DeletePendingSql, connection, user);
        delete.Parameters.AddWithValue("contact", contact);
        return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<PendingSubscription>> GetPendingAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = UserCommand(SelectPendingSql, connection, user);
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

        // The batch is read from the caller first and written afterwards, so a slow producer never holds a transaction open.
        var batch = new List<(string User, string Domain, RosterItem Item)>(ImportBatchSize);
        var written = 0;
        await foreach (var (user, item) in items.WithCancellation(cancellationToken))
        {
            var domain = UserDataArguments.CheckUser(user, nameof(items));
            UserDataArguments.CheckRosterItem(item, nameof(items));
            batch.Add((user, domain, item));
            if (batch.Count == ImportBatchSize)
            {
                written += await WriteBatchAsync(batch, cancellationToken);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            written += await WriteBatchAsync(batch, cancellationToken);
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
        await using var select = new NpgsqlCommand(domain is null ? ExportAllSql : ExportDomainSql, connection);
        if (domain is not null)
        {
            select.Parameters.AddWithValue("domain", domain);
        }

        select.Parameters.AddWithValue("after_user", afterUser);
        select.Parameters.AddWithValue("after_contact", afterContact);
        select.Parameters.AddWithValue("limit", ExportPageSize);
        var page = new List<(string User, RosterItem Item)>(ExportPageSize);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add((reader.GetString(0), ReadItem(reader, 1)));
        }

        return page;
    }

    private async Task<int> WriteBatchAsync(List<(string User, string Domain, RosterItem Item)> batch, CancellationToken cancellationToken)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var upsert = CreateUpsertItemCommand(connection);
        await upsert.PrepareAsync(cancellationToken);
        var changedUsers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (user, domain, item) in batch)
        {
            BindItem(upsert, user, item);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
            changedUsers.TryAdd(user, domain);
        }

        foreach (var (user, domain) in changedUsers)
        {
            await BumpVersionAsync(connection, user, domain, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return batch.Count;
    }

    /// <summary>Increments the user's roster version (creating it at 1) inside the caller's transaction.</summary>
    private static async Task<long> BumpVersionAsync(NpgsqlConnection connection, string user, string domain, CancellationToken cancellationToken)
    {
        await using var bump = UserCommand(BumpVersionSql, connection, user);
        bump.Parameters.AddWithValue("domain", domain);
        return (long)(await bump.ExecuteScalarAsync(cancellationToken))!;
    }

    private static NpgsqlCommand UserCommand(string sql, NpgsqlConnection connection, string user)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("user", NpgsqlDbType.Text) { TypedValue = user });
        return command;
    }

    private static NpgsqlCommand CreateUpsertItemCommand(NpgsqlConnection connection)
    {
        var upsert = new NpgsqlCommand(UpsertItemSql, connection);
        upsert.Parameters.Add("user", NpgsqlDbType.Text);
        upsert.Parameters.Add("contact", NpgsqlDbType.Text);
        upsert.Parameters.Add("name", NpgsqlDbType.Text);
        upsert.Parameters.Add("subscription", NpgsqlDbType.Text);
        upsert.Parameters.Add("ask_subscribe", NpgsqlDbType.Boolean);
        upsert.Parameters.Add("pre_approved", NpgsqlDbType.Boolean);
        upsert.Parameters.Add("groups", NpgsqlDbType.Array | NpgsqlDbType.Text);
        return upsert;
    }

    private static void BindItem(NpgsqlCommand upsert, string user, RosterItem item)
    {
        var parameters = upsert.Parameters;
        parameters["user"].Value = user;
        parameters["contact"].Value = item.Contact;
        parameters["name"].Value = (object?)item.Name ?? DBNull.Value;
        parameters["subscription"].Value = RosterSubscriptions.ToText(item.Subscription);
        parameters["ask_subscribe"].Value = item.AskSubscribe;
        parameters["pre_approved"].Value = item.PreApproved;
        parameters["groups"].Value = item.Groups as string[] ?? [.. item.Groups];
    }

    private static RosterItem ReadItem(NpgsqlDataReader reader, int first) => new(
        Contact: reader.GetString(first),
        Name: reader.IsDBNull(first + 1) ? null : reader.GetString(first + 1),
        Subscription: RosterSubscriptions.Parse(reader.GetString(first + 2)),
        AskSubscribe: reader.GetBoolean(first + 3),
        PreApproved: reader.GetBoolean(first + 4),
        Groups: reader.GetFieldValue<string[]>(first + 5));
}
