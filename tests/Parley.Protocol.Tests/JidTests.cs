namespace Parley.Protocol.Tests;

public class JidTests
{
    [Theory]
    // RFC 7622 §3.5.1, valid examples (with their canonical forms).
    [InlineData("juliet@example.com", "juliet@example.com")]
    [InlineData("juliet@example.com/foo", "juliet@example.com/foo")]
    [InlineData("juliet@example.com/foo bar", "juliet@example.com/foo bar")]
    [InlineData("juliet@example.com/foo@bar", "juliet@example.com/foo@bar")]
    [InlineData("foo\\20bar@example.com", "foo\\20bar@example.com")]
    [InlineData("fussball@example.com", "fussball@example.com")]
    [InlineData("fußball@example.com", "fußball@example.com")]
    [InlineData("π@example.com", "π@example.com")]
    [InlineData("Σ@example.com/foo", "σ@example.com/foo")]
    [InlineData("σ@example.com/foo", "σ@example.com/foo")]
    [InlineData("ς@example.com/foo", "ς@example.com/foo")]
    [InlineData("king@example.com/♚", "king@example.com/♚")]
    [InlineData("example.com", "example.com")]
    [InlineData("example.com/foobar", "example.com/foobar")]
    [InlineData("a.example.com/b@example.net", "a.example.com/b@example.net")]
    // Case mapping applies to localpart and domainpart, never to the resourcepart.
    [InlineData("JULIET@EXAMPLE.COM/Balcony", "juliet@example.com/Balcony")]
    // Fullwidth letters map to their ASCII form in localparts (width mapping) and domainparts (UTS-46).
    [InlineData("ＪＵＬＩＥＴ@ｅｘａｍｐｌｅ．ｃｏｍ", "juliet@example.com")]
    // The resourcepart keeps fullwidth characters but maps non-ASCII spaces to U+0020.
    [InlineData("juliet@example.com/ＢＡＬ\u00A0cony", "juliet@example.com/ＢＡＬ cony")]
    // NFC: a decomposed é becomes the precomposed one.
    [InlineData("cafe\u0301@example.com/cafe\u0301", "caf\u00E9@example.com/caf\u00E9")]
    // One trailing dot of the domainpart is removed.
    [InlineData("juliet@example.com./x", "juliet@example.com/x")]
    [InlineData("juliet@[::1]/x", "juliet@[::1]/x")]
    [InlineData("[2001:DB8::1]", "[2001:db8::1]")]
    [InlineData("user@192.168.0.1", "user@192.168.0.1")]
    [InlineData("l·l@example.com", "l·l@example.com")]
    [InlineData("אבג@example.com", "אבג@example.com")]
    [InlineData("\u0915\u094D\u200D\u0937@example.com", "\u0915\u094D\u200D\u0937@example.com")]
    public void Parse_accepts_valid_jids_and_returns_the_canonical_form(string text, string canonical)
    {
        Jid jid = Jid.Parse(text);

        Assert.Equal(canonical, jid.ToString());
        Assert.True(Jid.TryParse(text, out Jid? parsed));
        Assert.Equal(jid, parsed);
    }

    [Theory]
    // RFC 7622 §3.5.2, invalid examples.
    [InlineData("\"juliet\"@example.com", "localpart")]
    [InlineData("foo bar@example.com", "localpart")]
    [InlineData("juliet@@example.com", "domainpart")]
    [InlineData("@example.com", "localpart is empty")]
    [InlineData("henry\u2163@example.com", "localpart")]
    [InlineData("♚@example.com", "localpart")]
    [InlineData("juliet@", "domainpart is empty")]
    [InlineData("/foobar", "domainpart is empty")]
    // Empty parts are errors, not absent parts.
    [InlineData("juliet@example.com/", "resourcepart is empty")]
    [InlineData("", "domainpart is empty")]
    [InlineData("example.com./", "resourcepart is empty")]
    [InlineData(".", "domainpart is empty")]
    [InlineData("a..b", "empty label")]
    [InlineData("juliet@exa mple.com", "domainpart")]
    [InlineData("juliet@exa_mple.com", "domainpart")]
    [InlineData("juliet@-example.com", "domainpart")]
    [InlineData("juliet@xn--zz.com", "domainpart")]
    [InlineData("juliet@[::1", "IPv6")]
    [InlineData("juliet@[zz::1]", "IPv6")]
    [InlineData("juliet@[::1%eth0]", "IPv6")]
    [InlineData("juliet@[192.168.0.1]", "IPv6")]
    [InlineData("juliet@example.com/foo\u0007bar", "resourcepart contains the disallowed code point U+0007")]
    [InlineData("juliet@example.com/foo\u200Bbar", "resourcepart contains the disallowed code point U+200B")]
    [InlineData("juliet@example.com/\uE000", "resourcepart contains the disallowed code point U+E000")]
    [InlineData("juliet@example.com/\u0378", "unassigned")]
    [InlineData("a\u1100@example.com", "localpart contains the disallowed code point U+1100")]
    [InlineData("a\u200Db@example.com", "out-of-context")]
    [InlineData("a·b@example.com", "out-of-context")]
    [InlineData("\u0661\u06F1@example.com", "out-of-context")]
    [InlineData("aא@example.com", "bidi")]
    [InlineData("1א@example.com", "bidi")]
    [InlineData("juliet@1abc.אבג", "bidi")]
    public void Parse_rejects_invalid_jids_saying_what_is_wrong(string text, string expectedMessagePart)
    {
        var exception = Assert.Throws<JidFormatException>(() => Jid.Parse(text));

        Assert.Contains(expectedMessagePart, exception.Message, StringComparison.Ordinal);
        Assert.False(Jid.TryParse(text, out Jid? jid));
        Assert.Null(jid);
    }

