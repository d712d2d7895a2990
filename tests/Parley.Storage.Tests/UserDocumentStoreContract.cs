namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IUserDocumentStore"/> must do.</summary>
public abstract class UserDocumentStoreContract : StorageContract
{
    private const string Alice = "alice@example.org";
    private const string Bob = "bob@example.org";
    private const string VCard = "<vCard xmlns='vcard-temp'><FN>Alice Ånström</FN></vCard>";

    private IUserDocumentStore Documents => Storage.Documents;

    [Fact]
    public async Task Listing_a_kind_gives_its_documents_ordered_by_key_and_nothing_else()
    {
        await Documents.SetAsync(Alice, "push", "b", "<b/>");
        await Documents.SetAsync(Alice, "push", "a", "<a/>");
        await Documents.SetAsync(Alice, "vcard", "", VCard);
        await Documents.SetAsync(Bob, "push", "c", "<c/>");

        var listed = await Documents.ListAsync(Alice, "push");

        Assert.Equal(["a", "b"], listed.Select(d => d.Key));
        Assert.Equal("<a/>", listed[0].Document.Xml);
        Assert.Empty(await Documents.ListAsync(Alice, "nothing"));
    }

    [Fact]
    public async Task A_missing_document_is_null()
    {
        Assert.Null(await Documents.GetAsync(Alice, "vcard", ""));
    }

    [Fact]
    public async Task A_set_document_comes_back_with_when_it_was_stored()
    {
        var before = DateTimeOffset.UtcNow.AddMilliseconds(-1);
        await Documents.SetAsync(Alice, "vcard", "", VCard);
        var after = DateTimeOffset.UtcNow.AddMilliseconds(1);

        var document = await Documents.GetAsync(Alice, "vcard", "");

        Assert.NotNull(document);
        Assert.Equal(VCard, document.Xml);
        Assert.InRange(document.UpdatedAt, before, after);
        Assert.Equal(TimeSpan.Zero, document.UpdatedAt.Offset);
    }

    [Fact]
    public async Task Setting_again_replaces_the_document_and_its_time()
    {
        await Documents.SetAsync(Alice, "vcard", "", VCard);
        var first = (await Documents.GetAsync(Alice, "vcard", ""))!.UpdatedAt;

        await Documents.SetAsync(Alice, "vcard", "", "<vCard xmlns='vcard-temp'><FN>Alice B.</FN></vCard>");

        var replaced = await Documents.GetAsync(Alice, "vcard", "");
        Assert.Equal("<vCard xmlns='vcard-temp'><FN>Alice B.</FN></vCard>", replaced!.Xml);
        Assert.True(replaced.UpdatedAt >= first);
    }

    [Fact]
    public async Task Deleting_removes_the_document_and_reports_whether_there_was_one()
    {
        await Documents.SetAsync(Alice, "vcard", "", VCard);

        Assert.True(await Documents.DeleteAsync(Alice, "vcard", ""));

        Assert.Null(await Documents.GetAsync(Alice, "vcard", ""));
        Assert.False(await Documents.DeleteAsync(Alice, "vcard", ""));
    }

    [Fact]
    public async Task Kind_and_key_together_address_a_document()
    {
        await Documents.SetAsync(Alice, "private", "storage storage:bookmarks", "<storage xmlns='storage:bookmarks'/>");
        await Documents.SetAsync(Alice, "private", "prefs urn:example:prefs", "<prefs xmlns='urn:example:prefs'/>");
        await Documents.SetAsync(Alice, "last", "storage storage:bookmarks", "<query xmlns='jabber:iq:last'/>");

        Assert.True(await Documents.DeleteAsync(Alice, "private", "prefs urn:example:prefs"));

        Assert.Equal("<storage xmlns='storage:bookmarks'/>", (await Documents.GetAsync(Alice, "private", "storage storage:bookmarks"))!.Xml);
        Assert.Equal("<query xmlns='jabber:iq:last'/>", (await Documents.GetAsync(Alice, "last", "storage storage:bookmarks"))!.Xml);
        Assert.Null(await Documents.GetAsync(Alice, "private", "prefs urn:example:prefs"));
        Assert.Null(await Documents.GetAsync(Alice, "private", ""));
    }

    [Fact]
    public async Task One_users_documents_are_invisible_to_another_and_safe_from_their_changes()
    {
        await Documents.SetAsync(Alice, "vcard", "", VCard);

        Assert.Null(await Documents.GetAsync(Bob, "vcard", ""));
        Assert.False(await Documents.DeleteAsync(Bob, "vcard", ""));
        await Documents.SetAsync(Bob, "vcard", "", "<vCard xmlns='vcard-temp'><FN>Bob</FN></vCard>");

        Assert.Equal(VCard, (await Documents.GetAsync(Alice, "vcard", ""))!.Xml);
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_changes_nothing()
    {
        await Documents.SetAsync(Alice, "vcard", "", VCard);
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Documents.GetAsync(Alice, "vcard", "", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Documents.SetAsync(Alice, "vcard", "", "<vCard/>", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Documents.DeleteAsync(Alice, "vcard", "", token));

        Assert.Equal(VCard, (await Documents.GetAsync(Alice, "vcard", ""))!.Xml);
    }

    [Theory]
    [InlineData("")]
    [InlineData("example.org")]
    [InlineData("alice@example.org/phone")]
    public async Task A_user_that_is_not_a_bare_account_jid_is_refused(string badUser)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Documents.SetAsync(badUser, "vcard", "", VCard));
        Assert.Equal($"'{badUser}' is not a bare account JID of the form localpart@domain. (Parameter 'user')", error.Message);

        await Assert.ThrowsAsync<ArgumentException>(() => Documents.GetAsync(badUser, "vcard", ""));
        await Assert.ThrowsAsync<ArgumentException>(() => Documents.DeleteAsync(badUser, "vcard", ""));
    }

    [Fact]
    public async Task An_empty_kind_empty_xml_and_nulls_are_refused_and_nothing_is_stored()
    {
        var emptyKind = await Assert.ThrowsAsync<ArgumentException>(() => Documents.SetAsync(Alice, "", "", VCard));
        var emptyXml = await Assert.ThrowsAsync<ArgumentException>(() => Documents.SetAsync(Alice, "vcard", "", ""));
        await Assert.ThrowsAsync<ArgumentException>(() => Documents.GetAsync(Alice, "", ""));
        await Assert.ThrowsAsync<ArgumentException>(() => Documents.DeleteAsync(Alice, "", ""));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Documents.SetAsync(Alice, null!, "", VCard));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Documents.SetAsync(Alice, "vcard", null!, VCard));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Documents.SetAsync(Alice, "vcard", "", null!));

        Assert.Equal("The document kind is empty. (Parameter 'kind')", emptyKind.Message);
        Assert.Equal("The XML is empty. (Parameter 'xml')", emptyXml.Message);
        Assert.Null(await Documents.GetAsync(Alice, "vcard", ""));
    }
}
