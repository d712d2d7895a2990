namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IOfflineStore"/> must do.</summary>
public abstract class OfflineStoreContract : StorageContract
{
    private const string Alice = "alice@example.org";
    private const string Bob = "bob@example.org";

    private IOfflineStore Offline => Storage.Offline;

    [Fact]
    public async Task Stored_messages_come_back_oldest_first_with_their_stamps()
    {
        var first = new DateTimeOffset(2024, 5, 1, 12, 0, 0, 123, TimeSpan.Zero);
        var second = new DateTimeOffset(2024, 5, 1, 14, 30, 0, 456, TimeSpan.FromHours(2));

        Assert.True(await Offline.StoreAsync(Alice, "<message id='1'><body>first</body></message>", first, 100));
        Assert.True(await Offline.StoreAsync(Alice, "<message id='2'><body>zweite Nachricht ✓</body></message>", second, 100));

        var messages = await Offline.GetAsync(Alice);
        Assert.Equal(["<message id='1'><body>first</body></message>", "<message id='2'><body>zweite Nachricht ✓</body></message>"], messages.Select(m => m.Xml));
        Assert.Equal([first, second], messages.Select(m => m.Stamp));
        Assert.True(messages[0].Id < messages[1].Id);
        Assert.Equal(2, await Offline.CountAsync(Alice));
    }

    [Fact]
    public async Task Stamps_are_kept_to_the_millisecond_in_utc()
    {
        var stamp = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.FromHours(-5)).AddTicks(1_234_567);

        await Offline.StoreAsync(Alice, "<message/>", stamp, 100);

