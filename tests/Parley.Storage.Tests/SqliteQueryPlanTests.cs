using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

/// <summary>
/// Every per-user query reaches its rows through an index: none scans a whole table or sorts in a temporary b-tree.
/// (Upserts are left out: ON CONFLICT always goes through the primary key.)
/// </summary>
public sealed class SqliteQueryPlanTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    public static TheoryData<string, string> Queries() => new()
    {
        { "roster version", SqliteRosterStore.SelectVersionSql },
        { "roster items", SqliteRosterStore.SelectItemsSql },
        { "roster item", SqliteRosterStore.SelectItemSql },
        { "roster count", SqliteRosterStore.CountItemsSql },
        { "roster item delete", SqliteRosterStore.DeleteItemSql },
        { "pending delete", SqliteRosterStore.DeletePendingSql },
        { "pending list", SqliteRosterStore.SelectPendingSql },
        { "roster export", SqliteRosterStore.ExportAllSql },
        { "roster export of a domain", SqliteRosterStore.ExportDomainSql },
        { "offline store", SqliteOfflineStore.InsertBelowLimitSql },
        { "offline list", SqliteOfflineStore.SelectSql },
        { "offline delete", SqliteOfflineStore.DeleteSql },
        { "offline count", SqliteOfflineStore.CountSql },
        { "blocklist", SqliteBlocklistStore.SelectSql },
        { "blocklist delete", SqliteBlocklistStore.DeleteSql },
        { "blocklist clear", SqliteBlocklistStore.DeleteAllSql },
        { "document", SqliteUserDocumentStore.SelectSql },
        { "document delete", SqliteUserDocumentStore.DeleteSql },
        { "document list", SqliteUserDocumentStore.ListSql },
        { "pep nodes", SqlitePepStore.SelectNodesSql },
        { "pep node", SqlitePepStore.SelectNodeSql },
        { "pep node exists", SqlitePepStore.NodeExistsSql },
        { "pep config", SqlitePepStore.UpdateConfigSql },
        { "pep node delete", SqlitePepStore.DeleteNodeSql },
        { "pep node items delete", SqlitePepStore.DeleteNodeItemsSql },
        { "pep item delete", SqlitePepStore.DeleteItemSql },
        { "pep trim", SqlitePepStore.TrimSql },
        { "pep newest items", SqlitePepStore.SelectNewestSql },
        { "pep item", SqlitePepStore.SelectItemSql },
        { "node notices after an id", SqliteNodeNoticeStore.SelectAfterSql },
        { "node notices expiry", SqliteNodeNoticeStore.DeleteOlderSql },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task The_query_uses_an_index(string query, string sql)
    {
        await (await SqliteStorage.OpenAsync(_database.Path)).DisposeAsync();
        using var connection = _database.OpenRawConnection();

        AssertUsesIndexes(query, string.Join("\n", connection.Rows("EXPLAIN QUERY PLAN " + sql)));
    }

    [Fact]
    public async Task Deleting_a_users_data_uses_an_index_on_every_table()
    {
        await (await SqliteStorage.OpenAsync(_database.Path)).DisposeAsync();
        using var connection = _database.OpenRawConnection();

        foreach (var statement in string.Join('\n', SqliteAccountStore.DeleteUserDataSql, SqliteAccountStore.EndSubscriptionsSql, SqliteAccountStore.DeleteRoomAffiliationsSql).Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            AssertUsesIndexes(statement, string.Join("\n", connection.Rows("EXPLAIN QUERY PLAN " + statement)));
        }
    }

    private static void AssertUsesIndexes(string query, string plan)
    {
        foreach (var step in plan.Split('\n'))
        {
            // Rows: id|parent|notused|detail. "SCAN CONSTANT ROW" is the VALUES/SELECT of an INSERT, not a table.
            var detail = step[(step.LastIndexOf('|') + 1)..];
            Assert.False(
                detail.StartsWith("SCAN ", StringComparison.Ordinal) && detail != "SCAN CONSTANT ROW",
                $"{query} scans a whole table:\n{plan}");
            Assert.DoesNotContain("TEMP B-TREE", detail);
        }
    }
}
