using System.Text;

namespace Parley.Storage.Tests;

/// <summary>
/// Text with every character that trips up quoting and encodings (quotes, backslashes, percent and underscore, which
/// are LIKE wildcards, and 4-byte UTF-8) comes back byte for byte from every store. NUL is left out: RFC 6120 forbids it.
/// </summary>
public abstract class AwkwardTextContract : StorageContract
{
    private const string Awkward = "o'brien\"\\x%_\U0001D11E\U0001F600é";
    private static readonly string User = $"{Awkward}@example.org";
    private static readonly string Contact = $"{Awkward}.contact@example.net";
    private static readonly string Body = $"<message xmlns='jabber:client'><body>{Awkward} \\' \"\" \\\\ 𝄞</body></message>";

    [Fact]
    public async Task An_account_with_an_awkward_JID_is_found_and_listed_byte_identical()
    {
        var credentials = TestCredentials.Random();
        await Storage.Accounts.CreateAsync(User, credentials);

        TestCredentials.AssertSame(credentials, await Storage.Accounts.GetCredentialsAsync(User));
        var listed = Assert.Single(await Storage.Accounts.ListAsync("example.org", 0, 10));
        Assert.Equal(Encoding.UTF8.GetBytes(User), Encoding.UTF8.GetBytes(listed.Jid));
        Assert.False(await Storage.Accounts.ExistsAsync("o'brien\"\\x%_@example.org"));
    }

    [Fact]
    public async Task Archived_messages_with_awkward_peers_and_bodies_come_back_byte_identical()
    {
        var with = $"{Contact}/{Awkward}";
        var id = await Storage.Archive.AppendAsync(User, with, DateTimeOffset.UnixEpoch.AddDays(1), Body);

        var page = await Storage.Archive.QueryAsync(new ArchiveQuery(User, With: with));

        var message = Assert.Single(page.Messages);
        Assert.Equal(id, message.Id);
        Assert.Equal(Encoding.UTF8.GetBytes(with), Encoding.UTF8.GetBytes(message.With));
        Assert.Equal(Encoding.UTF8.GetBytes(Body), Encoding.UTF8.GetBytes(message.Xml));
        Assert.Empty((await Storage.Archive.QueryAsync(new ArchiveQuery(User, With: $"{Contact}/o'brien"))).Messages);
    }

    [Fact]
    public async Task Rosters_offline_messages_and_documents_keep_awkward_text_byte_identical()
    {
        await Storage.Rosters.SetItemAsync(User, new RosterItem(Contact, Awkward, Subscription.Both, false, false, [Awkward, "\\"]));
        await Storage.Offline.StoreAsync(User, Body, DateTimeOffset.UnixEpoch, 10);
        await Storage.Documents.SetAsync(User, "private", Awkward, Body);
        await Storage.Blocklists.AddAsync(User, [$"{Contact}/{Awkward}"]);

        var item = Assert.Single((await Storage.Rosters.GetAsync(User)).Items);
        Assert.Equal(Contact, item.Contact);
        Assert.Equal(Awkward, item.Name);
        Assert.Equal([Awkward, "\\"], item.Groups);
        Assert.Equal(Body, Assert.Single(await Storage.Offline.GetAsync(User)).Xml);
        Assert.Equal(Body, (await Storage.Documents.GetAsync(User, "private", Awkward))?.Xml);
        Assert.Equal([$"{Contact}/{Awkward}"], await Storage.Blocklists.GetAsync(User));
    }
}
