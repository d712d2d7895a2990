using Parley.Protocol;
using Parley.Server.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>The room's table of IQs passed on to occupants: matched by id, sender and recipient; bounded in number and age.</summary>
public sealed class MucForwardedIqsTests
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    private static readonly Jid Requester = Jid.Parse("alice@localhost/home");
    private static readonly Jid RequesterOccupant = Jid.Parse("room@conference.localhost/Alice");
    private static readonly Jid Recipient = Jid.Parse("bob@localhost/work");
    private static readonly Jid RecipientOccupant = Jid.Parse("room@conference.localhost/Bob");

    private static ForwardedIq Sent(DateTimeOffset at, string originalId = "v1") =>
        new(originalId, Requester, RequesterOccupant, Recipient, RecipientOccupant, at);

    [Fact]
    public void An_answer_from_the_recipient_to_the_requesters_occupant_jid_finds_its_request_once()
    {
        var table = new ForwardedIqs(capacity: 4, Lifetime);
        var id = table.Add(Sent(Start, "alice-1"));

        Assert.NotNull(id);
        Assert.NotEqual("alice-1", id);
        Assert.True(table.TryTake(id, Recipient, RequesterOccupant, Start.AddSeconds(5), out var forwarded));
        Assert.Equal("alice-1", forwarded.OriginalId);
        Assert.Equal(Requester, forwarded.Requester);
        Assert.False(table.TryTake(id, Recipient, RequesterOccupant, Start.AddSeconds(6), out _));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Ids_are_distinct_and_differ_between_tables()
    {
        var first = new ForwardedIqs(capacity: 4, Lifetime);
        var second = new ForwardedIqs(capacity: 4, Lifetime);

        var a = first.Add(Sent(Start));
        var b = first.Add(Sent(Start));
        var c = second.Add(Sent(Start));

        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);
        Assert.False(second.TryTake(a, Recipient, RequesterOccupant, Start, out _));
    }

    [Fact]
    public void An_answer_from_someone_else_or_to_another_occupant_jid_matches_nothing_and_leaves_the_request_waiting()
    {
        var table = new ForwardedIqs(capacity: 4, Lifetime);
        var id = table.Add(Sent(Start));

        Assert.False(table.TryTake(id, Jid.Parse("carol@localhost/home"), RequesterOccupant, Start, out _));
        Assert.False(table.TryTake(id, Recipient, Jid.Parse("room@conference.localhost/Carol"), Start, out _));
        Assert.False(table.TryTake("unknown", Recipient, RequesterOccupant, Start, out _));
        Assert.False(table.TryTake(null, Recipient, RequesterOccupant, Start, out _));
        Assert.True(table.TryTake(id, Recipient, RequesterOccupant, Start, out _));
    }

    [Fact]
    public void An_answer_later_than_the_lifetime_matches_nothing()
    {
        var table = new ForwardedIqs(capacity: 4, Lifetime);
        var id = table.Add(Sent(Start));

        Assert.False(table.TryTake(id, Recipient, RequesterOccupant, Start + Lifetime + TimeSpan.FromSeconds(1), out _));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void A_full_table_refuses_until_a_request_is_answered_or_expires()
    {
        var table = new ForwardedIqs(capacity: 2, Lifetime);
        var first = table.Add(Sent(Start));
        Assert.NotNull(table.Add(Sent(Start.AddSeconds(30))));

        Assert.Null(table.Add(Sent(Start.AddSeconds(60))));

        Assert.True(table.TryTake(first, Recipient, RequesterOccupant, Start.AddSeconds(61), out _));
        Assert.NotNull(table.Add(Sent(Start.AddSeconds(62))));
        Assert.Null(table.Add(Sent(Start.AddSeconds(63))));
        // The one sent at 30 s has expired by 151 s and makes room; the one sent at 62 s has not.
        Assert.NotNull(table.Add(Sent(Start.AddSeconds(151))));
        Assert.Equal(2, table.Count);
    }
}
