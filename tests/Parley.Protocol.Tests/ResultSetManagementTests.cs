using Parley.Xml;

namespace Parley.Protocol.Tests;

public class ResultSetManagementTests
{
    [Fact]
    public void A_request_gives_its_max_after_before_and_index()
    {
        var request = Parse("<max>10</max><after>a</after><before>b</before><index>3</index>");

        Assert.Equal(new ResultSetRequest(10, "a", "b", 3), request);
        Assert.False(request.LastPage);
    }

    [Fact]
    public void What_a_request_does_not_say_is_null()
    {
        Assert.Equal(new ResultSetRequest(null, null, null, null), Parse(""));
    }

    [Fact]
    public void An_empty_before_asks_for_the_last_page()
    {
        var request = Parse("<max>2</max><before/>");

        Assert.Equal("", request.Before);
        Assert.True(request.LastPage);
    }

    [Fact]
    public void A_max_of_more_digits_than_an_int_holds_is_as_many_as_allowed()
    {
        Assert.Equal(int.MaxValue, Parse("<max>99999999999999999999</max>").Max);
        Assert.Equal(0, Parse("<max>0</max>").Max);
    }

    [Theory]
    [InlineData("<max>many</max>", "<max/> must be a number of messages, not 'many'.")]
    [InlineData("<max>-1</max>", "<max/> must be a number of messages, not '-1'.")]
    [InlineData("<max> 5</max>", "<max/> must be a number of messages, not ' 5'.")]
    [InlineData("<max/>", "<max/> must be a number of messages, not ''.")]
    [InlineData("<after/>", "<after/> needs the id of a message.")]
    [InlineData("<index>first</index>", "<index/> must be the number of an item, not 'first'.")]
    public void A_request_with_a_value_that_is_not_valid_is_refused_with_the_reason(string children, string reason)
    {
        Assert.False(ResultSetManagement.TryParse(Set(children), out _, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void The_set_of_a_request_is_found_among_its_children()
    {
        var query = ElementParser.Parse($"<query xmlns='urn:xmpp:mam:2'><set xmlns='{Ns.Rsm}'><max>1</max></set></query>", Ns.Client);

        Assert.NotNull(ResultSetManagement.Find(query));
        Assert.Null(ResultSetManagement.Find(new Element("query", Ns.Mam)));
    }

    [Fact]
    public void An_answer_has_first_with_its_index_last_and_count()
    {
        Assert.Equal(
            "<set xmlns=\"http://jabber.org/protocol/rsm\"><first index=\"0\">a</first><last>b</last><count>7</count></set>",
            ResultSetManagement.Answer("a", "b", 7, 0).ToXml());
    }

    [Fact]
    public void An_answer_leaves_out_what_is_not_known()
    {
        Assert.Equal(
            "<set xmlns=\"http://jabber.org/protocol/rsm\"><first>a</first><last>b</last></set>",
            ResultSetManagement.Answer("a", "b", null).ToXml());
        Assert.Equal(
            "<set xmlns=\"http://jabber.org/protocol/rsm\"><count>0</count></set>",
            ResultSetManagement.Answer(null, null, 0).ToXml());
    }

    private static Element Set(string children) => ElementParser.Parse($"<set xmlns='{Ns.Rsm}'>{children}</set>", Ns.Client);

    private static ResultSetRequest Parse(string children)
    {
        Assert.True(ResultSetManagement.TryParse(Set(children), out var request, out var error), error);
        return request;
    }
}
