namespace Parley.Protocol.Tests;

public class XmppDateTimeTests
{
    private static readonly DateTimeOffset Noon = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Format_writes_utc_to_the_millisecond_always_with_three_digits()
    {
        Assert.Equal("2024-05-01T12:00:00.000Z", XmppDateTime.Format(Noon));
        Assert.Equal("2024-05-01T12:00:00.123Z", XmppDateTime.Format(Noon.AddTicks(1_239_999)));
        Assert.Equal("2024-05-01T10:00:00.000Z", XmppDateTime.Format(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.FromHours(2))));
    }

    [Fact]
    public void FormatSeconds_writes_utc_to_the_whole_second()
    {
        Assert.Equal("2024-05-01T12:00:00Z", XmppDateTime.FormatSeconds(Noon.AddMilliseconds(999)));
        Assert.Equal("2024-05-01T17:30:00Z", XmppDateTime.FormatSeconds(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.FromHours(-5.5))));
    }

    [Theory]
    [InlineData("2024-05-01T12:00:00Z", 0)]
    [InlineData("2024-05-01T12:00:00.5Z", 5_000_000)]
    [InlineData("2024-05-01T12:00:00.123Z", 1_230_000)]
    [InlineData("2024-05-01T12:00:00.1234567Z", 1_234_567)]
    [InlineData("2024-05-01T14:00:00+02:00", 0)]
    [InlineData("2024-05-01T06:30:00.250-05:30", 2_500_000)]
    [InlineData("2024-05-01T12:00:00+00:00", 0)]
    [InlineData("2024-05-01T12:00:00-00:00", 0)]
    public void Parse_accepts_the_datetime_profile_with_and_without_fractions_and_offsets(string text, long ticksAfterNoon)
    {
        Assert.True(XmppDateTime.TryParse(text, out var value));
        Assert.Equal(Noon.AddTicks(ticksAfterNoon), value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("2024-05-01")]
    [InlineData("2024-05-01T12:00:00")]
    [InlineData("2024-05-01T12:00Z")]
    [InlineData("2024-05-01 12:00:00Z")]
    [InlineData("2024-13-01T12:00:00Z")]
    [InlineData("12:00:00Z")]
    public void Parse_refuses_what_is_not_a_datetime_with_a_zone(string? text)
    {
        Assert.False(XmppDateTime.TryParse(text, out _));
    }

    [Fact]
    public void What_Format_writes_parses_back_to_the_same_millisecond()
    {
        var stamp = Noon.AddMilliseconds(987);

        Assert.True(XmppDateTime.TryParse(XmppDateTime.Format(stamp), out var parsed));
        Assert.Equal(stamp, parsed);
    }
}
