using Parley.Ldap;
using Parley.Ldap.Tests.Support;

namespace Parley.Ldap.Tests;

public sealed class SlapdFixture : IAsyncLifetime
{
    public TestDirectory Directory { get; private set; } = null!;

    public async Task InitializeAsync() => Directory = await TestDirectory.StartAsync();

    public async Task DisposeAsync() => await Directory.DisposeAsync();

    public DirectoryOptions Options(Action<DirectoryOptions>? change = null)
    {
        var options = new DirectoryOptions
        {
            GroupFilter = "(|(cn=Engineering Team)(cn=Sales))",
            DisabledFilter = "(employeeType=disabled)",
            TimeoutSeconds = 3,
        };
        Directory.Configure(options);
        change?.Invoke(options);
        return options;
    }
}

public sealed class LdapDirectoryTests(SlapdFixture slapd) : IClassFixture<SlapdFixture>
{
    [Fact]
    public async Task A_person_is_found_by_user_id_with_their_attributes_and_photo()
    {
        var directory = new LdapDirectory(slapd.Options());

        var alice = await directory.FindUserAsync("alice");

        Assert.NotNull(alice);
        Assert.Equal(TestDirectory.Person("alice").Dn, alice.Dn);
        Assert.Equal("Alice Archer", alice.DisplayName);
        Assert.Equal("alice@example.test", alice.Mail);
        Assert.Equal("Engineering", alice.Department);
        Assert.Equal(TestDirectory.Photo, alice.Photo![..TestDirectory.Photo.Length]);
        Assert.False(alice.Disabled);
    }

    [Fact]
    public async Task Only_the_persons_own_password_binds()
    {
        var directory = new LdapDirectory(slapd.Options());
        var dn = TestDirectory.Person("alice").Dn;

        Assert.True(await directory.CheckPasswordAsync(dn, "alice-pw"));
        Assert.False(await directory.CheckPasswordAsync(dn, "bob-pw"));
        // An empty password would be an anonymous bind, which LDAP lets succeed.
        Assert.False(await directory.CheckPasswordAsync(dn, ""));
    }

    [Fact]
    public async Task The_operations_sent_are_counted_a_sign_in_is_two_binds_and_one_search_and_a_listing_a_search_a_page()
    {
        var directory = new LdapDirectory(slapd.Options(o => o.DisabledFilter = null));

        var person = await directory.FindUserAsync("bob");
        Assert.True(await directory.CheckPasswordAsync(person!.Dn, "bob-pw"));
        Assert.Equal((2L, 1L), directory.OperationsSent);

        await directory.ListUsersAsync();
        Assert.Equal((3L, 2L), directory.OperationsSent);
    }

    [Fact]
    public async Task A_dn_with_an_escaped_comma_spaces_and_non_ascii_characters_is_found_and_binds()
    {
        var directory = new LdapDirectory(slapd.Options());

        var zoe = await directory.FindUserAsync("zoe");

        Assert.NotNull(zoe);
        Assert.Equal("Zoë Çelik", zoe.DisplayName);
        Assert.True(await directory.CheckPasswordAsync(zoe.Dn, "zoe-pw"));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("*)(uid=*")]
    [InlineData("alice)(|(uid=*")]
    [InlineData("\0")]
    [InlineData("al*")]
    public async Task Filter_characters_in_a_name_match_only_literally(string name)
    {
        var directory = new LdapDirectory(slapd.Options());

        Assert.Null(await directory.FindUserAsync(name));
    }

    [Fact]
    public void Filter_values_are_escaped_as_RFC_4515_says()
    {
        Assert.Equal(@"\2a\29\28uid=\2a\5c\00", LdapFilter.Escape("*)(uid=*\\\0"));
        Assert.Equal("(&(objectClass=person)(uid=a\\2a))", LdapFilter.And("(objectClass=person)", "uid", "a*"));
    }

