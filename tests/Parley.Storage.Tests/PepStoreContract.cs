namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IPepStore"/> must do.</summary>
public abstract class PepStoreContract : StorageContract
{
    private const string Alice = "alice@example.org";
    private const string Bob = "bob@example.org";
    private const string Nick = "http://jabber.org/protocol/nick";
    private const string Config = "<x xmlns='jabber:x:data' type='submit'/>";

    private IPepStore Pep => Storage.Pep;

    private static PepItem Item(string id, string text = "Alice") =>
        new(id, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), $"<nick xmlns='http://jabber.org/protocol/nick'>{text}</nick>");

    [Fact]
    public async Task A_created_node_comes_back_with_its_configuration_and_cannot_be_created_twice()
    {
        Assert.True(await Pep.CreateNodeAsync(Alice, Nick, Config));

        Assert.False(await Pep.CreateNodeAsync(Alice, Nick, "<x xmlns='jabber:x:data' type='submit'><field var='other'/></x>"));
        Assert.Equal(new PepNode(Nick, Config), await Pep.GetNodeAsync(Alice, Nick));
        Assert.Equal([new PepNode(Nick, Config)], await Pep.GetNodesAsync(Alice));
        Assert.Null(await Pep.GetNodeAsync(Bob, Nick));
        Assert.Empty(await Pep.GetNodesAsync(Bob));
    }

    [Fact]
    public async Task Setting_the_configuration_replaces_it_and_needs_the_node()
    {
        await Pep.CreateNodeAsync(Alice, Nick, Config);

        Assert.True(await Pep.SetConfigAsync(Alice, Nick, "<x xmlns='jabber:x:data' type='submit'><field var='pubsub#max_items'/></x>"));

        Assert.Equal("<x xmlns='jabber:x:data' type='submit'><field var='pubsub#max_items'/></x>", (await Pep.GetNodeAsync(Alice, Nick))!.ConfigXml);
        Assert.False(await Pep.SetConfigAsync(Alice, "urn:example:none", Config));
        Assert.Null(await Pep.GetNodeAsync(Alice, "urn:example:none"));
    }

    [Fact]
    public async Task Published_items_come_back_newest_first_with_their_time_and_a_republished_id_becomes_newest()
    {
        await Pep.CreateNodeAsync(Alice, Nick, Config);
        await Pep.PublishAsync(Alice, Nick, Item("a", "first"), 10);
        await Pep.PublishAsync(Alice, Nick, Item("b", "second"), 10);
        await Pep.PublishAsync(Alice, Nick, Item("a", "third"), 10);

        var items = await Pep.GetItemsAsync(Alice, Nick, 10);

        Assert.Equal(["a", "b"], items.Select(i => i.Id));
        Assert.Equal(Item("a", "third"), items[0]);
        Assert.Equal(["a"], (await Pep.GetItemsAsync(Alice, Nick, 1)).Select(i => i.Id));
        Assert.Equal(["a", "b"], (await Pep.GetItemsAsync(Alice, Nick, ["b", "missing", "a"])).Select(i => i.Id));
    }

    [Fact]
    public async Task Publishing_keeps_only_the_newest_max_items_and_trimming_lowers_it_later()
    {
        await Pep.CreateNodeAsync(Alice, Nick, Config);
        foreach (var id in new[] { "1", "2", "3", "4" })
        {
            await Pep.PublishAsync(Alice, Nick, Item(id), 3);
        }

        Assert.Equal(["4", "3", "2"], (await Pep.GetItemsAsync(Alice, Nick, 10)).Select(i => i.Id));
        Assert.Equal(2, await Pep.TrimAsync(Alice, Nick, 1));
        Assert.Equal(["4"], (await Pep.GetItemsAsync(Alice, Nick, 10)).Select(i => i.Id));
        Assert.Equal(1, await Pep.TrimAsync(Alice, Nick, 0));
        Assert.Empty(await Pep.GetItemsAsync(Alice, Nick, 10));
    }

    [Fact]
    public async Task Publishing_to_a_node_that_does_not_exist_stores_nothing()
    {
        Assert.False(await Pep.PublishAsync(Alice, Nick, Item("a"), 1));

        Assert.Empty(await Pep.GetItemsAsync(Alice, Nick, 10));
        Assert.True(await Pep.CreateNodeAsync(Alice, Nick, Config));
        Assert.Empty(await Pep.GetItemsAsync(Alice, Nick, 10));
    }

    [Fact]
    public async Task Retracting_removes_one_item_and_reports_whether_there_was_one()
    {
        await Pep.CreateNodeAsync(Alice, Nick, Config);
        await Pep.PublishAsync(Alice, Nick, Item("a"), 5);
        await Pep.PublishAsync(Alice, Nick, Item("b"), 5);

        Assert.True(await Pep.RetractAsync(Alice, Nick, "a"));

        Assert.False(await Pep.RetractAsync(Alice, Nick, "a"));
        Assert.Equal(["b"], (await Pep.GetItemsAsync(Alice, Nick, 10)).Select(i => i.Id));
    }

    [Fact]
    public async Task Deleting_a_node_deletes_its_items_and_a_new_node_of_that_name_starts_empty()
    {
        await Pep.CreateNodeAsync(Alice, Nick, Config);
        await Pep.PublishAsync(Alice, Nick, Item("a"), 5);

        Assert.True(await Pep.DeleteNodeAsync(Alice, Nick));

        Assert.False(await Pep.DeleteNodeAsync(Alice, Nick));
        Assert.Null(await Pep.GetNodeAsync(Alice, Nick));
        await Pep.CreateNodeAsync(Alice, Nick, Config);
        Assert.Empty(await Pep.GetItemsAsync(Alice, Nick, 10));
    }

    [Fact]
    public async Task One_users_nodes_are_invisible_to_another_and_safe_from_their_changes()
    {
        await Pep.CreateNodeAsync(Alice, Nick, Config);
        await Pep.PublishAsync(Alice, Nick, Item("a"), 5);

        Assert.True(await Pep.CreateNodeAsync(Bob, Nick, Config));
        await Pep.PublishAsync(Bob, Nick, Item("b"), 1);
        Assert.False(await Pep.RetractAsync(Bob, Nick, "a"));
        await Pep.DeleteNodeAsync(Bob, Nick);

        Assert.Equal(["a"], (await Pep.GetItemsAsync(Alice, Nick, 10)).Select(i => i.Id));
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_changes_nothing()
    {
        await Pep.CreateNodeAsync(Alice, Nick, Config);
        await Pep.PublishAsync(Alice, Nick, Item("a"), 5);
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Pep.PublishAsync(Alice, Nick, Item("b"), 5, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Pep.RetractAsync(Alice, Nick, "a", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Pep.DeleteNodeAsync(Alice, Nick, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Pep.GetItemsAsync(Alice, Nick, 5, token));

        Assert.Equal(["a"], (await Pep.GetItemsAsync(Alice, Nick, 10)).Select(i => i.Id));
    }

    [Fact]
    public async Task Empty_names_ids_xml_and_limits_below_one_are_refused_and_nothing_is_stored()
    {
        await Pep.CreateNodeAsync(Alice, Nick, Config);

        var emptyNode = await Assert.ThrowsAsync<ArgumentException>(() => Pep.CreateNodeAsync(Alice, "", Config));
        var emptyId = await Assert.ThrowsAsync<ArgumentException>(() => Pep.PublishAsync(Alice, Nick, Item(""), 1));
        await Assert.ThrowsAsync<ArgumentException>(() => Pep.PublishAsync(Alice, Nick, Item("a") with { Xml = " " }, 1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Pep.PublishAsync(Alice, Nick, Item("a"), 0));
        await Assert.ThrowsAsync<ArgumentException>(() => Pep.CreateNodeAsync("alice@example.org/phone", Nick, Config));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Pep.RetractAsync(Alice, Nick, null!));

        Assert.Equal("The node name is empty. (Parameter 'node')", emptyNode.Message);
        Assert.Equal("The item id is empty. (Parameter 'item')", emptyId.Message);
        Assert.Empty(await Pep.GetItemsAsync(Alice, Nick, 10));
    }
}
