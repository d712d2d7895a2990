using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Modules;
using Parley.Server.Modules.Muc;
using Parley.Server.Modules.Registration;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;
using Parley.Storage;

namespace Parley.Server.Tests.Administration;

/// <summary>Removing an account is one action, whoever asks: the user in-band (XEP-0077) or the administrator with `parley user remove`.</summary>
public sealed class AccountRemovalTests
{
    private const string Alice = "alice@localhost";
    private const string Bob = "bob@localhost";
    private const string Carol = "carol@localhost";
    private const string Team = "team@conference.localhost";

    [Fact]
    public async Task Removing_an_account_in_band_or_with_the_cli_leaves_the_same_stores_and_raises_account_removed_once()
    {
        var inBand = await RemoveAliceAsync(async (node, alice) =>
        {
            await alice.SendAsync("<iq type='set' id='cancel'><query xmlns='jabber:iq:register'><remove/></query></iq>");
            Assert.Equal("result", (await alice.ReceiveAsync(e => e.GetAttribute("id") == "cancel")).GetAttribute("type"));
        });
        var withTheCli = await RemoveAliceAsync((node, _) => NodeNoticeTests.ParleyAsync(node, "user", "remove", Alice));

        Assert.Equal(inBand.Stores, withTheCli.Stores);
        Assert.Equal(
            [
                "alice exists: False",
                "alice roster: ",
                "alice pending: ",
                $"bob roster: {Alice} Alice none ask=False pre-approved=False [Friends]",
                "bob pending: ",
                $"carol roster: {Alice}  none ask=False pre-approved=False []",
                "carol pending: ",
                $"{Team} affiliations: {Bob} member",
                "alice archive preferences: none",
                "alice last presence: none",
                "alice offline messages: 0",
            ],
            inBand.Stores);
        Assert.Equal(1, inBand.Events.Removed);
        Assert.Equal(1, withTheCli.Events.Removed);
        // Telling contacts before the deletion needs the node's own process: a notice is only read afterwards.
        Assert.Equal((1, 0), (inBand.Events.Removing, withTheCli.Events.Removing));
    }

    [Fact]
    public async Task An_account_removed_with_the_cli_is_ended_on_a_node_that_runs_without_in_band_registration()
    {
        await using var node = await TestNode.StartAsync(options =>
        {
            options.Modules["Registration"] = new ModuleSwitch { Enabled = false };
            options.Storage.NoticePollMilliseconds = 50;
        });
        await node.CreateUserAsync("alice", "alice-password");
        await using var alice = await XmppTestClient.LoginAsync(node, "alice", "alice-password");

        await NodeNoticeTests.ParleyAsync(node, "user", "remove", Alice);

        Assert.Equal("not-authorized", await alice.ExpectStreamErrorAsync());
    }

    /// <summary>Alice, with data of every kind and contacts' references to her, online, is removed by <paramref name="remove"/>.</summary>
    private static async Task<(List<string> Stores, AccountEventCounter Events)> RemoveAliceAsync(Func<TestNode, XmppTestClient, Task> remove)
    {
        await using var node = await TestNode.StartAsync(
            options =>
            {
                options.Module<RegistrationOptions>().AllowRegistration = true;
                options.Storage.NoticePollMilliseconds = 50;
            },
            modules: [.. BuiltInModules.All, AccountEventCountingModule.Definition]);
        var storage = node.App.Node.Storage;
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            await node.CreateUserAsync(user, user + "-password");
        }
        await storage.Rosters.SetItemAsync(Alice, new RosterItem(Bob, "Bob", Subscription.Both, false, false, []));
        await storage.Rosters.SetItemAsync(Bob, new RosterItem(Alice, "Alice", Subscription.Both, false, false, ["Friends"]));
        await storage.Rosters.SetItemAsync(Alice, new RosterItem(Carol, null, Subscription.None, AskSubscribe: true, false, []));
        await storage.Rosters.SetPendingAsync(Carol, Alice, $"<presence xmlns='jabber:client' type='subscribe' from='{Alice}' to='{Carol}'/>");
        await storage.Rosters.SetItemAsync(Carol, new RosterItem(Alice, null, Subscription.None, false, PreApproved: true, []));
        await storage.Rooms.SaveAsync(new StoredRoom(Team, new RoomConfiguration { Persistent = true }.ToStoredXml(), "", "", DateTimeOffset.UtcNow));
        await storage.Rooms.SetAffiliationAsync(Team, new RoomAffiliation(Alice, "owner"));
        await storage.Rooms.SetAffiliationAsync(Team, new RoomAffiliation(Bob, "member"));
        await storage.Archive.SetPreferencesAsync(Alice, new ArchivePreferences("never", [], []));
        await using var alice = await XmppTestClient.LoginAsync(node, "alice", "alice-password");
        await alice.AnnounceAsync();
        // Written once she is online, so that logging in does not take them.
        await storage.Offline.StoreAsync(Alice, "<message xmlns='jabber:client' from='bob@localhost'><body>hi</body></message>", DateTimeOffset.UtcNow, 100);
        await storage.Documents.SetAsync(Alice, "last-presence", "", "<presence xmlns='jabber:client' type='unavailable'/>");
        var events = node.App.Web.Services.GetRequiredService<AccountEventCounter>();