    [Fact]
    public void One_DN_in_different_spellings_normalizes_alike()
    {
        Assert.Equal(LdapDirectory.Normalize(@"cn=Platform\, R&D,ou=Groups,dc=x"), LdapDirectory.Normalize(@"CN=platform\2C R&D, OU=Groups,DC=x"));
        Assert.Equal(LdapDirectory.Normalize("cn=Zoë,dc=x"), LdapDirectory.Normalize(@"cn=Zo\c3\ab,dc=x"));
        Assert.NotEqual(LdapDirectory.Normalize(@"cn=a\,b,dc=x"), LdapDirectory.Normalize("cn=a,b=,dc=x"));
    }

    [Fact]
    public async Task A_person_matching_the_disabled_filter_is_found_disabled()
    {
        var directory = new LdapDirectory(slapd.Options());

        Assert.True((await directory.FindUserAsync("dave"))!.Disabled);
        Assert.Contains(await directory.ListUsersAsync(), u => u.UserId == "dave" && u.Disabled);
    }

    [Fact]
    public async Task A_wrong_service_account_password_is_a_clear_error()
    {
        var directory = new LdapDirectory(slapd.Options(o => o.BindPassword = "wrong"));

        var error = await Assert.ThrowsAsync<DirectoryUnavailableException>(() => directory.FindUserAsync("alice"));

        Assert.True(error.ServiceAccountRefused);
        Assert.Contains("refused the service account", error.Message);
    }

    [Fact]
    public async Task An_unreachable_server_is_reported_and_the_next_one_is_used()
    {
        var dead = TestDirectory.UnreachableUrl();
        var unreachable = new LdapDirectory(slapd.Options(o => o.Servers = [dead]));
        var failover = new LdapDirectory(slapd.Options(o => o.Servers = [dead, slapd.Directory.Url]));

        var error = await Assert.ThrowsAsync<DirectoryUnavailableException>(() => unreachable.FindUserAsync("alice"));
        Assert.Contains(dead, error.Message);
        Assert.NotNull(await failover.FindUserAsync("alice"));
    }

    [Fact]
    public async Task Groups_list_their_people_with_nested_groups_resolved()
    {
        var directory = new LdapDirectory(slapd.Options());

        var groups = await directory.ListGroupsAsync();

        var engineering = Assert.Single(groups, g => g.Name == "Engineering Team");
        Assert.Equal(
            new[] { "alice", "bob", "zoe" }.Select(uid => LdapDirectory.Normalize(TestDirectory.Person(uid).Dn)).Order(),
            engineering.MemberDns.Select(LdapDirectory.Normalize).Order());
        Assert.Equal(2, Assert.Single(groups, g => g.Name == "Sales").MemberDns.Count);
    }

    [Fact]
    public async Task Nested_groups_in_a_cycle_list_both_groups_people_once()
    {
        const string cycleA = "cn=Cycle A," + TestDirectory.GroupBase, cycleB = "cn=Cycle B," + TestDirectory.GroupBase;
        await slapd.Directory.ModifyAsync(
            AddGroup(cycleA, "Cycle A", TestDirectory.Person("alice").Dn, cycleB) + "\n" + AddGroup(cycleB, "Cycle B", TestDirectory.Person("carol").Dn, cycleA));
        var directory = new LdapDirectory(slapd.Options(o => o.GroupFilter = "(|(cn=Cycle A)(cn=Cycle B))"));

        var groups = await directory.ListGroupsAsync();

        var both = new[] { "alice", "carol" }.Select(uid => LdapDirectory.Normalize(TestDirectory.Person(uid).Dn)).Order();
        Assert.Equal(["Cycle A", "Cycle B"], groups.Select(g => g.Name).Order());
        Assert.All(groups, g => Assert.Equal(both, g.MemberDns.Select(LdapDirectory.Normalize).Order()));
    }

    private static string AddGroup(string dn, string cn, params string[] members)
    {
        var ldif = TestDirectory.GroupLdif(dn, cn, members);
        return ldif.Insert(ldif.IndexOf('\n') + 1, "changetype: add\n");
    }

