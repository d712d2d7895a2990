using Parley.Ldap;

namespace Parley.Ldap.Tests;

/// <summary>
/// Directories hand back one DN in several spellings (a group's member value, a search result's DN, Active
/// Directory's upper-case types): shared roster groups match people by <see cref="LdapDirectory.Normalize"/>.
/// </summary>
public sealed class DnSpellingTests
{
    [Theory]
    [InlineData(@"cn=Zoë Çelik\, Jr.,ou=People,dc=example,dc=test")]
    [InlineData(@"CN=Zo\C3\AB \C3\87elik\2C Jr., OU=People, DC=example, DC=test")]
    [InlineData(@"cn=zoë çelik\, jr. ,ou=people ,dc=example,dc=test")]
    [InlineData(@"cn = Zoë Çelik\2c Jr.;ou=People;dc=example;dc=test")]
    [InlineData("cn=Zoe\u0308 C\u0327elik\\, Jr.,ou=People,dc=example,dc=test")]
    public void A_dn_with_an_escaped_comma_spaces_and_non_ascii_characters_matches_in_any_spelling(string spelling) =>
        Assert.Equal(LdapDirectory.Normalize(@"cn=Zoë Çelik\, Jr.,ou=People,dc=example,dc=test"), LdapDirectory.Normalize(spelling));

    [Theory]
    [InlineData(@"cn=a=b,dc=test", @"cn=a\=b,dc=test")]
    [InlineData(@"cn=a=b,dc=test", @"cn=a\3Db,dc=test")]
    [InlineData(@"uid=x+cn=Y,dc=test", @"cn=y+uid=x,dc=test")]
    public void Equal_dns_match(string one, string other) =>
        Assert.Equal(LdapDirectory.Normalize(one), LdapDirectory.Normalize(other));

    [Theory]
    [InlineData(@"cn=a\,ou\=x,dc=test", @"cn=a,ou=x,dc=test")]
    [InlineData(@"cn=a\2Bcn\3Db,dc=test", @"cn=a+cn=b,dc=test")]
    [InlineData(@"cn=a\ ,dc=test", @"cn=a,dc=test")]
    [InlineData(@"cn=a\\,dc=test", @"cn=a,dc=test")]
    public void An_escaped_separator_or_space_is_part_of_the_value_and_the_dns_differ(string one, string other) =>
        Assert.NotEqual(LdapDirectory.Normalize(one), LdapDirectory.Normalize(other));
}
