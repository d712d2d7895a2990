namespace Parley.Storage.Tests;

/// <summary>Compares roster items field by field: records compare their group lists by reference, not by content.</summary>
internal static class RosterAssert
{
    public static void Equal(RosterItem expected, RosterItem? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Contact, actual.Contact);
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Subscription, actual.Subscription);
        Assert.Equal(expected.AskSubscribe, actual.AskSubscribe);
        Assert.Equal(expected.PreApproved, actual.PreApproved);
        Assert.Equal(expected.Groups, actual.Groups);
    }

    public static void Equal(IReadOnlyList<RosterItem> expected, IReadOnlyList<RosterItem> actual)
    {
        Assert.Equal(expected.Select(i => i.Contact), actual.Select(i => i.Contact));
        for (var i = 0; i < expected.Count; i++)
        {
            Equal(expected[i], actual[i]);
        }
    }

    public static void Equal(IReadOnlyList<(string User, RosterItem Item)> expected, IReadOnlyList<(string User, RosterItem Item)> actual)
    {
        Assert.Equal(expected.Select(r => (r.User, r.Item.Contact)), actual.Select(r => (r.User, r.Item.Contact)));
        for (var i = 0; i < expected.Count; i++)
        {
            Equal(expected[i].Item, actual[i].Item);
        }
    }
}