    [Fact]
    public async Task Listing_people_reports_everyone_the_filter_matches()
    {
        var directory = new LdapDirectory(slapd.Options());

        var people = await directory.ListUsersAsync();

        Assert.Equal(TestDirectory.People.Select(p => p.Uid).Order(), people.Select(p => p.UserId).Order());
    }
}

public sealed class SlapdWithTlsFixture : IAsyncLifetime
{
    public TestDirectory Directory { get; private set; } = null!;

    public async Task InitializeAsync() => Directory = await TestDirectory.StartAsync(tls: true);

    public async Task DisposeAsync() => await Directory.DisposeAsync();
}

public sealed class LdapDirectoryTlsTests(SlapdWithTlsFixture slapd) : IClassFixture<SlapdWithTlsFixture>
{
    private DirectoryOptions Options(string server, string tls, bool trustCa) => new()
    {
        Servers = [server],
        Tls = tls,
        CaDirectory = trustCa ? slapd.Directory.CaDirectory : null,
        BindDn = TestDirectory.ServiceDn,
        BindPassword = TestDirectory.ServicePassword,
        UserBase = TestDirectory.PeopleBase,
        TimeoutSeconds = 3,
    };

    [Fact]
    public async Task StartTLS_with_the_directorys_CA_finds_people_and_checks_passwords()
    {
        var directory = new LdapDirectory(Options(slapd.Directory.Url, "starttls", trustCa: true));

        var alice = await directory.FindUserAsync("alice");

        Assert.NotNull(alice);
        Assert.True(await directory.CheckPasswordAsync(alice.Dn, "alice-pw"));
    }

    [Fact]
    public async Task Ldaps_with_the_directorys_CA_finds_people_and_checks_passwords()
    {
        var directory = new LdapDirectory(Options(slapd.Directory.LdapsUrl, "ldaps", trustCa: true));

        var alice = await directory.FindUserAsync("alice");

        Assert.NotNull(alice);
        Assert.True(await directory.CheckPasswordAsync(alice.Dn, "alice-pw"));
    }

    [Theory]
    [InlineData("starttls")]
    [InlineData("ldaps")]
    public async Task A_certificate_from_an_untrusted_CA_is_refused(string tls)
    {
        var directory = new LdapDirectory(Options(tls == "ldaps" ? slapd.Directory.LdapsUrl : slapd.Directory.Url, tls, trustCa: false));

        await Assert.ThrowsAsync<DirectoryUnavailableException>(() => directory.FindUserAsync("alice"));
    }
}

public sealed class LdapDirectoryLimitTests
{
    private static DirectoryOptions Options(TestDirectory directory) => new()
    {
        Servers = [directory.Url],
        Tls = "none",
        BindDn = TestDirectory.ServiceDn,
        BindPassword = TestDirectory.ServicePassword,
        UserBase = TestDirectory.PeopleBase,
        TimeoutSeconds = 10,
    };

    private static string ManyPeople(int count) => string.Concat(Enumerable.Range(0, count).Select(i =>
        TestDirectory.PersonLdif(new Person($"many{i}", $"uid=many{i},{TestDirectory.PeopleBase}", "pw", "Many", $"{i}", $"many{i}@example.test", "Bulk")) + "\n"));

    [Fact]
    public async Task A_listing_larger_than_the_directorys_size_limit_comes_a_page_at_a_time_and_is_complete()
    {
        await using var slapd = await TestDirectory.StartAsync(moreLdif: ManyPeople(1200), sizeLimit: 500);

        var people = await new LdapDirectory(Options(slapd)).ListUsersAsync();

        Assert.Equal(1200 + TestDirectory.People.Count, people.Count);
    }

    [Fact]
    public async Task A_listing_the_directory_cuts_short_is_an_error_not_a_partial_answer()
    {
        await using var slapd = await TestDirectory.StartAsync(moreLdif: ManyPeople(600), sizeLimit: 500, pagedUnlimited: false);

        var error = await Assert.ThrowsAsync<DirectoryUnavailableException>(() => new LdapDirectory(Options(slapd)).ListUsersAsync());

        Assert.Contains("size limit", error.Message);
    }
}
