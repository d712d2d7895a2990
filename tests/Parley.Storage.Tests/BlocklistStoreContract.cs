namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IBlocklistStore"/> must do.</summary>
public abstract class BlocklistStoreContract : StorageContract
{
    private const string Alice = "alice@example.org";
    private const string Bob = "bob@example.org";

    private IBlocklistStore Blocklists => Storage.Blocklists;

    [Fact]
    public async Task A_user_who_blocked_nobody_has_an_empty_list()
    {
        Assert.Empty(await Blocklists.GetAsync(Alice));
        Assert.Empty(await Blocklists.ClearAsync(Alice));
    }

    [Fact]
    public async Task Adding_returns_only_the_newly_blocked_jids_once_each_in_the_order_given()
    {
        Assert.Equal(["mallory@evil.example", "eve@evil.example"], await Blocklists.AddAsync(Alice, ["mallory@evil.example", "eve@evil.example"]));

        var added = await Blocklists.AddAsync(Alice, ["eve@evil.example", "spam.example", "trudy@evil.example", "spam.example"]);

        Assert.Equal(["spam.example", "trudy@evil.example"], added);
        Assert.Equal(["eve@evil.example", "mallory@evil.example", "spam.example", "trudy@evil.example"], await Blocklists.GetAsync(Alice));
        Assert.Empty(await Blocklists.AddAsync(Alice, []));
    }

    [Fact]
    public async Task Bare_full_and_domain_jids_are_kept_apart()
    {
        string[] jids = ["mallory@evil.example", "mallory@evil.example/phone", "evil.example", "evil.example/service"];

        Assert.Equal(jids, await Blocklists.AddAsync(Alice, jids));

        Assert.Equal(jids.Order(StringComparer.Ordinal), await Blocklists.GetAsync(Alice));
    }

    [Fact]
    public async Task Removing_returns_only_the_jids_that_were_blocked()
    {
        await Blocklists.AddAsync(Alice, ["eve@evil.example", "mallory@evil.example", "spam.example"]);

        var removed = await Blocklists.RemoveAsync(Alice, ["spam.example", "never@blocked.example", "eve@evil.example", "spam.example"]);

        Assert.Equal(["spam.example", "eve@evil.example"], removed);
        Assert.Equal(["mallory@evil.example"], await Blocklists.GetAsync(Alice));
        Assert.Empty(await Blocklists.RemoveAsync(Alice, ["spam.example"]));
    }

    [Fact]
    public async Task Clearing_unblocks_everything_and_returns_what_was_blocked()
    {
        await Blocklists.AddAsync(Alice, ["spam.example", "eve@evil.example", "mallory@evil.example"]);

        Assert.Equal(["eve@evil.example", "mallory@evil.example", "spam.example"], await Blocklists.ClearAsync(Alice));

        Assert.Empty(await Blocklists.GetAsync(Alice));
        Assert.Empty(await Blocklists.ClearAsync(Alice));
    }

    [Fact]
    public async Task One_users_blocklist_is_invisible_to_another_and_safe_from_their_changes()
    {
        await Blocklists.AddAsync(Alice, ["eve@evil.example", "spam.example"]);

        Assert.Equal(["eve@evil.example"], await Blocklists.AddAsync(Bob, ["eve@evil.example"]));
        Assert.Equal(["eve@evil.example"], await Blocklists.ClearAsync(Bob));
        Assert.Empty(await Blocklists.RemoveAsync(Bob, ["spam.example"]));

        Assert.Empty(await Blocklists.GetAsync(Bob));
        Assert.Equal(["eve@evil.example", "spam.example"], await Blocklists.GetAsync(Alice));
    }

    [Fact]
    public async Task A_jid_of_the_longest_length_is_accepted_and_one_byte_longer_is_refused()
    {
        var longest = new string('a', 1023) + "@" + new string('b', 1023) + "/" + new string('c', 1023);
        var tooLong = longest + "c";
        var tooLongInUtf8 = new string('ü', 1536);

        Assert.Equal([longest], await Blocklists.AddAsync(Alice, [longest]));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Blocklists.AddAsync(Alice, ["ok@example.org", tooLong]));
        var utf8Error = await Assert.ThrowsAsync<ArgumentException>(() => Blocklists.RemoveAsync(Alice, [tooLongInUtf8]));

        Assert.Equal("A blocked JID is 3072 bytes of UTF-8; a JID has at most 3071. (Parameter 'jids')", error.Message);
        Assert.Equal("A blocked JID is 3072 bytes of UTF-8; a JID has at most 3071. (Parameter 'jids')", utf8Error.Message);
        Assert.Equal([longest], await Blocklists.GetAsync(Alice));
    }

    [Fact]
    public async Task An_empty_jid_is_refused_and_nothing_in_that_call_is_blocked()
    {
        var onAdd = await Assert.ThrowsAsync<ArgumentException>(() => Blocklists.AddAsync(Alice, ["eve@evil.example", ""]));
        var onRemove = await Assert.ThrowsAsync<ArgumentException>(() => Blocklists.RemoveAsync(Alice, [null!]));

        Assert.Equal("A blocked JID is empty. (Parameter 'jids')", onAdd.Message);
        Assert.Equal("A blocked JID is empty. (Parameter 'jids')", onRemove.Message);
        Assert.Empty(await Blocklists.GetAsync(Alice));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Blocklists.AddAsync(Alice, null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Blocklists.RemoveAsync(Alice, null!));
    }

    [Theory]
    [InlineData("")]
    [InlineData("example.org")]
    [InlineData("alice@example.org/phone")]
    public async Task A_user_that_is_not_a_bare_account_jid_is_refused(string badUser)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Blocklists.AddAsync(badUser, ["eve@evil.example"]));
        Assert.Equal($"'{badUser}' is not a bare account JID of the form localpart@domain. (Parameter 'user')", error.Message);

        await Assert.ThrowsAsync<ArgumentException>(() => Blocklists.GetAsync(badUser));
        await Assert.ThrowsAsync<ArgumentException>(() => Blocklists.RemoveAsync(badUser, ["eve@evil.example"]));
        await Assert.ThrowsAsync<ArgumentException>(() => Blocklists.ClearAsync(badUser));
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_changes_nothing()
    {
        await Blocklists.AddAsync(Alice, ["eve@evil.example"]);
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Blocklists.GetAsync(Alice, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Blocklists.AddAsync(Alice, ["spam.example"], token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Blocklists.RemoveAsync(Alice, ["eve@evil.example"], token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Blocklists.ClearAsync(Alice, token));

        Assert.Equal(["eve@evil.example"], await Blocklists.GetAsync(Alice));
    }
}
