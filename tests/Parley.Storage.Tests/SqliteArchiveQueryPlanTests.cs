using Parley.Storage.Sqlite;
using Filters = Parley.Storage.Sqlite.SqliteArchiveStore.Filters;

namespace Parley.Storage.Tests;

/// <summary>
/// Every archive query reads one index range in result order: a page of 50 costs the same among a million messages
/// as among a hundred. Only a query by ids sorts, and it sorts at most the ids it names.
/// </summary>
public sealed class SqliteArchiveQueryPlanTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    /// <summary>Every combination of with (bare or full), start, end, after and before, as <see cref="Filters"/> bits.</summary>
    private static IEnumerable<Filters> Combinations()
    {
        foreach (var with in new[] { Filters.None, Filters.With, Filters.With | Filters.WithResource })
        {
            for (var bits = 0; bits < 16; bits++)
            {
                yield return with
                    | ((bits & 1) != 0 ? Filters.Start : Filters.None)
                    | ((bits & 2) != 0 ? Filters.End : Filters.None)
                    | ((bits & 4) != 0 ? Filters.After : Filters.None)
                    | ((bits & 8) != 0 ? Filters.Before : Filters.None);
            }
        }
    }

    // The enum is internal, so theories take its bits.
    public static TheoryData<int, bool> PageQueries()
    {
        var data = new TheoryData<int, bool>();
        foreach (var filters in Combinations())
        {
            data.Add((int)filters, false);
            data.Add((int)filters, true);
        }

        return data;
    }

    public static TheoryData<int> CountQueries()
    {
        var data = new TheoryData<int>();
        foreach (var filters in Combinations())
        {
            // The count leaves out the paging position (after, before); without filters it is kept in archive_counts.
            if ((filters & (Filters.After | Filters.Before)) == 0 && filters != Filters.None)
            {
                data.Add((int)filters);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PageQueries))]
    public async Task A_page_is_read_from_one_index_range_without_sorting(int bits, bool fromEnd)
    {
        var filters = (Filters)bits;
        var plan = await PlanAsync(SqliteArchiveStore.SelectPageSql(filters, fromEnd));

        var index = filters.HasFlag(Filters.With) ? "archive_messages_by_with (archive=? AND with_bare=?" : "archive_messages_by_stamp (archive=?";
        Assert.Contains($"USING INDEX {index}", plan);
        if (filters.HasFlag(Filters.Start) || filters.HasFlag(Filters.After))
        {
            Assert.Contains("stamp>?", plan);
        }

        if (filters.HasFlag(Filters.End) || filters.HasFlag(Filters.Before))
        {
            Assert.Contains("stamp<?", plan);
        }

        Assert.DoesNotContain("SCAN", plan);
        Assert.DoesNotContain("TEMP B-TREE", plan);
    }

    [Theory]
    [MemberData(nameof(CountQueries))]
    public async Task The_count_reads_only_an_index(int bits)
    {
        var filters = (Filters)bits;
        var plan = await PlanAsync(SqliteArchiveStore.CountSql(filters));

        var index = filters.HasFlag(Filters.With) ? "archive_messages_by_with (archive=? AND with_bare=?" : "archive_messages_by_stamp (archive=?";
        // With a full JID the resource is read from the row; a bare JID or none counts from the index alone.
        Assert.Contains(filters.HasFlag(Filters.WithResource) ? $"USING INDEX {index}" : $"USING COVERING INDEX {index}", plan);
        Assert.DoesNotContain("SCAN", plan);
    }

    [Fact]
    public async Task A_query_by_ids_looks_each_up_by_key_and_sorts_only_those()
    {
        var page = await PlanAsync(SqliteArchiveStore.SelectPageSql(Filters.Ids | Filters.Start | Filters.After, fromEnd: false));
        var count = await PlanAsync(SqliteArchiveStore.CountSql(Filters.Ids));
        var missing = await PlanAsync(SqliteArchiveStore.SelectMissingIdSql);

        foreach (var plan in new[] { page, count, missing })
        {
            Assert.Contains("archive_messages USING INTEGER PRIMARY KEY (rowid=?)", plan);
            Assert.DoesNotContain("SCAN archive_messages", plan);
        }
    }

    [Theory]
    [InlineData((int)Filters.FullText, false)]
    [InlineData((int)(Filters.FullText | Filters.With | Filters.Start | Filters.End | Filters.After), false)]
    [InlineData((int)(Filters.FullText | Filters.Before), true)]
    [InlineData((int)(Filters.FullText | Filters.Ids), false)]
    public async Task A_search_reads_the_full_text_index_and_looks_up_only_the_messages_it_found(int bits, bool fromEnd)
    {
        var filters = (Filters)bits;
        var page = await PlanAsync(SqliteArchiveStore.SelectPageSql(filters, fromEnd));
        var count = await PlanAsync(SqliteArchiveStore.CountSql(filters & ~(Filters.After | Filters.Before)));

        foreach (var plan in new[] { page, count })
        {
            Assert.Contains("archive_search VIRTUAL TABLE INDEX 0:M", plan);
            Assert.Contains("archive_messages USING INTEGER PRIMARY KEY (rowid=?)", plan);
            Assert.DoesNotContain("SCAN archive_messages", plan);
        }
    }

    [Fact]
    public async Task A_messages_entry_in_the_full_text_index_is_deleted_by_its_rowid()
    {
        // FTS5 names a rowid lookup "=" in its index string; a plain scan would have none.
        Assert.Contains("archive_search VIRTUAL TABLE INDEX 0:=", await PlanAsync(SqliteArchiveStore.DeleteSearchSql));
    }

    [Theory]
    [InlineData(SqliteArchiveStore.SelectPositionSql, "USING INTEGER PRIMARY KEY (rowid=?)")]
    [InlineData(SqliteArchiveStore.ReplaceXmlSql, "USING INTEGER PRIMARY KEY (rowid=?)")]
    [InlineData(SqliteArchiveStore.DeleteArchiveSql, "(archive=?)")]
    [InlineData(SqliteArchiveStore.DeleteOldBatchSql, "USING COVERING INDEX archive_messages_for_retention (stamp<?)")]
    [InlineData(SqliteArchiveStore.SelectPreferencesSql, "USING PRIMARY KEY (archive=?)")]
    [InlineData(SqliteArchiveStore.SelectCountSql, "USING PRIMARY KEY (archive=?)")]
    public async Task The_other_statements_use_an_index(string sql, string expected)
    {
        var plan = await PlanAsync(sql);

        Assert.Contains(expected, plan);
        Assert.DoesNotContain("SCAN archive", plan);
    }

    private async Task<string> PlanAsync(string sql)
    {
        await (await SqliteStorage.OpenAsync(_database.Path)).DisposeAsync();
        using var connection = _database.OpenRawConnection();
        return string.Join("\n", connection.Rows("EXPLAIN QUERY PLAN " + sql));
    }
}
