namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IDirectoryUserStore"/> must do.</summary>
public abstract class DirectoryUserStoreContract : StorageContract
{
    private IDirectoryUserStore Users => Storage.DirectoryUsers;

    [Fact]
    public async Task A_record_is_kept_replaced_and_deleted_by_its_jid()
    {
        var missing = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await Users.SetAsync(new("zoe@example.org", @"cn=Zoë Çelik\, Jr.,ou=People,dc=example,dc=org", "f1", null));
        await Users.SetAsync(new("alice@example.org", "uid=alice,ou=People,dc=example,dc=org", "f2", null));

        Assert.Equal(new DirectoryUserRecord("zoe@example.org", @"cn=Zoë Çelik\, Jr.,ou=People,dc=example,dc=org", "f1", null), await Users.GetAsync("zoe@example.org"));
        await Users.SetAsync(new("zoe@example.org", "uid=zoe,ou=Moved,dc=example,dc=org", "f3", missing));
        Assert.Equal(new DirectoryUserRecord("zoe@example.org", "uid=zoe,ou=Moved,dc=example,dc=org", "f3", missing), await Users.GetAsync("zoe@example.org"));
        Assert.Equal(["alice@example.org", "zoe@example.org"], (await Users.ListAsync()).Select(r => r.BareJid));

        Assert.True(await Users.DeleteAsync("zoe@example.org"));
        Assert.False(await Users.DeleteAsync("zoe@example.org"));
        Assert.Null(await Users.GetAsync("zoe@example.org"));
        Assert.Single(await Users.ListAsync());
    }

    [Fact]
    public async Task An_empty_jid_or_dn_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Users.SetAsync(new("", "uid=a,dc=x", "f", null)));
        await Assert.ThrowsAsync<ArgumentException>(() => Users.SetAsync(new("a@example.org", "", "f", null)));
        await Assert.ThrowsAsync<ArgumentException>(() => Users.GetAsync(""));
        Assert.Empty(await Users.ListAsync());
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation()
    {
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Users.SetAsync(new("a@example.org", "uid=a,dc=x", "f", null), token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Users.GetAsync("a@example.org", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Users.ListAsync(token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Users.DeleteAsync("a@example.org", token));
        Assert.Empty(await Users.ListAsync());
    }
}
