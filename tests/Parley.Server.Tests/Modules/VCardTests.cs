using System.Security.Cryptography;
using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>vCards (XEP-0054) and the avatar hash the server puts into presence (XEP-0153).</summary>
public sealed class VCardTests : IAsyncLifetime
{
    private const int MaxVCardBytes = 4096;
    private static readonly byte[] FirstPhoto = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4];
    private static readonly byte[] SecondPhoto = [0x89, 0x50, 0x4E, 0x47, 5, 6, 7, 8];

    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o => o.Limits.MaxVCardBytes = MaxVCardBytes);
        foreach (var user in new[] { "juliet", "romeo", "nurse" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static Task<XmppTestClient> LoginAsync(TestNode node, string user, string resource = "home") =>
        XmppTestClient.LoginAsync(node, user, user + "-password", resource);

    private static async Task<Element> IqAsync(XmppTestClient client, string id, string iq)
    {
        await client.SendAsync(iq);
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == id);
    }

    private static Task<Element> SetVCardAsync(XmppTestClient client, string content, string to = "") =>
        IqAsync(client, "set", $"<iq type='set' id='set'{to}><vCard xmlns='vcard-temp'>{content}</vCard></iq>");

    private static Task<Element> GetVCardAsync(XmppTestClient client, string to = "") =>
        IqAsync(client, "get", $"<iq type='get' id='get'{to}><vCard xmlns='vcard-temp'/></iq>");

    private static string Photo(byte[] image) => $"<PHOTO><TYPE>image/png</TYPE><BINVAL>{Convert.ToBase64String(image)}</BINVAL></PHOTO>";

    private static string HashOf(byte[] image) => Convert.ToHexStringLower(SHA1.HashData(image));

    private static void AssertError(Element reply, string condition) =>
        Assert.NotNull(reply.Child("error")!.Child(condition, Ns.Stanzas));

    /// <summary>Romeo subscribes to Juliet and she approves, so Romeo receives her broadcast presence.</summary>
    private static async Task SubscribeAsync(XmppTestClient romeo, XmppTestClient juliet)
    {
        await romeo.SendAsync("<presence/>");
        await juliet.SendAsync("<presence/>");
        await romeo.SendAsync("<presence to='juliet@localhost' type='subscribe'/>");
        await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribe");
        await juliet.SendAsync("<presence to='romeo@localhost' type='subscribed'/>");
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/home" && e.GetAttribute("type") is null);
    }

    private static async Task<Element?> PhotoSeenByAsync(XmppTestClient watcher, XmppTestClient sender, string presence)
    {
        await sender.SendAsync(presence);
        var seen = await watcher.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == sender.Jid && e.GetAttribute("id") == "p");
        return seen.Child("x", Ns.VCardUpdate)?.Child("photo", Ns.VCardUpdate);
    }

    [Fact]
    public async Task A_user_stores_a_vcard_and_reads_it_back_with_or_without_addressing_herself()
    {
        await using var juliet = await LoginAsync(_node, "juliet");

        var empty = await GetVCardAsync(juliet);
        Assert.Equal("result", empty.GetAttribute("type"));
        Assert.Empty(empty.Child("vCard", Ns.VCard)!.Children());

        Assert.Equal("result", (await SetVCardAsync(juliet, "<FN>Juliet Capulet</FN><NICKNAME>jc</NICKNAME>")).GetAttribute("type"));

        foreach (var to in new[] { "", " to='juliet@localhost'" })
        {
            var vCard = (await GetVCardAsync(juliet, to)).Child("vCard", Ns.VCard)!;
            Assert.Equal("Juliet Capulet", vCard.ChildText("FN", Ns.VCard));
            Assert.Equal("jc", vCard.ChildText("NICKNAME", Ns.VCard));
        }
    }

    [Fact]
    public async Task Anyone_reads_another_users_vcard_from_the_server_without_her_being_online()
    {
        await using (var juliet = await LoginAsync(_node, "juliet"))
        {
            await SetVCardAsync(juliet, "<FN>Juliet Capulet</FN>");
        }
        await using var romeo = await LoginAsync(_node, "romeo");

        var reply = await GetVCardAsync(romeo, " to='juliet@localhost'");

        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.Equal("juliet@localhost", reply.GetAttribute("from"));
        Assert.Equal("Juliet Capulet", reply.Child("vCard", Ns.VCard)!.ChildText("FN", Ns.VCard));
    }

    [Fact]
    public async Task A_missing_vcard_and_a_missing_account_get_the_same_error_so_accounts_cannot_be_probed()
    {
        await using var romeo = await LoginAsync(_node, "romeo");

        var noVCard = await GetVCardAsync(romeo, " to='nurse@localhost'");
        var noAccount = await GetVCardAsync(romeo, " to='nobody@localhost'");

        AssertError(noVCard, "service-unavailable");
        AssertError(noAccount, "service-unavailable");
        Assert.Equal(noVCard.Child("error")!.ToXml(), noAccount.Child("error")!.ToXml());
    }

    [Fact]
    public async Task Setting_someone_elses_vcard_is_forbidden_and_changes_nothing()
    {
        await using var juliet = await LoginAsync(_node, "juliet");
        await SetVCardAsync(juliet, "<FN>Juliet Capulet</FN>");
        await using var romeo = await LoginAsync(_node, "romeo");

        var reply = await SetVCardAsync(romeo, "<FN>Romeo was here</FN>", " to='juliet@localhost'");

        AssertError(reply, "forbidden");
        Assert.Equal("Juliet Capulet", (await GetVCardAsync(juliet)).Child("vCard", Ns.VCard)!.ChildText("FN", Ns.VCard));
    }

    [Fact]
    public async Task A_vcard_over_the_limit_is_not_acceptable_with_a_text_giving_the_limit_and_the_old_one_stays()
    {
        await using var juliet = await LoginAsync(_node, "juliet");
        await SetVCardAsync(juliet, "<FN>Juliet Capulet</FN>");

        var reply = await SetVCardAsync(juliet, Photo(new byte[MaxVCardBytes]));

        AssertError(reply, "not-acceptable");
        Assert.Contains($"at most {MaxVCardBytes} bytes", reply.Child("error")!.ChildText("text", Ns.Stanzas));
        Assert.Equal("Juliet Capulet", (await GetVCardAsync(juliet)).Child("vCard", Ns.VCard)!.ChildText("FN", Ns.VCard));
    }

    [Fact]
    public async Task A_contact_sees_the_photo_hash_in_presence_and_a_new_one_after_the_photo_changes()
    {
        await using var romeo = await LoginAsync(_node, "romeo");
        await using var juliet = await LoginAsync(_node, "juliet");
        await SubscribeAsync(romeo, juliet);

        var noPhoto = await PhotoSeenByAsync(romeo, juliet, "<presence id='p'/>");
        Assert.NotNull(noPhoto);
        Assert.Equal("", noPhoto.Text);

        await SetVCardAsync(juliet, "<FN>Juliet</FN>" + Photo(FirstPhoto));
        Assert.Equal(HashOf(FirstPhoto), (await PhotoSeenByAsync(romeo, juliet, "<presence id='p'><show>away</show></presence>"))!.Text);

        await SetVCardAsync(juliet, "<FN>Juliet</FN>" + Photo(SecondPhoto));
        Assert.Equal(HashOf(SecondPhoto), (await PhotoSeenByAsync(romeo, juliet, "<presence id='p'/>"))!.Text);
    }

    [Fact]
    public async Task A_client_that_sends_its_own_update_element_keeps_it()
    {
        await using var romeo = await LoginAsync(_node, "romeo");
        await using var juliet = await LoginAsync(_node, "juliet");
        await SubscribeAsync(romeo, juliet);
        await SetVCardAsync(juliet, Photo(FirstPhoto));

        await juliet.SendAsync("<presence id='p'><x xmlns='vcard-temp:x:update'/></presence>");
        var seen = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("id") == "p");

        var update = Assert.Single(seen.Children("x", Ns.VCardUpdate));
        Assert.Null(update.Child("photo", Ns.VCardUpdate));
    }

    [Fact]
    public async Task A_photo_that_is_not_base64_is_stored_and_advertised_as_no_photo()
    {
        await using var romeo = await LoginAsync(_node, "romeo");
        await using var juliet = await LoginAsync(_node, "juliet");
        await SubscribeAsync(romeo, juliet);

        Assert.Equal("result", (await SetVCardAsync(juliet, "<PHOTO><BINVAL>not base64!</BINVAL></PHOTO>")).GetAttribute("type"));

        Assert.Equal("not base64!", (await GetVCardAsync(juliet)).Child("vCard", Ns.VCard)!.Child("PHOTO", Ns.VCard)!.ChildText("BINVAL", Ns.VCard));
        Assert.Equal("", (await PhotoSeenByAsync(romeo, juliet, "<presence id='p'/>"))!.Text);
    }

    [Fact]
    public async Task The_vcard_and_its_photo_hash_survive_a_restart()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "parley-vcard-" + Guid.NewGuid().ToString("N"));
        var first = await TestNode.StartAsync(o => o.DataDir = dataDir);
        try
        {
            await first.CreateUserAsync("juliet", "juliet-password");
            await first.CreateUserAsync("romeo", "romeo-password");
            await using var juliet = await LoginAsync(first, "juliet");
            Assert.Equal("result", (await SetVCardAsync(juliet, "<FN>Juliet Capulet</FN>" + Photo(FirstPhoto))).GetAttribute("type"));
        }
        finally
        {
            // Not first.DisposeAsync(): that deletes the data directory the second node needs.
            await first.App.StopAsync();
            await first.App.DisposeAsync();
        }

        await using var second = await TestNode.StartAsync(o => o.DataDir = dataDir);
        await using var romeo2 = await LoginAsync(second, "romeo");
        await using var juliet2 = await LoginAsync(second, "juliet");
        Assert.Equal("Juliet Capulet", (await GetVCardAsync(romeo2, " to='juliet@localhost'")).Child("vCard", Ns.VCard)!.ChildText("FN", Ns.VCard));
        await SubscribeAsync(romeo2, juliet2);
        Assert.Equal(HashOf(FirstPhoto), (await PhotoSeenByAsync(romeo2, juliet2, "<presence id='p'/>"))!.Text);
    }
}