        var stored = Assert.Single(await Offline.GetAsync(Alice)).Stamp;
        Assert.Equal(TimeSpan.Zero, stored.Offset);
        Assert.Equal(stamp.ToUnixTimeMilliseconds(), stored.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Getting_does_not_remove()
    {
        await Offline.StoreAsync(Alice, "<message/>", DateTimeOffset.UtcNow, 100);

        await Offline.GetAsync(Alice);

        Assert.Single(await Offline.GetAsync(Alice));
    }

    [Fact]
    public async Task At_the_limit_a_message_is_refused_and_nothing_is_stored()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await Offline.StoreAsync(Alice, $"<message id='{i}'/>", DateTimeOffset.UtcNow, 3));
        }

        Assert.False(await Offline.StoreAsync(Alice, "<message id='over'/>", DateTimeOffset.UtcNow, 3));

        Assert.Equal(3, await Offline.CountAsync(Alice));
        Assert.DoesNotContain("<message id='over'/>", (await Offline.GetAsync(Alice)).Select(m => m.Xml));
        Assert.True(await Offline.StoreAsync(Bob, "<message/>", DateTimeOffset.UtcNow, 3));
    }

    [Fact]
    public async Task A_limit_of_0_stores_nothing()
    {
        Assert.False(await Offline.StoreAsync(Alice, "<message/>", DateTimeOffset.UtcNow, 0));

        Assert.Equal(0, await Offline.CountAsync(Alice));
    }

    [Fact]
    public async Task Concurrent_stores_at_one_below_the_limit_store_exactly_one()
    {
        // Several rounds on fresh users, because a race shows up only in some interleavings.
        for (var round = 0; round < 5; round++)
        {
            var user = $"user{round}@example.org";
            for (var i = 0; i < 9; i++)
            {
                await Offline.StoreAsync(user, $"<message id='{i}'/>", DateTimeOffset.UtcNow, 10);
            }

            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stores = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
            {
                await go.Task;
                return await Offline.StoreAsync(user, $"<message id='racer{i}'/>", DateTimeOffset.UtcNow, 10);
            })).ToArray();
            go.SetResult();

            var results = await Task.WhenAll(stores);

            Assert.Single(results, stored => stored);
            Assert.Equal(10, await Offline.CountAsync(user));
        }
    }

    [Fact]
    public async Task Removing_by_id_removes_those_messages_and_leaves_the_others()
    {
        for (var i = 0; i < 5; i++)
        {
            await Offline.StoreAsync(Alice, $"<message id='{i}'/>", DateTimeOffset.UtcNow, 100);
        }

        var stored = await Offline.GetAsync(Alice);

        await Offline.RemoveAsync(Alice, [stored[1].Id, stored[3].Id, 999_999]);

        Assert.Equal(["<message id='0'/>", "<message id='2'/>", "<message id='4'/>"], (await Offline.GetAsync(Alice)).Select(m => m.Xml));
        Assert.Equal(3, await Offline.CountAsync(Alice));
        await Offline.RemoveAsync(Alice, []);
        Assert.Equal(3, await Offline.CountAsync(Alice));
    }

    [Fact]
    public async Task Ids_are_never_reused_after_a_removal()
    {
        await Offline.StoreAsync(Alice, "<message id='1'/>", DateTimeOffset.UtcNow, 100);
        await Offline.StoreAsync(Alice, "<message id='2'/>", DateTimeOffset.UtcNow, 100);
        var removedId = (await Offline.GetAsync(Alice))[1].Id;
        await Offline.RemoveAsync(Alice, [removedId]);

        await Offline.StoreAsync(Alice, "<message id='3'/>", DateTimeOffset.UtcNow, 100);

        // A session that still holds the old id must not be able to remove the new message with it.
        Assert.True((await Offline.GetAsync(Alice))[1].Id > removedId);
        await Offline.RemoveAsync(Alice, [removedId]);
        Assert.Equal(2, await Offline.CountAsync(Alice));
    }

    [Fact]
    public async Task One_users_messages_are_invisible_to_another_and_safe_from_their_removals()
    {
        await Offline.StoreAsync(Alice, "<message to='alice@example.org'/>", DateTimeOffset.UtcNow, 100);
        var alicesId = Assert.Single(await Offline.GetAsync(Alice)).Id;

        await Offline.RemoveAsync(Bob, [alicesId]);

        Assert.Empty(await Offline.GetAsync(Bob));
        Assert.Equal(0, await Offline.CountAsync(Bob));
        Assert.Equal(alicesId, Assert.Single(await Offline.GetAsync(Alice)).Id);
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_changes_nothing()
    {
        await Offline.StoreAsync(Alice, "<message/>", DateTimeOffset.UtcNow, 100);
        var id = Assert.Single(await Offline.GetAsync(Alice)).Id;
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Offline.StoreAsync(Alice, "<message/>", DateTimeOffset.UtcNow, 100, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Offline.GetAsync(Alice, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Offline.RemoveAsync(Alice, [id], token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Offline.CountAsync(Alice, token));

        Assert.Equal(id, Assert.Single(await Offline.GetAsync(Alice)).Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("example.org")]
    [InlineData("alice@example.org/phone")]
    public async Task A_user_that_is_not_a_bare_account_jid_is_refused(string badUser)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Offline.StoreAsync(badUser, "<message/>", DateTimeOffset.UtcNow, 100));
        Assert.Equal($"'{badUser}' is not a bare account JID of the form localpart@domain. (Parameter 'user')", error.Message);

        await Assert.ThrowsAsync<ArgumentException>(() => Offline.GetAsync(badUser));
        await Assert.ThrowsAsync<ArgumentException>(() => Offline.RemoveAsync(badUser, [1]));
        await Assert.ThrowsAsync<ArgumentException>(() => Offline.CountAsync(badUser));
    }

    [Fact]
    public async Task Empty_xml_a_negative_limit_and_nulls_are_refused_and_nothing_is_stored()
    {
        var emptyXml = await Assert.ThrowsAsync<ArgumentException>(() => Offline.StoreAsync(Alice, "", DateTimeOffset.UtcNow, 100));
        var negativeLimit = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Offline.StoreAsync(Alice, "<message/>", DateTimeOffset.UtcNow, -1));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Offline.StoreAsync(Alice, null!, DateTimeOffset.UtcNow, 100));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Offline.RemoveAsync(Alice, null!));

        Assert.Equal("The XML is empty. (Parameter 'xml')", emptyXml.Message);
        Assert.Equal("limit", negativeLimit.ParamName);
        Assert.Equal(0, await Offline.CountAsync(Alice));
    }
}