    [Theory]
    // Built in code: xUnit would replace lone surrogates in [InlineData] with U+FFFD.
    [InlineData("juliet@example.com/foo", '\uD800', "resourcepart contains an unpaired surrogate")]
    [InlineData("juliet@example.com/foo", '\uDC00', "resourcepart contains an unpaired surrogate")]
    [InlineData("juliet@example.com/foo", '\uFFFF', "resourcepart contains the disallowed code point U+FFFF")]
    [InlineData("julie", '\uD800', "localpart contains an unpaired surrogate")]
    public void Parse_rejects_unpaired_surrogates_and_noncharacters(string prefix, char invalid, string expectedMessagePart)
    {
        string text = prefix + invalid + (prefix.Contains('@') ? "" : "@example.com");

        var exception = Assert.Throws<JidFormatException>(() => Jid.Parse(text));

        Assert.Contains(expectedMessagePart, exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("juliet@example.com/balcony", "juliet@example.com", true)]
    [InlineData("juliet@example.com/balcony", "JULIET@Example.com/chamber", true)]
    [InlineData("juliet@example.com", "romeo@example.com", false)]
    [InlineData("juliet@example.com", "juliet@example.net", false)]
    [InlineData("example.com", "example.com/service", true)]
    [InlineData("example.com", "juliet@example.com", false)]
    public void SharesBareWith_compares_the_bare_jids_as_Bare_Equals_does(string left, string right, bool expected)
    {
        var a = Jid.Parse(left);
        var b = Jid.Parse(right);

        Assert.Equal(expected, a.SharesBareWith(b));
        Assert.Equal(a.Bare.Equals(b.Bare), a.SharesBareWith(b));
    }

    [Theory]
    [InlineData("juliet@example.com/balcony")]
    [InlineData("juliet@example.com")]
    [InlineData("example.com/service/with/slashes")]
    [InlineData("JULIET@Example.COM/Balcony")]
    public void BareText_is_the_bare_jids_text(string text)
    {
        var jid = Jid.Parse(text);

        Assert.Equal(jid.Bare.ToString(), jid.BareText.ToString());
    }

    [Fact]
    public void TryParse_of_null_fails_without_throwing()
    {
        Assert.False(Jid.TryParse(null, out _));
    }

    [Theory]
    [InlineData('"')]
    [InlineData('&')]
    [InlineData('\'')]
    [InlineData('/')]
    [InlineData(':')]
    [InlineData('<')]
    [InlineData('>')]
    [InlineData('@')]
    public void Localpart_excludes_the_characters_of_RFC_7622(char excluded)
    {
        var exception = Assert.Throws<JidFormatException>(() => Jid.Create($"a{excluded}b", "example.com"));

        Assert.Contains("RFC 7622", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Localpart_excludes_a_fullwidth_at_sign_after_width_mapping()
    {
        var exception = Assert.Throws<JidFormatException>(() => Jid.Create("a\uFF20b", "example.com"));

        Assert.Contains("'@'", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("juliet@münchen.de")]
    [InlineData("juliet@xn--mnchen-3ya.de")]
    [InlineData("juliet@XN--MNCHEN-3YA.DE")]
    [InlineData("juliet@MÜNCHEN.DE")]
    [InlineData("juliet@münchen。de")]
    public void Internationalized_domains_in_any_form_have_the_same_U_label_canonical_form(string text)
    {
        Jid jid = Jid.Parse(text);

        Assert.Equal("münchen.de", jid.Domain);
        Assert.Equal(Jid.Parse("juliet@münchen.de"), jid);
    }

    public static TheoryData<string, bool> PartsAtTheLengthLimit()
    {
        string domainOf1023 = string.Join('.', Enumerable.Repeat(new string('a', 63), 16));
        string domainOf1024 = string.Join('.', [.. Enumerable.Repeat(new string('b', 63), 15), new string('c', 31), new string('d', 32)]);
        return new TheoryData<string, bool>
        {
            { new string('a', 1023) + "@example.com", true },
            { new string('a', 1024) + "@example.com", false },
            // Octets of UTF-8, not characters: é takes two.
            { string.Concat(Enumerable.Repeat("é", 511)) + "a@example.com", true },
            { string.Concat(Enumerable.Repeat("é", 512)) + "@example.com", false },
            { "example.com/" + new string('r', 1023), true },
            { "example.com/" + new string('r', 1024), false },
            { domainOf1023, true },
            { domainOf1024, false },
            { new string('a', 63) + ".com", true },
            { new string('a', 64) + ".com", false },
        };
    }

    [Theory]
    [MemberData(nameof(PartsAtTheLengthLimit))]
    public void Each_part_may_hold_up_to_1023_octets(string text, bool valid)
    {
        Assert.Equal(valid, Jid.TryParse(text, out _));
    }

    [Fact]
    public void Parts_are_exposed_prepared()
    {
        Jid jid = Jid.Parse("Juliet@Example.COM/Balcony");

        Assert.Equal("juliet", jid.Local);
        Assert.Equal("example.com", jid.Domain);
        Assert.Equal("Balcony", jid.Resource);
        Assert.False(jid.IsBare);
        Assert.False(jid.IsDomain);
    }

    [Fact]
    public void Bare_drops_the_resource_and_is_the_same_instance_for_a_bare_jid()
    {
        Jid full = Jid.Parse("juliet@example.com/balcony");
        Jid bare = Jid.Parse("juliet@example.com");

        Assert.Equal(bare, full.Bare);
        Assert.Equal("juliet@example.com", full.Bare.ToString());
        Assert.Same(full.Bare, full.Bare);
        Assert.Same(bare, bare.Bare);
        Assert.True(bare.IsBare);
        Assert.True(Jid.Parse("example.com").IsDomain);
        Assert.False(Jid.Parse("example.com/x").IsDomain);
    }

    [Fact]
    public void WithResource_prepares_the_new_resource()
    {
        Jid jid = Jid.Parse("juliet@example.com/balcony");

        Assert.Equal("juliet@example.com/orchard garden", jid.WithResource("orchard\u3000garden").ToString());
        Assert.Equal(Jid.Parse("juliet@example.com"), jid.WithResource(null));
        Assert.Throws<JidFormatException>(() => jid.WithResource(""));
    }

    [Fact]
    public void Create_prepares_every_part_and_rejects_empty_ones()
    {
        Assert.Equal("juliet@münchen.de/Home", Jid.Create("JULIET", "XN--MNCHEN-3YA.DE", "Home").ToString());
        Assert.Equal("example.com", Jid.Create(null, "example.com").ToString());
        Assert.Contains("localpart is empty", Assert.Throws<JidFormatException>(() => Jid.Create("", "example.com")).Message, StringComparison.Ordinal);
        Assert.Contains("domainpart is empty", Assert.Throws<JidFormatException>(() => Jid.Create("a", "")).Message, StringComparison.Ordinal);
        Assert.Contains("resourcepart is empty", Assert.Throws<JidFormatException>(() => Jid.Create("a", "example.com", "")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Jids_are_equal_exactly_when_their_canonical_forms_are()
    {
        Jid a = Jid.Parse("Juliet@EXAMPLE.com/balcony");
        Jid b = Jid.Parse("juliet@example.com/balcony");
        Jid otherResource = Jid.Parse("juliet@example.com/Balcony");

        Assert.True(a == b);
        Assert.False(a != b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a.Equals((object)b));
        Assert.True(a != otherResource);
        Assert.False(a.Equals(null));
        Assert.False(a == null);
        Assert.True((Jid?)null == null);
    }

    [Fact]
    public void A_canonical_input_is_kept_as_the_string_form()
    {
        const string text = "juliet@example.com/balcony";

        Assert.Same(text, Jid.Parse(text).ToString());
    }
}
