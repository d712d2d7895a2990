namespace Parley.Ldap.Tests;

/// <summary>
/// Active Directory's ranged retrieval (a group of more than 1,500 members comes as member;range=0-1499, the rest
/// asked for range by range). slapd never answers with ranges, so the loop is driven here by a function that
/// answers as Active Directory documents it, not by a directory.
/// </summary>
public sealed class RangedValuesTests
{
    private static readonly List<string> Members = Enumerable.Range(0, 3700).Select(i => $"cn=person {i},ou=People,dc=example,dc=test").ToList();

    [Theory]
    [InlineData("member;range=0-1499", 0, 1499)]
    [InlineData("Member;Range=1500-2999", 1500, 2999)]
    [InlineData("member;range=3000-*", 3000, null)]
    [InlineData("member;binary;range=0-9", 0, 9)]
    public void A_range_option_is_read(string description, int start, int? end)
    {
        Assert.True(RangedValues.TryParse(description, "member", out var parsedStart, out var parsedEnd));
        Assert.Equal((start, end), (parsedStart, parsedEnd));
    }

    [Theory]
    [InlineData("member")]
    [InlineData("memberOf;range=0-1499")]
    [InlineData("member;range=10-5")]
    [InlineData("member;range=-1-5")]
    [InlineData("member;range=0")]
    [InlineData("member;range=a-*")]
    public void Anything_else_is_not_a_range(string description) =>
        Assert.False(RangedValues.TryParse(description, "member", out _, out _));

    [Fact]
    public void A_group_of_3700_members_is_read_range_by_range_until_the_star()
    {
        var asked = new List<string>();

        var values = RangedValues.ReadAll("member", ActiveDirectory("member;range=0-*"), description =>
        {
            asked.Add(description);
            return ActiveDirectory(description);
        }, out var incomplete);

        Assert.Null(incomplete);
        Assert.Equal(Members, values);
        Assert.Equal(["member;range=1500-*", "member;range=3000-*"], asked);
    }

    [Fact]
    public void Values_without_ranges_are_read_as_they_are()
    {
        var values = RangedValues.ReadAll("member", new Dictionary<string, List<string>> { ["member"] = ["a", "b"], ["cn"] = ["Sales"] },
            _ => throw new InvalidOperationException("no range to ask for"), out var incomplete);

        Assert.Null(incomplete);
        Assert.Equal(["a", "b"], values);
    }

    [Fact]
    public void A_range_that_does_not_come_makes_the_group_incomplete_not_empty()
    {
        // The group deleted or changed between two reads: the second answers without the range asked for.
        var values = RangedValues.ReadAll("member", ActiveDirectory("member;range=0-*"), _ => new Dictionary<string, List<string>>(), out var incomplete);

        Assert.Equal(1500, values.Count);
        Assert.Contains("no range from 1500 on", incomplete);
    }

    [Fact]
    public void A_range_that_starts_elsewhere_than_asked_makes_the_group_incomplete()
    {
        var values = RangedValues.ReadAll("member", ActiveDirectory("member;range=0-*"), _ => ActiveDirectory("member;range=0-*"), out var incomplete);

        Assert.Equal(1500, values.Count);
        Assert.Contains("member;range=0-1499 when asked for the values of member from 1500 on", incomplete);
    }

    /// <summary>What Active Directory (MaxValRange 1,500) answers to a request for <paramref name="description"/>.</summary>
    private static Dictionary<string, List<string>> ActiveDirectory(string description)
    {
        Assert.True(RangedValues.TryParse(description, "member", out var start, out _));
        var values = Members.Skip(start).Take(1500).ToList();
        var last = start + values.Count - 1;
        var range = last == Members.Count - 1 ? $"{start}-*" : $"{start}-{last}";
        return new Dictionary<string, List<string>> { [$"member;range={range}"] = values, ["cn"] = ["Everyone"] };
    }
}
