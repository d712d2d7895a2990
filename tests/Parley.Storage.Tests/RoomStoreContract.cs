namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IRoomStore"/> must do.</summary>
public abstract class RoomStoreContract : StorageContract
{
    private const string Lobby = "lobby@conference.example.org";
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private IRoomStore Rooms => Storage.Rooms;

    [Fact]
    public async Task A_room_never_saved_is_not_there()
    {
        Assert.Null(await Rooms.GetAsync(Lobby));
        Assert.Empty(await Rooms.ListAsync("conference.example.org"));
        Assert.False(await Rooms.DeleteAsync(Lobby));
        Assert.Empty(await Rooms.GetAffiliationsAsync(Lobby));
    }

    [Fact]
    public async Task Saving_again_replaces_configuration_and_subject_but_keeps_the_creation_time()
    {
        await Rooms.SaveAsync(new StoredRoom(Lobby, "<x/>", "", "", Created));

        await Rooms.SaveAsync(new StoredRoom(Lobby, "<x type='submit'/>", "Welcome", "alice", Created.AddDays(1)));

        Assert.Equal(new StoredRoom(Lobby, "<x type='submit'/>", "Welcome", "alice", Created), await Rooms.GetAsync(Lobby));
    }

    [Fact]
    public async Task Listing_returns_one_services_rooms_ordered_by_jid()
    {
        await Rooms.SaveAsync(new StoredRoom("zoo@conference.example.org", "<x/>", "", "", Created));
        await Rooms.SaveAsync(new StoredRoom("attic@conference.example.org", "<x/>", "", "", Created));
        await Rooms.SaveAsync(new StoredRoom("other@chat.example.org", "<x/>", "", "", Created));

        var rooms = await Rooms.ListAsync("conference.example.org");

        Assert.Equal(["attic@conference.example.org", "zoo@conference.example.org"], rooms.Select(r => r.Jid));
    }

    [Fact]
    public async Task Affiliations_are_set_replaced_and_removed_with_none()
    {
        await Rooms.SaveAsync(new StoredRoom(Lobby, "<x/>", "", "", Created));
        await Rooms.SetAffiliationAsync(Lobby, new RoomAffiliation("bob@example.org", "member", "bobby"));
        await Rooms.SetAffiliationAsync(Lobby, new RoomAffiliation("alice@example.org", "owner"));
        await Rooms.SetAffiliationAsync(Lobby, new RoomAffiliation("mallory@evil.example", "outcast", Reason: "spam"));
        await Rooms.SetAffiliationAsync(Lobby, new RoomAffiliation("bob@example.org", "admin", "bobby"));
        await Rooms.SetAffiliationAsync(Lobby, new RoomAffiliation("alice@example.org", "none"));

        Assert.Equal(
            [new RoomAffiliation("bob@example.org", "admin", "bobby"), new RoomAffiliation("mallory@evil.example", "outcast", null, "spam")],
            await Rooms.GetAffiliationsAsync(Lobby));
        Assert.Empty(await Rooms.GetAffiliationsAsync("other@conference.example.org"));
    }

    [Fact]
    public async Task A_room_that_is_not_stored_is_neither_updated_back_nor_given_affiliations()
    {
        await Rooms.SaveAsync(new StoredRoom(Lobby, "<x/>", "", "", Created));
        Assert.True(await Rooms.UpdateAsync(new StoredRoom(Lobby, "<x type='submit'/>", "Hello", "alice", Created.AddDays(1))));
        Assert.Equal(new StoredRoom(Lobby, "<x type='submit'/>", "Hello", "alice", Created), await Rooms.GetAsync(Lobby));
        Assert.True(await Rooms.DeleteAsync(Lobby));

        Assert.False(await Rooms.UpdateAsync(new StoredRoom(Lobby, "<x/>", "Back?", "alice", Created)));
        await Rooms.SetAffiliationAsync(Lobby, new RoomAffiliation("alice@example.org", "owner"));

        Assert.Null(await Rooms.GetAsync(Lobby));
        Assert.Empty(await Rooms.GetAffiliationsAsync(Lobby));
    }

    [Fact]
    public async Task Deleting_a_room_deletes_its_affiliations()
    {
        await Rooms.SaveAsync(new StoredRoom(Lobby, "<x/>", "", "", Created));
        await Rooms.SetAffiliationAsync(Lobby, new RoomAffiliation("alice@example.org", "owner"));

        Assert.True(await Rooms.DeleteAsync(Lobby));

        Assert.Null(await Rooms.GetAsync(Lobby));
        Assert.Empty(await Rooms.GetAffiliationsAsync(Lobby));
    }

    [Fact]
    public async Task Bad_arguments_are_refused_with_a_clear_message()
    {
        var notARoom = await Assert.ThrowsAsync<ArgumentException>(() => Rooms.GetAsync("conference.example.org"));
        Assert.Contains("'conference.example.org' is not a bare", notARoom.Message);
        var badAffiliation = await Assert.ThrowsAsync<ArgumentException>(() => Rooms.SetAffiliationAsync(Lobby, new RoomAffiliation("bob@example.org", "king")));
        Assert.Contains("'king' is not an affiliation", badAffiliation.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Rooms.ListAsync("lobby@conference.example.org"));
    }
}
