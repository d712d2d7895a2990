using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Parley.Ldap.Tests.Support;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Modules.Ldap;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

public sealed class SlapdForNodes : IAsyncLifetime
{
    public TestDirectory Directory { get; private set; } = null!;

    public async Task InitializeAsync() => Directory = await TestDirectory.StartAsync();

    public async Task DisposeAsync() => await Directory.DisposeAsync();

    /// <summary>Points a node at the test directory (plain LDAP: it is on this host).</summary>
    public void Configure(ParleyOptions options, params string[] servers)
    {
        var directory = options.Module<DirectoryModuleOptions>();
        Directory.Configure(directory);
        if (servers.Length > 0)
        {
            directory.Servers = [.. servers];
        }
        directory.GroupFilter = "(|(cn=Engineering Team)(cn=Sales))";
        directory.DisabledFilter = "(employeeType=disabled)";
        directory.TimeoutSeconds = 2;
        directory.SyncIntervalMinutes = 0;
    }

    /// <summary>A SASL PLAIN exchange; the server's answer (success or failure).</summary>
    public static async Task<Element> PlainAsync(XmppTestClient client, string user, string password)
    {
        var message = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await client.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{message}</auth>");
        return await client.ReceiveAsync();
    }

    /// <summary>Signs in with PLAIN over direct TLS and binds.</summary>
    public static async Task<XmppTestClient> SignInAsync(TestNode node, string user, string password)
    {
        var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        var outcome = await PlainAsync(client, user, password);
        Assert.True(outcome.Name == "success", outcome.ToXml());
        await client.RestartStreamAsync();
        await client.BindAsync();
        return client;
    }
}

