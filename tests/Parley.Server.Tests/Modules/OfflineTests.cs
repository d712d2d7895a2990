using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Modules;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>Offline messages (XEP-0160) over real connections.</summary>
public sealed class OfflineTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await CreateUsersAsync(_node);
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static async Task CreateUsersAsync(TestNode node)
    {
        foreach (var user in new[] { "juliet", "romeo" })
        {
            await node.CreateUserAsync(user, user + "-password");
        }
    }

    private static Task<XmppTestClient> LoginAsync(TestNode node, string user, string resource = "home") =>
        XmppTestClient.LoginAsync(node, user, user + "-password", resource);

    /// <summary>Logs in and sends initial presence; offline messages follow the presence the server echoes.</summary>
    private static async Task<XmppTestClient> OnlineAsync(TestNode node, string user, string resource = "home", int priority = 0)
    {
        var client = await LoginAsync(node, user, resource);
        await client.AnnounceAsync($"<presence><priority>{priority}</priority></presence>");
        return client;
    }

    /// <summary>Pings the server and returns what arrived before the answer: the server has handled everything the client sent before.</summary>
    private static async Task<List<Element>> UntilPongAsync(XmppTestClient client)
    {
        await client.SendAsync("<iq type='get' id='barrier' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        var before = new List<Element>();
        while (true)
        {
            var element = await client.ReceiveAsync();
            if (element.Name == "iq" && element.GetAttribute("id") == "barrier")
            {
                return before;
            }
            before.Add(element);
        }
    }

    private Task<int> StoredForAsync(string user) => _node.App.Node.Storage.Offline.CountAsync(user + "@localhost");

    [Fact]
    public async Task Messages_to_an_offline_user_arrive_at_the_next_login_in_order_stamped_with_when_they_came()
    {
        await using (var romeo = await LoginAsync(_node, "romeo"))
        {
            foreach (var body in new[] { "one", "two", "three" })
            {
                await romeo.SendAsync($"<message to='juliet@localhost' type='chat' id='{body}'><body>{body}</body></message>");
            }
            Assert.DoesNotContain(await UntilPongAsync(romeo), e => e.Name == "message");
        }
        Assert.Equal(3, await StoredForAsync("juliet"));

        await using var juliet = await OnlineAsync(_node, "juliet");

        foreach (var body in new[] { "one", "two", "three" })
        {
            var message = await juliet.ReceiveAsync(e => e.Name == "message");
            Assert.Equal(body, message.ChildText("body"));
            Assert.Equal("romeo@localhost/home", message.GetAttribute("from"));
            Assert.Equal("chat", message.GetAttribute("type"));
            var delay = message.Child("delay", Ns.Delay);
            Assert.NotNull(delay);
            Assert.Equal("localhost", delay!.GetAttribute("from"));
            Assert.Equal("Offline Storage", delay.Text);
            var stamp = DateTimeOffset.ParseExact(delay.GetAttribute("stamp")!, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            Assert.InRange(stamp, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        }
        Assert.DoesNotContain(await UntilPongAsync(juliet), e => e.Name == "message");
        Assert.Equal(0, await StoredForAsync("juliet"));
    }

    [Fact]
    public async Task A_message_that_comes_while_the_recipient_is_logging_in_arrives_after_the_one_stored_before_it()
    {
        await using var node = await TestNode.StartAsync(modules: [.. BuiltInModules.All, LoginHoldModule.Definition]);
        await CreateUsersAsync(node);
        var hold = node.App.Web.Services.GetRequiredService<LoginHold>();
        await using var romeo = await LoginAsync(node, "romeo");
        await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>one</body></message>");
        await UntilPongAsync(romeo);

        // Juliet's login stops after her presence went out and before her stored messages are handed over.
        await using var juliet = await OnlineAsync(node, "juliet");
        await hold.Entered.Task.WaitAsync(XmppTestClient.Deadline);
        await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>two</body></message>");
        await UntilPongAsync(romeo);
        hold.Release.SetResult();

        Assert.Equal("one", (await juliet.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        Assert.Equal("two", (await juliet.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        Assert.Equal(0, await node.App.Node.Storage.Offline.CountAsync("juliet@localhost"));
    }

    [Fact]
    public async Task A_message_to_the_bare_jid_while_one_resource_is_handed_its_stored_messages_reaches_the_others_at_once_and_it_after_them()
    {
        await using var node = await TestNode.StartAsync(modules: [.. BuiltInModules.All, LoginHoldModule.Definition]);
        await CreateUsersAsync(node);
        var hold = node.App.Web.Services.GetRequiredService<LoginHold>();
        hold.Resource = "phone";
        await using var romeo = await LoginAsync(node, "romeo");
        await using var laptop = await OnlineAsync(node, "juliet", "laptop");

        // The phone turns carbons on: the copy kept for it must not reach it a second time as a carbon.
        // Its login stops after its presence went out and before stored messages are handed over to it.
        await using var phone = await LoginAsync(node, "juliet", "phone");
        await phone.SendAsync("<iq type='set' id='carbons'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
        await phone.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "carbons" && e.GetAttribute("type") == "result");
        await phone.AnnounceAsync();
        await hold.Entered.Task.WaitAsync(XmppTestClient.Deadline);
        await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>two</body></message>");

        Assert.Equal("two", (await laptop.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        hold.Release.SetResult();
        Assert.Equal("two", (await phone.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        Assert.DoesNotContain(await UntilPongAsync(phone), e => e.Name == "message");
        Assert.DoesNotContain(await UntilPongAsync(laptop), e => e.Name == "message");
        Assert.Equal(0, await node.App.Node.Storage.Offline.CountAsync("juliet@localhost"));
    }

    /// <summary>Stops the first of Juliet's logins (of <see cref="Resource"/>, if set) that becomes available until the test lets it go on.</summary>
    public sealed class LoginHold
    {
        public string? Resource { get; set; }
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed class LoginHoldModule(LoginHold hold) : IModule
    {
        public static ModuleDefinition Definition { get; } =
            ModuleDefinition.For<LoginHoldModule>("LoginHold").WithServices(services => services.AddSingleton<LoginHold>());

        public void Register(ModuleRegistry registry) => registry.OnSessionAvailable(async session =>
        {
            if (session.Jid.Local == "juliet" && (hold.Resource is null || session.Jid.Resource == hold.Resource) && hold.Entered.TrySetResult())
            {
                await hold.Release.Task;
            }
        });
    }

    [Fact]
    public async Task A_full_offline_store_refuses_further_messages_with_an_error_that_says_so()
    {
        await using var node = await TestNode.StartAsync(o => o.Limits.MaxOfflineMessages = 2);
        await CreateUsersAsync(node);
        await using var romeo = await LoginAsync(node, "romeo");

        foreach (var id in new[] { "m1", "m2", "m3" })
        {
            await romeo.SendAsync($"<message to='juliet@localhost' id='{id}'><body>{id}</body></message>");
        }

        var error = await romeo.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error");
        Assert.Equal("m3", error.GetAttribute("id"));
        Assert.NotNull(error.Child("error")!.Child("service-unavailable", Ns.Stanzas));
        Assert.Equal("The recipient's offline storage is full.", error.Child("error")!.ChildText("text", Ns.Stanzas));
        Assert.Equal(2, await node.App.Node.Storage.Offline.CountAsync("juliet@localhost"));

        await using var juliet = await OnlineAsync(node, "juliet");
        Assert.Equal("m1", (await juliet.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        Assert.Equal("m2", (await juliet.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        Assert.DoesNotContain(await UntilPongAsync(juliet), e => e.Name == "message");
    }

    [Theory]
    [InlineData("<composing xmlns='http://jabber.org/protocol/chatstates'/>")]
    [InlineData("<active xmlns='http://jabber.org/protocol/chatstates'/><thread>t1</thread>")]
    public async Task A_message_with_only_a_chat_state_is_not_stored(string content)
    {
        await using var romeo = await LoginAsync(_node, "romeo");

        await romeo.SendAsync($"<message to='juliet@localhost' type='chat' id='state'>{content}</message>");

        // Not kept, so the sender hears that nobody took it, as for any message to an unavailable user.
        var error = await romeo.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "state");
        Assert.NotNull(error.Child("error")!.Child("service-unavailable", Ns.Stanzas));
        Assert.Equal(0, await StoredForAsync("juliet"));
    }

    [Fact]
    public async Task A_message_hinted_no_store_is_not_kept_but_one_hinted_no_permanent_store_is()
    {
        await using var romeo = await LoginAsync(_node, "romeo");

        // XEP-0334 §4.2: no storage at all, not even until the next login; §4.1 only rules out archives.
        await romeo.SendAsync("<message to='juliet@localhost' type='chat' id='fleeting'><body>now or never</body><no-store xmlns='urn:xmpp:hints'/></message>");
        await romeo.SendAsync("<message to='juliet@localhost' type='chat' id='kept'><body>off the record</body><no-permanent-store xmlns='urn:xmpp:hints'/></message>");

        var error = await romeo.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error");
        Assert.Equal("fleeting", error.GetAttribute("id"));
        Assert.NotNull(error.Child("error")!.Child("service-unavailable", Ns.Stanzas));
        Assert.DoesNotContain(await UntilPongAsync(romeo), e => e.Name == "message");
        Assert.Equal(1, await StoredForAsync("juliet"));

        await using var juliet = await OnlineAsync(_node, "juliet");
        Assert.Equal("off the record", (await juliet.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
    }

    [Fact]
    public async Task A_message_to_a_user_that_does_not_exist_gets_service_unavailable_and_is_not_stored()
    {
        await using var romeo = await LoginAsync(_node, "romeo");

        await romeo.SendAsync("<message to='nobody@localhost' type='chat' id='lost'><body>hello?</body></message>");

        var error = await romeo.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "lost");
        Assert.Equal("error", error.GetAttribute("type"));
        Assert.NotNull(error.Child("error")!.Child("service-unavailable", Ns.Stanzas));
        Assert.Equal(0, await StoredForAsync("nobody"));
    }

    [Fact]
    public async Task A_session_with_negative_priority_does_not_get_offline_messages_and_the_next_with_priority_zero_does()
    {
        await using (var romeo = await LoginAsync(_node, "romeo"))
        {
            await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>for your desk</body></message>");
            await UntilPongAsync(romeo);
        }

        await using var hidden = await OnlineAsync(_node, "juliet", "hidden", priority: -1);
        Assert.DoesNotContain(await UntilPongAsync(hidden), e => e.Name == "message");
        Assert.Equal(1, await StoredForAsync("juliet"));

        await using var desk = await OnlineAsync(_node, "juliet", "desk", priority: 0);

        var message = await desk.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("for your desk", message.ChildText("body"));
        Assert.NotNull(message.Child("delay", Ns.Delay));
        Assert.DoesNotContain(await UntilPongAsync(hidden), e => e.Name == "message");
        // The desk's own presence handling, delivery included, is done once its ping is answered.
        await UntilPongAsync(desk);
        Assert.Equal(0, await StoredForAsync("juliet"));
    }

    [Fact]
    public async Task A_session_that_raises_its_priority_from_negative_gets_the_offline_messages()
    {
        await using (var romeo = await LoginAsync(_node, "romeo"))
        {
            await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>waiting for you</body></message>");
            await UntilPongAsync(romeo);
        }
        await using var juliet = await OnlineAsync(_node, "juliet", "phone", priority: -1);
        Assert.DoesNotContain(await UntilPongAsync(juliet), e => e.Name == "message");

        await juliet.SendAsync("<presence><priority>5</priority></presence>");

        var message = await juliet.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("waiting for you", message.ChildText("body"));
        await UntilPongAsync(juliet);
        Assert.Equal(0, await StoredForAsync("juliet"));
    }

    [Fact]
    public async Task A_stored_message_survives_a_restart_of_the_node()
    {
        await using (var romeo = await LoginAsync(_node, "romeo"))
        {
            await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>before the restart</body></message>");
            await UntilPongAsync(romeo);
        }

        _node = await _node.RestartAsync();
        await using var juliet = await OnlineAsync(_node, "juliet");

        var message = await juliet.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("before the restart", message.ChildText("body"));
        Assert.Equal("romeo@localhost/home", message.GetAttribute("from"));
        Assert.NotNull(message.Child("delay", Ns.Delay));
    }

    [Fact]
    public async Task The_server_advertises_offline_storage()
    {
        await using var romeo = await LoginAsync(_node, "romeo");

        await romeo.SendAsync("<iq type='get' to='localhost' id='disco'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");

        var result = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "disco");
        Assert.Contains(result.Child("query", Ns.DiscoInfo)!.Children("feature"), f => f.GetAttribute("var") == "msgoffline");
    }
}
