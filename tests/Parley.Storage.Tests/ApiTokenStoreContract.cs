namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IApiTokenStore"/> must do.</summary>
public abstract class ApiTokenStoreContract : StorageContract
{
    private static readonly DateTimeOffset s_created = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);

    [Fact]
    public async Task A_token_is_found_by_its_id_with_its_hash_and_listed_by_name()
    {
        Assert.True(await Storage.ApiTokens.CreateAsync(new ApiToken("monitoring", "id-2", ReadOnly: true, s_created), "hash-2"));
        Assert.True(await Storage.ApiTokens.CreateAsync(new ApiToken("deploy", "id-1", ReadOnly: false, s_created), "hash-1"));

        Assert.Equal((new ApiToken("monitoring", "id-2", true, s_created), "hash-2"), await Storage.ApiTokens.FindAsync("id-2"));
        Assert.Null(await Storage.ApiTokens.FindAsync("ID-2"));
        Assert.Equal([new ApiToken("deploy", "id-1", false, s_created), new ApiToken("monitoring", "id-2", true, s_created)], await Storage.ApiTokens.ListAsync());
    }

    [Fact]
    public async Task A_second_token_with_the_same_name_or_id_is_refused_and_the_first_is_kept()
    {
        await Storage.ApiTokens.CreateAsync(new ApiToken("deploy", "id-1", false, s_created), "hash-1");

        Assert.False(await Storage.ApiTokens.CreateAsync(new ApiToken("deploy", "id-9", true, s_created), "hash-9"));
        Assert.False(await Storage.ApiTokens.CreateAsync(new ApiToken("other", "id-1", true, s_created), "hash-9"));

        Assert.Equal((new ApiToken("deploy", "id-1", false, s_created), "hash-1"), await Storage.ApiTokens.FindAsync("id-1"));
        Assert.Null(await Storage.ApiTokens.FindAsync("id-9"));
        Assert.Single(await Storage.ApiTokens.ListAsync());
    }

    [Fact]
    public async Task A_revoked_token_is_found_no_more()
    {
        await Storage.ApiTokens.CreateAsync(new ApiToken("deploy", "id-1", false, s_created), "hash-1");
        await Storage.ApiTokens.CreateAsync(new ApiToken("keep", "id-2", false, s_created), "hash-2");

        Assert.True(await Storage.ApiTokens.RevokeAsync("deploy"));
        Assert.False(await Storage.ApiTokens.RevokeAsync("deploy"));
        // A name is a value, not SQL.
        Assert.False(await Storage.ApiTokens.RevokeAsync("x' OR '1'='1"));

        Assert.Null(await Storage.ApiTokens.FindAsync("id-1"));
        Assert.Equal(["keep"], (await Storage.ApiTokens.ListAsync()).Select(t => t.Name));
    }
}
