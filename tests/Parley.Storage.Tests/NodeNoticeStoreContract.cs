namespace Parley.Storage.Tests;

/// <summary>What every <see cref="INodeNoticeStore"/> must do.</summary>
public abstract class NodeNoticeStoreContract : StorageContract
{
    private INodeNoticeStore Notices => Storage.Notices;

    [Fact]
    public async Task A_new_database_has_no_notices_and_latest_id_0()
    {
        Assert.Equal(0, await Notices.LatestIdAsync());
        Assert.Empty(await Notices.ReadAfterAsync(0, 10));
    }

    [Fact]
    public async Task Published_notices_are_read_after_an_id_oldest_first_with_kind_subject_and_time()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var first = await Notices.PublishAsync("account-removed", "alice@example.org");
        var second = await Notices.PublishAsync("room-changed", "team@conference.example.org");
        var third = await Notices.PublishAsync("account-removed", "bob@example.org");

        Assert.True(first < second && second < third, $"ids {first}, {second}, {third} do not grow");
        Assert.Equal(third, await Notices.LatestIdAsync());
        var all = await Notices.ReadAfterAsync(0, 10);
        Assert.Equal([(first, "account-removed", "alice@example.org"), (second, "room-changed", "team@conference.example.org"), (third, "account-removed", "bob@example.org")],
            all.Select(n => (n.Id, n.Kind, n.Subject)));
        Assert.All(all, n => Assert.InRange(n.CreatedAt, before, DateTimeOffset.UtcNow.AddSeconds(1)));
        Assert.Equal([third], (await Notices.ReadAfterAsync(second, 10)).Select(n => n.Id));
        Assert.Empty(await Notices.ReadAfterAsync(third, 10));
    }

    [Fact]
    public async Task Reading_returns_at_most_max_notices_and_the_rest_on_the_next_read()
    {
        for (var i = 0; i < 5; i++)
        {
            await Notices.PublishAsync("room-changed", $"room{i}@conference.example.org");
        }

        var page = await Notices.ReadAfterAsync(0, 3);
        var rest = await Notices.ReadAfterAsync(page[^1].Id, 3);

        Assert.Equal(["room0", "room1", "room2"], page.Select(n => n.Subject.Split('@')[0]));
        Assert.Equal(["room3", "room4"], rest.Select(n => n.Subject.Split('@')[0]));
    }

    [Fact]
    public async Task Deleting_old_notices_keeps_newer_ones_and_ids_keep_growing()
    {
        var old = await Notices.PublishAsync("account-removed", "alice@example.org");

        Assert.Equal(0, await Notices.DeleteOlderThanAsync(DateTimeOffset.UtcNow.AddHours(-1)));
        Assert.Equal(1, await Notices.DeleteOlderThanAsync(DateTimeOffset.UtcNow.AddSeconds(1)));

        Assert.Empty(await Notices.ReadAfterAsync(0, 10));
        // A node that saw 'old' must still see what comes next, so neither id nor latest id go back.
        Assert.Equal(old, await Notices.LatestIdAsync());
        var next = await Notices.PublishAsync("account-removed", "bob@example.org");
        Assert.True(next > old, $"id {next} after deleting {old}");
        Assert.Equal(["bob@example.org"], (await Notices.ReadAfterAsync(old, 10)).Select(n => n.Subject));
    }

    [Fact]
    public async Task An_empty_kind_or_subject_is_refused_and_nothing_is_published()
    {
        var noKind = await Assert.ThrowsAsync<ArgumentException>(() => Notices.PublishAsync("", "alice@example.org"));
        var noSubject = await Assert.ThrowsAsync<ArgumentException>(() => Notices.PublishAsync("account-removed", ""));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Notices.PublishAsync(null!, "alice@example.org"));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Notices.PublishAsync("account-removed", null!));

        Assert.Equal("The notice kind is empty. (Parameter 'kind')", noKind.Message);
        Assert.Equal("The notice subject is empty. (Parameter 'subject')", noSubject.Message);
        Assert.Equal(0, await Notices.LatestIdAsync());
    }

    [Fact]
    public async Task A_negative_id_or_a_max_below_1_is_refused()
    {
        var negative = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Notices.ReadAfterAsync(-1, 10));
        var zero = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Notices.ReadAfterAsync(0, 0));

        Assert.Equal("afterId", negative.ParamName);
        Assert.Equal("max", zero.ParamName);
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_publishes_nothing()
    {
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Notices.PublishAsync("account-removed", "alice@example.org", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Notices.ReadAfterAsync(0, 10, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Notices.LatestIdAsync(token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Notices.DeleteOlderThanAsync(DateTimeOffset.UtcNow, token));

        Assert.Equal(0, await Notices.LatestIdAsync());
    }
}