public sealed class DirectorySignInTests(SlapdForNodes slapd) : IClassFixture<SlapdForNodes>
{
    [Fact]
    public async Task A_directory_person_signs_in_with_the_directory_password_and_only_PLAIN_is_offered()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);

        var features = await client.OpenStreamAsync();
        var outcome = await SlapdForNodes.PlainAsync(client, "alice", "alice-pw");

        Assert.Equal(["PLAIN"], features.Child("mechanisms", Ns.Sasl)!.Children().Select(m => m.Text));
        Assert.Equal("success", outcome.Name);
        await client.RestartStreamAsync();
        Assert.StartsWith("alice@localhost/", await client.BindAsync());
    }

    [Fact]
    public async Task With_OfferScram_SCRAM_is_offered_besides_PLAIN_a_local_account_uses_it_and_a_directory_person_still_signs_in_with_PLAIN()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Module<DirectoryModuleOptions>().OfferScram = true;
        });
        await node.CreateUserAsync("admin", "admin-password");
        await using var admin = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await using var alice = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);

        var mechanisms = (await admin.OpenStreamAsync()).Child("mechanisms", Ns.Sasl)!.Children().Select(m => m.Text).ToList();
        await alice.OpenStreamAsync();

        Assert.Contains("SCRAM-SHA-256", mechanisms);
        Assert.Contains("SCRAM-SHA-1", mechanisms);
        Assert.Contains("PLAIN", mechanisms);
        Assert.Equal("success", (await admin.TryAuthenticateAsync("admin", "admin-password")).Name);
        // A directory password cannot be checked by SCRAM: the person is refused there and signs in with PLAIN.
        Assert.NotNull((await alice.TryAuthenticateAsync("alice", "alice-pw")).Child("not-authorized", Ns.Sasl));
        Assert.Equal("success", (await SlapdForNodes.PlainAsync(alice, "alice", "alice-pw")).Name);
    }

    [Theory]
    [InlineData("alice", "bob-pw")]
    [InlineData("alice", "")]
    [InlineData("*", "alice-pw")]
    [InlineData("*)(uid=*", "alice-pw")]
    [InlineData("nobody", "alice-pw")]
    public async Task A_wrong_password_or_a_name_with_filter_characters_is_not_authorized(string user, string password)
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        var outcome = await SlapdForNodes.PlainAsync(client, user, password);

        Assert.Equal("failure", outcome.Name);
        Assert.True(outcome.Child("not-authorized", Ns.Sasl) is not null || outcome.Child("malformed-request", Ns.Sasl) is not null, outcome.ToXml());
    }

    [Fact]
    public async Task Under_the_mail_scheme_a_person_signs_in_with_the_local_part_of_their_mail_address()
    {
        await slapd.Directory.AddPersonAsync(new Person("ivy.uid", $"uid=ivy.uid,{TestDirectory.PeopleBase}", "ivy-pw", "Ivy", "Irons", "ivy@localhost", "QA"));
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Module<DirectoryModuleOptions>().JidScheme = "mail";
        });
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        Assert.Equal("failure", (await SlapdForNodes.PlainAsync(client, "ivy.uid", "ivy-pw")).Name);
        Assert.Equal("success", (await SlapdForNodes.PlainAsync(client, "ivy", "ivy-pw")).Name);
    }

    [Fact]
    public async Task Under_the_mail_scheme_two_people_with_one_mail_address_cannot_sign_in_as_it_and_neither_gets_the_account()
    {
        await slapd.Directory.AddPersonAsync(new Person("kim1", $"uid=kim1,{TestDirectory.PeopleBase}", "kim1-pw", "Kim", "One", "kim@localhost", "QA"));
        await slapd.Directory.AddPersonAsync(new Person("kim2", $"uid=kim2,{TestDirectory.PeopleBase}", "kim2-pw", "Kim", "Two", "kim@localhost", "QA"));
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Module<DirectoryModuleOptions>().JidScheme = "mail";
        });

        foreach (var password in new[] { "kim1-pw", "kim2-pw" })
        {
            await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
            await client.OpenStreamAsync();
            Assert.NotNull((await SlapdForNodes.PlainAsync(client, "kim", password)).Child("not-authorized", Ns.Sasl));
        }
        Assert.False(await node.Accounts.ExistsAsync("kim@localhost"));
    }

    [Fact]
    public async Task Wrong_directory_passwords_are_throttled_like_local_ones()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await SlapdForNodes.PlainAsync(client, "bob", "wrong-1");
        var first = clock.Elapsed;
        clock.Restart();
        await SlapdForNodes.PlainAsync(client, "bob", "wrong-2");
        var second = clock.Elapsed;

        // TestNode sets 50 ms, doubling: the second wrong password waits at least 100 ms.
        Assert.True(first >= TimeSpan.FromMilliseconds(45), $"first failure after {first}");
        Assert.True(second >= TimeSpan.FromMilliseconds(90), $"second failure after {second}");
        Assert.Contains(node.Logs.Lines, l => l.Contains("authentication of bob@localhost", StringComparison.Ordinal) && l.Contains("counted as a failed password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Directory_people_sign_in_only_in_the_nodes_first_domain()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Domains = ["localhost", "other.localhost"];
        });
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync("other.localhost");

        Assert.NotNull((await SlapdForNodes.PlainAsync(client, "alice", "alice-pw")).Child("not-authorized", Ns.Sasl));
    }

    [Fact]
    public async Task A_person_whose_dn_has_an_escaped_comma_and_non_ascii_characters_signs_in()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        Assert.Equal("success", (await SlapdForNodes.PlainAsync(client, "zoe", "zoe-pw")).Name);
    }

    [Fact]
    public async Task A_disabled_directory_person_is_refused_with_account_disabled()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        var outcome = await SlapdForNodes.PlainAsync(client, "dave", "dave-pw");

        Assert.NotNull(outcome.Child("account-disabled", Ns.Sasl));
    }

    [Fact]
    public async Task A_local_account_signs_in_with_PLAIN_checked_against_its_stored_credentials()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await node.CreateUserAsync("admin", "admin-password");
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        Assert.NotNull((await SlapdForNodes.PlainAsync(client, "admin", "wrong-password")).Child("not-authorized", Ns.Sasl));
        Assert.Equal("success", (await SlapdForNodes.PlainAsync(client, "admin", "admin-password")).Name);
    }

    [Fact]
    public async Task With_the_directory_unreachable_directory_people_get_a_temporary_failure_and_local_accounts_still_sign_in()
    {
        // Not waiting for a first sync at start (DataMonitorTests): this is about sign-in while the directory is down.
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o, TestDirectory.UnreachableUrl());
            o.Module<DirectoryModuleOptions>().StartupSyncTimeoutSeconds = 0;
        });
        await node.CreateUserAsync("admin", "admin-password");
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        Assert.NotNull((await SlapdForNodes.PlainAsync(client, "alice", "alice-pw")).Child("temporary-auth-failure", Ns.Sasl));
        Assert.Equal("success", (await SlapdForNodes.PlainAsync(client, "admin", "admin-password")).Name);
    }

    [Fact]
    public async Task A_directory_that_never_answers_delays_only_its_own_people_not_others()
    {
        // A server that accepts connections and says nothing: the worst kind of slow directory.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(100);
        // Filled by the accepting task while the test reads it.
        var accepted = new System.Collections.Concurrent.ConcurrentQueue<Socket>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Enqueue(await silent.AcceptSocketAsync());
            }
        });
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o, $"ldap://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}");
            o.Module<DirectoryModuleOptions>().StartupSyncTimeoutSeconds = 0;
        });
        await node.CreateUserAsync("admin", "admin-password");
        await using var waiting = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await waiting.OpenStreamAsync();
        await using var local = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await local.OpenStreamAsync();

        var clock = Stopwatch.StartNew();
        var directoryAnswer = SlapdForNodes.PlainAsync(waiting, "alice", "alice-pw");
        Assert.Equal("success", (await SlapdForNodes.PlainAsync(local, "admin", "admin-password")).Name);
        var localTook = clock.Elapsed;
        var outcome = await directoryAnswer;

        Assert.NotNull(outcome.Child("temporary-auth-failure", Ns.Sasl));
        Assert.True(localTook < TimeSpan.FromSeconds(1.5), $"the local sign-in took {localTook}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"the directory's time-out of 2 s took {clock.Elapsed}");
        foreach (var socket in accepted)
        {
            socket.Dispose();
        }
    }
}