        await remove(node, alice);

        Assert.Equal("not-authorized", await alice.ExpectStreamErrorAsync());
        // Her session is over, and everything the node does when a session ends is done.
        await events.SessionEnded.Task.WaitAsync(XmppTestClient.Deadline);
        return (await StoresAsync(storage), events);
    }

    private static async Task<List<string>> StoresAsync(IParleyStorage storage)
    {
        var lines = new List<string> { $"alice exists: {await storage.Accounts.ExistsAsync(Alice)}" };
        foreach (var user in new[] { Alice, Bob, Carol })
        {
            var name = user[..user.IndexOf('@')];
            // Items, not versions: telling the contacts in-band moves their versions once per presence it sends.
            var items = (await storage.Rosters.GetAsync(user)).Items.Select(item =>
                $"{item.Contact} {item.Name} {item.Subscription.ToString().ToLowerInvariant()} ask={item.AskSubscribe} pre-approved={item.PreApproved} [{string.Join(",", item.Groups)}]");
            lines.Add($"{name} roster: {string.Join("; ", items)}");
            lines.Add($"{name} pending: {string.Join("; ", (await storage.Rosters.GetPendingAsync(user)).Select(pending => pending.Contact))}");
        }
        lines.Add($"{Team} affiliations: {string.Join("; ", (await storage.Rooms.GetAffiliationsAsync(Team)).Select(a => $"{a.Jid} {a.Affiliation}"))}");
        lines.Add($"alice archive preferences: {(await storage.Archive.GetPreferencesAsync(Alice))?.Default ?? "none"}");
        lines.Add($"alice last presence: {(await storage.Documents.GetAsync(Alice, "last-presence", "") is null ? "none" : "kept")}");
        lines.Add($"alice offline messages: {await storage.Offline.CountAsync(Alice)}");
        return lines;
    }
}

/// <summary>How often the account events were raised for anyone, and when a session first ended.</summary>
public sealed class AccountEventCounter
{
    public int Removing;
    public int Removed;
    public TaskCompletionSource SessionEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Counts the account events; registered after the built-in modules, so it hears each event last.</summary>
public sealed class AccountEventCountingModule(AccountEventCounter counter) : IModule
{
    public static ModuleDefinition Definition { get; } =
        ModuleDefinition.For<AccountEventCountingModule>("AccountEventCounting").WithServices(services => services.AddSingleton<AccountEventCounter>());

    public void Register(ModuleRegistry registry)
    {
        registry.OnAccountRemoving(_ => Count(ref counter.Removing));
        registry.OnAccountRemoved(_ => Count(ref counter.Removed));
        registry.OnSessionEnded(_ =>
        {
            counter.SessionEnded.TrySetResult();
            return ValueTask.CompletedTask;
        });
    }

    private static ValueTask Count(ref int count)
    {
        Interlocked.Increment(ref count);
        return ValueTask.CompletedTask;
    }
}
